import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../server/config.ts';
import { createDb, migrate } from '../server/db/knex.ts';
import { createContext } from '../server/context.ts';
import { createApp } from '../server/app.ts';
import { createLogger } from '../server/logger.ts';
import { FixedClock } from '../server/clock.ts';
import { makeCategories } from '../test/helpers/fixtures.ts';
import { seedVotingMembers } from '../test/fakes/assembly-setup.ts';
import { mergeResults } from './invitations.ts';

/**
 * `node --import tsx bench/evoting.ts` (part of `npm run bench`): issue 15's load. 500 voters,
 * each a signed-in portal session, cast their votes on one open ballot within 10 s (arriving
 * evenly), 50 of them holding 2 proxies each (so 600 votes); meanwhile the chair's page polls
 * the participation every 500 ms. Measures each casting request's latency (p50, p99), checks
 * every vote is counted exactly once (the counters and the voter rows), and the longest gap
 * between two updates of the chair's live view. Merges the scenario `evoting-500` into
 * bench/results.json. A measurement: exits 0 whatever the figures (1 only when it cannot measure).
 *
 * Environment: BENCH_VOTERS (500), BENCH_RESULTS (bench/results.json).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const EVOTING_TARGETS = { p99Ms: 200, windowSeconds: 10, liveGapMs: 2000 };
const PASSWORD = 'Bench-Abstimmung-2026!';
const ACTOR = { userId: null, label: 'bench' };

class Session {
  private jar = new Map<string, string>();
  constructor(private base: string) {}
  async request(p: string, form?: Record<string, string>): Promise<{ status: number; text: string; location: string | null }> {
    const headers: Record<string, string> = { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body: string | undefined;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(this.base + p, { method: body ? 'POST' : 'GET', headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      if (i > 0) this.jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    return { status: res.status, text: await res.text(), location: res.headers.get('location') };
  }
  async login(email: string): Promise<void> {
    const page = await this.request('/login');
    const r = await this.request('/login', { email, password: PASSWORD, _csrf: csrfFrom(page.text) });
    if (r.status !== 303) throw new Error(`login ${email}: ${r.status}`);
  }
}

function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token');
  return m[1];
}

function pct(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 10) / 10;
}

async function inBatches<T>(items: T[], size: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((x, k) => fn(x, i + k)));
}

export async function runEvotingBench(opts: { voters?: number; print?: (l: string) => void; resultsFile?: string } = {}): Promise<Record<string, unknown>> {
  const voters = opts.voters ?? Number(process.env.BENCH_VOTERS ?? 500);
  const holders = Math.min(50, Math.floor(voters / 10));
  const print = opts.print ?? ((l: string) => console.log(l));
  const resultsFile = opts.resultsFile ?? path.resolve(root, process.env.BENCH_RESULTS ?? 'bench/results.json');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-bench-evote-'));
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`; // why: listening on a TCP port, the address is an AddressInfo
  const config = loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir, BASE_URL: base, LOG_LEVEL: 'silent', SEED_DEMO: 'never', SESSION_SECRET: 'e'.repeat(32) });
  const db = createDb(config.database);
  try {
    await migrate(db);
    const clock = new FixedClock(new Date());
    const ctx = createContext({ config, db, clock, log: createLogger('silent') });
    const handle = createApp(ctx);
    server.on('request', handle.app);
    const cats = await makeCategories(ctx);
    const members = voters + 2 * holders;
    print(`seeding ${members} voting members, ${voters} portal users …`);
    await seedVotingMembers(db, members, cats.company, (i) => `v${i + 1}@mitglied${i + 1}.example`);
    const orgIds: number[] = (await db('organisations').orderBy('member_number').pluck('id')).map(Number);
    const start = new Date(clock.now().getTime() + 40 * 86_400_000);
    const day = start.toISOString().slice(0, 10);
    const id = await ctx.assemblies.assembly.create(ACTOR, {
      title: 'Virtuelle MV (Benchmark)', kind: 'ordinary', date: day, time: '18:00', durationMinutes: 120, format: 'hybrid',
      location: 'Goslar', participationInfo: 'Online', copyAllContacts: false, onlineLink: 'https://meet.example/b', onlineMeetingId: '', onlineAccessCode: '',
    });
    await ctx.assemblies.assembly.addAgendaItem(ACTOR, id, { title: 'Entlastung des Vorstands', description: '', kind: 'resolution', proposedText: '' });
    ctx.assemblies.jobs.autoStart = false;
    await ctx.assemblies.jobs.run(await ctx.assemblies.sending.startSending(ACTOR, id));
    const invs = new Map((await ctx.assemblies.sending.invitations(id)).map((i) => [i.organisationId, i]));
    // voters 0 … holders-1 hold two proxies each, from the members after the voters
    for (let h = 0; h < holders; h++) {
      for (const g of [voters + 2 * h, voters + 2 * h + 1]) await ctx.assemblies.answers.giveProxy(ACTOR, invs.get(orgIds[g])!, orgIds[h], 'portal');
    }
    // the portal users (one password hash, the same for all: the bench measures voting, not scrypt)
    await inBatches(orgIds.slice(0, voters), 8, async (org, i) => {
      const userId = await ctx.users.create(ACTOR, { email: `user${i + 1}@bench.example`, displayName: `Vertretung ${i + 1}`, roles: ['member'], password: PASSWORD });
      await db('contacts').where({ organisation_id: org, is_representative: true }).update({ user_id: userId });
    });
    await ctx.users.create(ACTOR, { email: 'chair@bench.example', displayName: 'Versammlungsleitung', roles: ['board'], password: PASSWORD });
    // the assembly has begun: everyone online
    clock.set(new Date(`${day}T17:05:00Z`));
    for (const org of orgIds.slice(0, voters)) await ctx.assemblies.day.checkIn(ACTOR, id, org, 'in', '', 'online');
    const item = (await ctx.assemblies.assembly.agenda(id))[0].id;
    const ballotId = await ctx.assemblies.ballots.open(ACTOR, id, { itemId: item, question: 'Wird der Vorstand entlastet?', minutes: 30, candidates: [], maxChoices: 1 });
    print(`ballot open: ${voters} voters, ${members} votes present; signing in …`);
    const sessions: { s: Session; token: string }[] = [];
    await inBatches(Array.from({ length: voters }, (_, i) => i), 8, async (i) => {
      const s = new Session(base);
      await s.login(`user${i + 1}@bench.example`);
      const page = await s.request(`/portal/assemblies/${id}/ballots/${ballotId}`);
      sessions[i] = { s, token: csrfFrom(page.text) };
    });
    const chair = new Session(base);
    await chair.login('chair@bench.example');

    // the load: the votes arrive evenly over 8 s; the chair polls every 500 ms
    const liveTimes: number[] = [];
    let polling = true;
    let lastVoted = -1;
    const poller = (async () => {
      while (polling) {
        const r = await chair.request(`/board/assemblies/${id}/ballots/${ballotId}/live.json`);
        const d = JSON.parse(r.text) as { voted: number };
        if (d.voted !== lastVoted) { liveTimes.push(performance.now()); lastVoted = d.voted; }
        await new Promise((res) => setTimeout(res, 500));
      }
    })();
    const latencies: number[] = [];
    const statuses = new Map<string, number>();
    const spread = 8000 / voters;
    const t0 = performance.now();
    await Promise.all(sessions.map(async ({ s, token }, i) => {
      await new Promise((res) => setTimeout(res, i * spread));
      const a = performance.now();
      const r = await s.request(`/portal/assemblies/${id}/ballots/${ballotId}`, { all: i % 3 === 0 ? 'no' : 'yes', _csrf: token });
      latencies.push(performance.now() - a);
      const key = `${r.status}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }));
    const wallMs = performance.now() - t0;
    polling = false;
    await poller;
    const gaps = liveTimes.slice(1).map((t, i) => t - liveTimes[i]);
    // exactly once: the counters, the voter rows, each member once
    const tallies = Object.fromEntries((await db('assembly_ballot_tallies').where({ ballot_id: ballotId })).map((t: { option_key: string; votes: number }) => [t.option_key, Number(t.votes)]));
    const voterRows = await db('assembly_ballot_voters').where({ ballot_id: ballotId }).count<{ n: number }[]>({ n: '*' });
    const distinct = await db('assembly_ballot_voters').where({ ballot_id: ballotId }).countDistinct<{ n: number }[]>({ n: 'organisation_id' });
    const expectedNo = sessions.reduce((n, _s, i) => n + (i % 3 === 0 ? (i < holders ? 3 : 1) : 0), 0);
    const exactlyOnce = tallies._cast === members && Number(voterRows[0].n) === members && Number(distinct[0].n) === members && tallies.no === expectedNo && tallies.yes === members - expectedNo;
    const sorted = [...latencies].sort((x, y) => x - y);
    const p50 = pct(sorted, 50);
    const p99 = pct(sorted, 99);
    const maxGap = gaps.length ? Math.round(Math.max(...gaps)) : null;
    const pass = exactlyOnce && p99 < EVOTING_TARGETS.p99Ms && wallMs <= EVOTING_TARGETS.windowSeconds * 1000 && maxGap !== null && maxGap <= EVOTING_TARGETS.liveGapMs;
    const scenario = {
      name: `evoting-${voters}`, voters, proxyHolders: holders, votes: members, p50, p99, wallSeconds: Math.round(wallMs / 100) / 10,
      statuses: Object.fromEntries(statuses), counted: tallies._cast, voterRows: Number(voterRows[0].n), exactlyOnce,
      liveUpdates: liveTimes.length, liveMaxGapMs: maxGap, targets: EVOTING_TARGETS, pass,
    };
    print(`${pass ? 'PASS' : 'FAIL'} evoting-${voters}: ${members} votes by ${voters} sessions in ${scenario.wallSeconds} s, counted ${tallies._cast} (exactly once: ${exactlyOnce}), p50 ${p50} ms, p99 ${p99} ms (target < ${EVOTING_TARGETS.p99Ms}), live view: ${liveTimes.length} updates, longest gap ${maxGap} ms (target ≤ ${EVOTING_TARGETS.liveGapMs})`);
    mergeResults(resultsFile, [scenario]);
    print(`merged evoting-${voters} into ${path.relative(root, resultsFile)}`);
    await handle.close();
    return scenario;
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await db.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runEvotingBench().then(
    () => process.exit(0),
    (err: Error) => { console.error(`cannot measure: ${err.stack ?? err.message}`); process.exit(1); },
  );
}
