import { ConnectSessionKnexStore } from 'connect-session-knex';
import type { Knex } from 'knex';
import type { SessionData } from 'express-session';
import { LocalChangeFeed, type ChangeFeed } from '../db/change-feed.ts';
import { deleteExpiredSessions, sessionRows } from './sessions.repository.ts';

type Callback<T = void> = (err?: unknown, value?: T) => void;

interface Recent {
  json: string;
  /** when the session itself expires (ms since epoch) */
  expires: number;
  /** when this copy was read or written (ms since epoch) */
  at: number;
}

/**
 * Sessions in the database (connect-session-knex), with the sessions read or written in the
 * last few seconds kept in memory: a signed-in page then reads no session row (the read and
 * its JSON parse were a tenth of a register page's time). Sessions only change through this
 * store (sign-in, sign-out, a new CSRF token, a flash message), and every change is announced
 * on the change feed (channel `sessions`, the session id): within one process the copy is
 * exact, and on PostgreSQL another process's sign-out drops the copy here at once. While the
 * feed is not listening nothing is kept; a session removed behind the store's back (SQL by
 * hand) counts after `freshMs` at most.
 *
 * Sessions are not touched on every request (that was a write per page view): a session lasts
 * 8 hours from its last change, at the latest from sign-in, and the cookie says the same
 * (`rolling: false`).
 */
export class CachedSessionStore extends ConnectSessionKnexStore {
  private recent = new Map<string, Recent>();
  /** Moves on with every change notice: a read that overlapped one is not kept. */
  private generation = 0;
  private changes: ChangeFeed;

  constructor(
    options: { knex: Knex; tableName: string; cleanupInterval: number; changes?: ChangeFeed },
    private freshMs = 5_000,
    private maxEntries = 10_000,
  ) {
    const { changes, ...rest } = options;
    super({ ...rest, createTable: true });
    this.changes = changes ?? new LocalChangeFeed();
    this.changes.subscribe('sessions', (sid) => {
      this.generation++;
      if (sid === undefined) this.recent.clear();
      else this.recent.delete(sid);
    });
  }

  override async get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> {
    const now = Date.now();
    const live = this.changes.live;
    const hit = this.recent.get(sid);
    if (hit && live && now - hit.at < this.freshMs && hit.expires > now) {
      const session = JSON.parse(hit.json) as SessionData; // why: written by remember() from a SessionData
      callback?.(null, session);
      return session;
    }
    if (hit) this.recent.delete(sid);
    const generation = this.generation;
    let session: SessionData | null;
    try {
      // why: the parent store resolves with the stored session or null
      session = (await super.get(sid, () => undefined)) as SessionData | null;
    } catch (err) {
      callback?.(err);
      return null;
    }
    if (session && live && this.changes.live && generation === this.generation) this.remember(sid, session, now);
    callback?.(null, session);
    return session;
  }

  override async set(sid: string, session: SessionData, callback?: Callback): Promise<void> {
    this.recent.delete(sid);
    try {
      await super.set(sid, session);
      await this.changes.notify('sessions', sid);
    } catch (err) {
      callback?.(err);
      return;
    }
    if (this.changes.live) this.remember(sid, session, Date.now());
    callback?.();
  }

  override async destroy(sid: string, callback?: Callback): Promise<number> {
    this.recent.delete(sid);
    let n: number;
    try {
      n = await super.destroy(sid);
      await this.changes.notify('sessions', sid);
    } catch (err) {
      callback?.(err);
      return 0;
    }
    this.recent.delete(sid);
    callback?.();
    return n;
  }

  /** Not written on every request, see above. */
  override async touch(_sid: string, _session: unknown, callback?: () => void): Promise<void> {
    callback?.();
  }

  override async clear(callback?: Callback): Promise<number> {
    this.recent.clear();
    const n = await super.clear(callback);
    await this.changes.notify('sessions');
    return n;
  }

  // h/harden: ending a user's sessions (password reset), purging expired ones
  /** Ends every session signed in as the user except `keepSid`; returns how many ended. */
  async destroyForUser(userId: number, keepSid?: string): Promise<number> {
    const rows = await sessionRows(this.options.knex);
    let n = 0;
    for (const row of rows) {
      if (row.sid === keepSid) continue;
      let sess: unknown = row.sess;
      if (typeof sess === 'string') { try { sess = JSON.parse(sess); } catch { continue; } }
      const user = (sess as { passport?: { user?: unknown } } | null)?.passport?.user; // why: a stored session object; only this optional field is read
      if (Number(user) === userId) n += await this.destroy(row.sid);
    }
    return n;
  }

  /** Deletes the expired sessions now (also done every cleanupInterval). */
  async purgeExpired(now = new Date()): Promise<number> {
    return deleteExpiredSessions(this.options.knex, now);
  }

  private remember(sid: string, session: SessionData, now: number): void {
    const maxAge = session.cookie?.maxAge;
    const expires = session.cookie?.expires ? new Date(session.cookie.expires).getTime() : now + (typeof maxAge === 'number' ? maxAge : 86_400_000);
    this.recent.set(sid, { json: JSON.stringify(session), expires, at: now });
    if (this.recent.size > this.maxEntries) this.recent.delete(this.recent.keys().next().value!);
  }
}
