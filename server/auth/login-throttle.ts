import crypto from 'node:crypto';
import type { Clock } from '../clock.ts';

/** Wrong passwords from one source (IP address) for one address before that pair waits. */
export const PAIR_FAILURES = 5;
/** How long a pair waits after PAIR_FAILURES wrong passwords, and the window they are counted in. */
export const PAIR_WAIT_MS = 15 * 60_000;
/** Wrong passwords for one address, from any sources, before new devices are slowed. */
export const ACCOUNT_FAILURES = 10;
/** While an address is slowed: one attempt from a device that never signed in to it per this time. */
export const ACCOUNT_SLOW_MS = 30_000;

interface Count { failures: number; since: number; until: number; lastTry: number }

/**
 * Throttles sign-in per address AND source, so that an attacker cannot lock out the real user:
 *
 * - one source (IP address) that gives PAIR_FAILURES wrong passwords for one address waits
 *   PAIR_WAIT_MS before it may try that address again; other sources, and the same source for
 *   other addresses, are not affected (the IP limiter in auth.routes.ts bounds one source
 *   over all addresses);
 * - an address that gets ACCOUNT_FAILURES wrong passwords from many sources (a distributed
 *   guess) is slowed, never locked: a device that has not signed in to it before may try once
 *   per ACCOUNT_SLOW_MS; a device that has signed in before (a signed cookie set at sign-in) is
 *   not slowed at all, so the real user on their usual computer always gets in.
 *
 * Everything is keyed by the address as typed (normalised), whether or not an account has it:
 * known and unknown addresses are answered alike. Counts are kept in memory per process (a
 * restart forgets them; several processes each count on their own, which multiplies what an
 * attacker gets by the number of processes, still bounded).
 */
export class LoginThrottle {
  private pairs = new Map<string, Count>();
  private accounts = new Map<string, Count>();

  constructor(private clock: Clock, private maxEntries = 50_000) {}

  /** Milliseconds to wait before this attempt may be checked, or 0. Counts a slowed attempt as made. */
  wait(email: string, source: string, knownDevice: boolean): number {
    const now = this.clock.now().getTime();
    const pair = this.live(this.pairs, `${email}\u0001${source}`, now);
    if (pair && pair.until > now) return pair.until - now;
    const account = this.live(this.accounts, email, now);
    if (account && account.failures >= ACCOUNT_FAILURES && !knownDevice) {
      const next = account.lastTry + ACCOUNT_SLOW_MS;
      if (next > now) return next - now;
      account.lastTry = now;
    }
    return 0;
  }

  /** Counts a wrong password; when this one makes the pair wait, the milliseconds to wait, else 0. */
  failed(email: string, source: string): number {
    const now = this.clock.now().getTime();
    this.bump(this.accounts, email, now).lastTry = now;
    const pair = this.bump(this.pairs, `${email}\u0001${source}`, now);
    if (pair.failures < PAIR_FAILURES) return 0;
    pair.until = now + PAIR_WAIT_MS; pair.failures = 0; pair.since = now;
    return PAIR_WAIT_MS;
  }

  succeeded(email: string, source: string): void {
    this.pairs.delete(`${email}\u0001${source}`);
  }

  /** Until when new devices are slowed for this address (the administration shows it), or null. */
  slowedUntil(email: string): Date | null {
    const now = this.clock.now().getTime();
    const a = this.live(this.accounts, email, now);
    return a && a.failures >= ACCOUNT_FAILURES ? new Date(a.since + PAIR_WAIT_MS) : null;
  }

  /** The administration lifts every wait for the address. */
  clear(email: string): void {
    this.accounts.delete(email);
    for (const k of this.pairs.keys()) if (k.startsWith(`${email}\u0001`)) this.pairs.delete(k);
  }

  private live(map: Map<string, Count>, key: string, now: number): Count | undefined {
    const c = map.get(key);
    if (c && c.until <= now && now - c.since > PAIR_WAIT_MS) { map.delete(key); return undefined; }
    return c;
  }

  private bump(map: Map<string, Count>, key: string, now: number): Count {
    let c = this.live(map, key, now);
    if (!c) {
      c = { failures: 0, since: now, until: 0, lastTry: 0 };
      map.set(key, c);
      if (map.size > this.maxEntries) map.delete(map.keys().next().value!);
    }
    c.failures++;
    return c;
  }
}

/** The signed cookie of a device that signed in to an address before: one short mark per address. */
export const KNOWN_DEVICE_COOKIE = 'known_device';

export function deviceMark(secret: string, email: string): string {
  return crypto.createHmac('sha256', secret).update(`known-device:${email}`).digest('base64url').slice(0, 22);
}

/** The marks in a Cookie header. */
export function deviceMarks(cookieHeader: string | undefined): string[] {
  const m = (cookieHeader ?? '').split(/;\s*/).find((c) => c.startsWith(`${KNOWN_DEVICE_COOKIE}=`));
  return m ? m.slice(KNOWN_DEVICE_COOKIE.length + 1).split('.').filter((s) => /^[A-Za-z0-9_-]{22}$/.test(s)) : [];
}
