import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { seedDataDir } from './seed.ts';

/**
 * `npm run bench`: the register under load, measured against a plain Express + Handlebars page.
 *
 *  1. seeds a temporary SQLite database with BENCH_MEMBERS (100,000) generated members;
 *  2. starts the baseline (bench/baseline.ts) as a child process and loads it;
 *  3. starts the application (server/main.ts) as a child process in production mode, samples
 *     its resident memory (VmRSS) every 200 ms, creates a board user through the CLI,
 *     logs in over HTTP and loads each scenario with autocannon (50 connections over loopback);
 *  4. streams the CSV export of all members once, timing it and watching the memory;
 *  5. prints req/s, p50, p99, the ratio to the baseline and PASS/FAIL per target, and merges
 *     the figures into bench/results.json (scenarios of the same name are replaced).
 * It is a measurement: it exits 0 whatever the figures (1 only when it cannot measure).
 *
 * Environment: BENCH_MEMBERS (100000), BENCH_DURATION seconds per scenario (10),
 * BENCH_CONNECTIONS (50), BENCH_WARMUP seconds before each scenario (2), BENCH_ONLY (comma
 * separated names or name prefixes, e.g. "register-first,member-detail"; the baseline always
 * runs), BENCH_DATA_DIR (reuse or keep a seeded data directory), BENCH_RESULTS (output file).
 *
 * Extending (later issues): add scenarios to `scenarios()` below (name, path, expected text,
 * targets); look up what they need in `sampleValues()`.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const MEMBERS = intEnv('BENCH_MEMBERS', 100_000);
const DURATION = intEnv('BENCH_DURATION', 10);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 50);
const WARMUP = intEnv('BENCH_WARMUP', 2);
const ONLY = (env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const RESULTS = path.resolve(root, env.BENCH_RESULTS ?? 'bench/results.json');
const BOARD_EMAIL = 'bench-board@bench.example';
const BOARD_PASSWORD = 'bench-passwort-123';
const SESSION_SECRET = crypto.randomBytes(32).toString('hex');

/**
 * Targets of issue 9 ("Speed"): every register scenario's CPU time per request at most 1.25 ×
 * the minimal signed-in page's (budget ratio = yardstick CPU ms ÷ scenario CPU ms ≥ 0.8), one
 * request on an idle server within 10 ms, peak RSS below 300 MB, the CSV export streaming
 * (issue 3: < 10 s, < 100 MB growth). The ratio to the bare page and p99 are still reported
 * (issue 3's targets, p99 < 60 ms and ratio ≥ 0.4, measured the wrong thing: a bare page has no
 * session and no database).
 */
export const TARGETS = { budgetRatio: 0.8, singleMs: 10, peakRssMb: 300, exportSeconds: 10, exportRssGrowthMb: 100 };
/** The second yardstick's name in results.json. */
export const YARDSTICK = 'minimal-signed-in';
/** Sequential requests on an idle server per page; their median is `singleMs`. */
const SINGLE_SAMPLES = 5;

function intEnv(name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: a positive whole number, not "${v}"`);
  return n;
}

export interface Scenario {
  name: string;
  path: string;
  /** Text the page must contain (checked once before loading: a redirect to /login fails it). */
  expect: string;
  targets?: { budgetRatio?: number; singleMs?: number };
}

export interface ScenarioResult {
  name: string;
  path?: string;
  rps: number;
  p50: number;
  p99: number;
  ratio?: number;
  budgetRatio?: number;
  cpuMsPerRequest?: number;
  singleMs?: number;
  requests?: number;
  non2xx?: number;
  errors?: number;
  pass?: boolean;
  [k: string]: unknown;
}

/** Values picked from the seeded database for the scenarios' URLs and expected content. */
interface Sample {
  members: number;
  deepCursor: string;
  deepExpect: string;
  prefixTerm: string;
  prefixMatches: number;
  email: string;
  emailExpect: string;
  companyCategory: number;
  filteredYear: number;
  filteredExpect: string;
  detailId: number;
  detailExpect: string;
}

const memberNo = (n: number) => `M-${String(n).padStart(4, '0')}`;

function sampleValues(filename: string): Sample {
  const db = new Database(filename, { readonly: true, fileMustExist: true });
  try {
    const one = <T>(sql: string, ...p: unknown[]) => db.prepare(sql).get(...p) as T;
    const members = one<{ n: number }>('select count(*) as n from organisations').n;
    // a page 90 % down the list (keyset cursor of the default sort, member number: [number, id])
    const deepNo = Math.max(1, Math.floor(members * 0.9));
    const deep = one<{ id: number; member_number: number }>('select id, member_number from organisations where member_number = ?', deepNo);
    const next = one<{ member_number: number }>('select min(member_number) as member_number from organisations where member_number > ?', deepNo);
    const prefixTerm = 'Okertal';
    const prefixMatches = one<{ n: number }>("select count(*) as n from organisations where name_key like 'okertal%' or name_key like '% okertal%'").n;
    const contact = one<{ email: string; member_number: number }>(
      "select c.email, o.member_number from contacts c join organisations o on o.id = c.organisation_id where o.member_number >= ? and c.email <> '' and c.is_representative = 1 order by o.member_number limit 1",
      Math.floor(members / 2),
    );
    const company = one<{ id: number }>("select id from membership_categories where code = 'company'");
    const filteredYear = 2015;
    const filtered = one<{ m: number | null }>(
      "select min(member_number) as m from organisations where status = 'active' and category_id = ? and join_date between ? and ?",
      company.id, `${filteredYear}-01-01`, `${filteredYear}-12-31`,
    );
    const detail = one<{ id: number; member_number: number }>('select id, member_number from organisations where member_number = ?', Math.max(1, Math.floor(members / 3)));
    return {
      members,
      deepCursor: Buffer.from(JSON.stringify([deep.member_number, deep.id]), 'utf8').toString('base64url'),
      deepExpect: memberNo(next?.member_number ?? deep.member_number),
      prefixTerm,
      prefixMatches,
      email: contact.email,
      emailExpect: memberNo(contact.member_number),
      companyCategory: company.id,
      filteredYear,
      filteredExpect: filtered.m ? memberNo(filtered.m) : '',
      detailId: detail.id,
      detailExpect: memberNo(detail.member_number),
    };
  } finally {
    db.close();
  }
}

function scenarios(s: Sample): Scenario[] {
  const t = { budgetRatio: TARGETS.budgetRatio, singleMs: TARGETS.singleMs };
  return [
    { name: 'register-first-page', path: '/board/members', expect: memberNo(1), targets: t },
    { name: 'register-deep-page', path: `/board/members?after=${s.deepCursor}`, expect: s.deepExpect, targets: t },
    { name: 'register-name-prefix-search', path: `/board/members?q=${encodeURIComponent(s.prefixTerm)}`, expect: s.prefixTerm, targets: t },
    { name: 'register-email-search', path: `/board/members?q=${encodeURIComponent(s.email)}`, expect: s.emailExpect, targets: t },
    { name: 'register-filtered-list', path: `/board/members?status=active&category=${s.companyCategory}&year=${s.filteredYear}`, expect: s.filteredExpect, targets: t },
    { name: 'member-detail', path: `/board/members/${s.detailId}`, expect: s.detailExpect, targets: t },
  ];
}

// ---- processes ---------------------------------------------------------------------------

const children = new Set<ChildProcess>();
function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGTERM');
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { killChildren(); process.exit(130); });

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // Blank values keep a developer's .env (dotenv does not override variables that are set) out of the run.
  return { ...env, DATABASE_URL: '', SMTP_URL: '', STRIPE_SECRET_KEY: '', STRIPE_WEBHOOK_SECRET: '', STRIPE_API_URL: '', TRUST_PROXY: '', ...extra };
}

interface Started { child: ChildProcess; base: string; output: () => string }

/**
 * The app starts exactly as `npm start` starts it (the same node flags), and so does the
 * minimal signed-in page (`asApp`: its script in place of the app's); the bare page plainly.
 */
function nodeArgs(script: string, asApp = false): string[] {
  const start = String((JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start);
  const words = start.trim().split(/\s+/);
  const app = 'server/main.ts';
  if (words[0] === 'node' && words[words.length - 1] === app && (script === app || asApp)) return [...words.slice(1, -1), script];
  return ['--import', 'tsx', script];
}

async function start(name: string, script: string, extra: Record<string, string>, readyPath: string, port?: number, asApp = false): Promise<Started> {
  port ??= await freePort();
  const child = spawn(process.execPath, nodeArgs(script, asApp), { cwd: root, env: childEnv({ ...extra, PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const keep = (b: Buffer) => { out = (out + b.toString('utf8')).slice(-20_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(base + readyPath, { redirect: 'manual' });
      await res.arrayBuffer();
      if (res.status < 500) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${name} did not answer on ${base}${readyPath} within 90 s:\n${out}`);
    await sleep(200);
  }
  return { child, base, output: () => out };
}

async function stop(s: Started): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await Promise.race([exited, sleep(8000)]);
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
  children.delete(s.child);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process from /proc: current (VmRSS) and the kernel's high-water mark (VmHWM), in MB. */
function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms. */
function cpuMsOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

class RssSampler {
  peak = 0;
  last = 0;
  private timer?: NodeJS.Timeout;
  constructor(readonly pid: number, private everyMs = 200) {}
  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }
  sample(): number {
    const m = memoryOf(this.pid);
    if (m && Number.isFinite(m.rss)) {
      this.last = m.rss;
      this.peak = Math.max(this.peak, m.rss);
    }
    return this.last;
  }
  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

// ---- HTTP with a session ----------------------------------------------------------------------

class Session {
  private jar = new Map<string, string>();
  constructor(private base: string) {}
  get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async request(p: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { cookie: this.cookie };
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const method = init.method ?? (body ? 'POST' : 'GET');
    let res: Response;
    try {
      res = await fetch(this.base + p, { method, headers, body, redirect: 'manual' });
    } catch (e) {
      // a kept-alive socket the server closed in the meantime ("other side closed"): once more, on a new one
      if (method !== 'GET') throw e;
      await sleep(50);
      res = await fetch(this.base + p, { method, headers, body, redirect: 'manual' });
    }
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      if (i > 0) this.jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    return res;
  }
  async text(p: string): Promise<{ status: number; text: string; location: string | null }> {
    const res = await this.request(p);
    return { status: res.status, text: await res.text(), location: res.headers.get('location') };
  }
}

const csrfFrom = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

async function login(base: string): Promise<Session> {
  const s = new Session(base);
  const page = await s.text('/login');
  const token = csrfFrom(page.text);
  if (page.status !== 200 || !token) throw new Error(`GET /login: ${page.status}, no CSRF token`);
  const res = await s.request('/login', { form: { email: BOARD_EMAIL, password: BOARD_PASSWORD, _csrf: token } });
  await res.arrayBuffer();
  if (res.status !== 303) throw new Error(`POST /login answered ${res.status} (expected 303)`);
  return s;
}

function createBoardUser(dataDir: string, dbFile: string): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/main.ts', 'user:create', '--email', BOARD_EMAIL, '--role', 'board', '--name', 'Bench Vorstand', '--password', BOARD_PASSWORD], {
    cwd: root, env: childEnv({ NODE_ENV: 'production', SESSION_SECRET, DATA_DIR: dataDir, DATABASE_URL: `sqlite:${dbFile}`, BASE_URL: 'http://127.0.0.1:3000', LOG_LEVEL: 'warn', SEED_DEMO: 'never' }),
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status === 0) return;
  if (/exists already/.test(r.stderr + r.stdout)) return; // a reused data directory
  throw new Error(`npm run cli -- user:create failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

// ---- load -----------------------------------------------------------------------------------

async function load(url: string, cookie: string | undefined, seconds: number, connections = CONNECTIONS): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds, headers: cookie ? { cookie } : {} });
}

/**
 * Waits until the server has worked off what a load run left queued (requests that autocannon
 * gave up on are still answered, one database connection at a time), so that the next
 * scenario does not pay for this one: until a request answers within `quietMs`.
 */
async function settle(session: Session, p: string, quietMs: number, limitMs = 120_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const a = performance.now();
    await session.text(p);
    if (performance.now() - a <= quietMs || Date.now() - t0 > limitMs) return Date.now() - t0;
    await sleep(100);
  }
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** The minimal signed-in page's CPU time per request divided by the scenario's (≥ 0.8: within budget). */
function budgetRatio(yardstick: ScenarioResult, r: ScenarioResult): number | undefined {
  return yardstick.cpuMsPerRequest && r.cpuMsPerRequest ? round(yardstick.cpuMsPerRequest / r.cpuMsPerRequest, 2) : undefined;
}

function resultOf(name: string, p: string, r: autocannon.Result, baselineRps?: number): ScenarioResult {
  return {
    name,
    path: p,
    rps: round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    ...(baselineRps ? { ratio: round(r.requests.average / baselineRps, 2) } : {}),
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors, // connection errors, timeouts included
    timeouts: r.timeouts,
  };
}

async function measureExport(session: Session, sampler: RssSampler, members: number): Promise<ScenarioResult> {
  // The export form on /board/exports (its method and fields as the page has them), with every member: no filter.
  const page = await session.text('/board/exports?status=');
  if (page.status !== 200) throw new Error(`GET /board/exports: ${page.status}`);
  const form = /<form[^>]*method="(get|post)"[^>]*action="\/board\/exports\/members\.csv"/i.exec(page.text);
  const method = (form?.[1] ?? 'get').toUpperCase();
  const fields: Record<string, string> = { q: '', status: '', category: '', year: '', purpose: 'Benchmark' };
  if (method === 'POST') fields._csrf = csrfFrom(page.text) ?? '';
  const fast = new RssSampler(sampler.pid, 50).start();
  const before = fast.sample();
  const t0 = performance.now();
  const res = method === 'POST'
    ? await session.request('/board/exports/members.csv', { form: fields })
    : await session.request(`/board/exports/members.csv?${new URLSearchParams(fields)}`);
  let bytes = 0;
  let lines = 0;
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    for (let i = 0; i < value.length; i++) if (value[i] === 10) lines++;
  }
  const seconds = (performance.now() - t0) / 1000;
  fast.stop();
  sampler.sample();
  const growth = fast.peak - before;
  const rows = Math.max(0, lines - 1);
  return {
    name: 'register-csv-export',
    path: `${method} /board/exports/members.csv`,
    status: res.status,
    rows,
    expectedRows: members,
    mb: round(bytes / 1024 / 1024, 1),
    seconds: round(seconds, 2),
    rssBeforeMb: round(before),
    rssPeakMb: round(fast.peak),
    rssGrowthMb: round(growth),
    rps: 0, p50: 0, p99: 0,
    pass: res.status === 200 && rows >= members && seconds < TARGETS.exportSeconds && growth < TARGETS.exportRssGrowthMb,
  };
}

/** The median of `SINGLE_SAMPLES` requests one after the other (the page answered once before), in ms. */
async function singleRequestMs(session: Session, p: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < SINGLE_SAMPLES; i++) {
    const a = performance.now();
    await session.text(p);
    times.push(performance.now() - a);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

/**
 * Starts a yardstick (a child process with PORT set), checks its page, signs in first when
 * `signIn` (POST /login, the session cookie kept), measures one request on the idle server,
 * then loads it like a scenario and reads its CPU time per request.
 */
async function measureYardstick(name: string, script: string, extra: Record<string, string>, p: string, expect: string, signIn: boolean): Promise<ScenarioResult> {
  const ys = await start(name, script, { NODE_ENV: 'production', ...extra }, signIn ? '/login' : p, undefined, signIn);
  try {
    const session = new Session(ys.base);
    if (signIn) {
      const res = await session.request('/login', { method: 'POST' });
      await res.arrayBuffer();
      if (res.status !== 303 || !session.cookie) throw new Error(`${name}: POST /login answered ${res.status} without a session cookie`);
    }
    const check = await session.text(p);
    if (check.status !== 200 || !check.text.includes(expect)) throw new Error(`${name}: GET ${p} answered ${check.status}${check.location ? ` → ${check.location}` : ''}, expected "${expect}"`);
    const single = await singleRequestMs(session, p);
    if (WARMUP) await load(ys.base + p, session.cookie || undefined, WARMUP);
    const cpu0 = cpuMsOf(ys.child.pid!);
    const r = await load(ys.base + p, session.cookie || undefined, DURATION);
    const res = resultOf(name, p, r);
    res.singleMs = round(single, 1);
    res.cpuMsPerRequest = round((cpuMsOf(ys.child.pid!) - cpu0) / Math.max(1, r.requests.sent), 3);
    const peak = memoryOf(ys.child.pid!);
    if (peak) res.peakRssMb = round(peak.hwm);
    console.log(`  ${name}: ${res.rps} req/s, p50 ${res.p50} ms, p99 ${res.p99} ms, ${res.cpuMsPerRequest} ms CPU per request, one request ${res.singleMs} ms${res.non2xx ? `, ${res.non2xx} non-2xx` : ''}`);
    return res;
  } finally {
    await stop(ys);
  }
}

// ---- main -----------------------------------------------------------------------------------

const selected = (name: string) => !ONLY.length || ONLY.some((o) => name === o || name.startsWith(o));

async function main(): Promise<void> {
  const started = Date.now();
  const load0 = os.loadavg();
  console.log(`Benchmark: ${MEMBERS} members, ${CONNECTIONS} connections, ${DURATION} s per scenario (+${WARMUP} s warm-up), ${os.cpus().length} CPUs, load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);

  const keep = !!env.BENCH_DATA_DIR;
  const dataDir = env.BENCH_DATA_DIR ? path.resolve(env.BENCH_DATA_DIR) : fs.mkdtempSync(path.join(os.tmpdir(), 'verein-bench-'));
  const dbFile = path.join(dataDir, 'verein.sqlite');
  try {
    let seeded = false;
    if (fs.existsSync(dbFile)) {
      const n = sampleValues(dbFile).members;
      if (n !== MEMBERS) throw new Error(`${dbFile} holds ${n} members, not ${MEMBERS}: use another BENCH_DATA_DIR`);
      console.log(`Reusing ${dbFile} (${n} members).`);
    } else {
      const t = Date.now();
      const r = await seedDataDir(dataDir, MEMBERS, (l) => console.log(`  ${l}`));
      console.log(`Seeded ${r.organisations} organisations, ${r.contacts} contacts in ${((Date.now() - t) / 1000).toFixed(1)} s (${dbFile}).`);
      seeded = true;
    }
    createBoardUser(dataDir, dbFile);
    const sample = sampleValues(dbFile);
    const list = scenarios(sample).filter((s) => selected(s.name));
    if (sample.prefixMatches) console.log(`Search "${sample.prefixTerm}" matches ${sample.prefixMatches} organisation names (${((100 * sample.prefixMatches) / sample.members).toFixed(1)} %); e-mail search: ${sample.email}.`);

    const results: ScenarioResult[] = [];

    // -- the yardsticks: the bare page and the minimal signed-in page
    const baseline = await measureYardstick('baseline', 'bench/baseline.ts', {}, '/', 'M-0050', false);
    results.push(baseline);
    const yardstick = await measureYardstick(YARDSTICK, 'bench/minimal-signed-in.ts', { BENCH_DB: dbFile, SESSION_SECRET }, '/board/members', memberNo(50), true);
    results.push(yardstick);
    const baselineRps = baseline.rps;
    baseline.ratio = 1;
    yardstick.ratio = round(yardstick.rps / baselineRps, 2);

    // -- the application
    const port = await freePort();
    const app = await start('app', 'server/main.ts', {
      NODE_ENV: 'production', SESSION_SECRET, BASE_URL: `http://127.0.0.1:${port}`, PORT: String(port), SEED_DEMO: 'never', LOG_LEVEL: 'warn',
      DATA_DIR: dataDir, DATABASE_URL: `sqlite:${dbFile}`,
    }, '/login', port);
    const sampler = new RssSampler(app.child.pid!).start();
    const rssIdle = sampler.sample();
    let exportResult: ScenarioResult | undefined;
    try {
      const session = await login(app.base);
      const single: Record<string, number> = {};
      for (const sc of list) {
        const page = await session.text(sc.path);
        if (page.status !== 200) throw new Error(`${sc.name}: GET ${sc.path} answered ${page.status}${page.location ? ` → ${page.location}` : ''}`);
        if (!sc.expect || !page.text.includes(sc.expect)) throw new Error(`${sc.name}: GET ${sc.path} does not contain "${sc.expect}"`);
        single[sc.name] = await singleRequestMs(session, sc.path);
      }
      console.log(`  app ready, logged in as ${BOARD_EMAIL}; all ${list.length} pages answer 200 with the expected content; RSS ${rssIdle.toFixed(0)} MB idle.`);
      console.log(`  one request at a time (median of ${SINGLE_SAMPLES}): ${list.map((sc) => `${sc.name} ${single[sc.name].toFixed(1)} ms`).join(', ')}`);
      for (const sc of list) {
        const url = app.base + sc.path;
        const quiet = Math.max(50, 3 * single[sc.name]);
        if (WARMUP) {
          await load(url, session.cookie, WARMUP);
          await settle(session, sc.path, quiet);
        }
        const cpu0 = cpuMsOf(app.child.pid!);
        const r = await load(url, session.cookie, DURATION);
        const res = resultOf(sc.name, sc.path, r, baselineRps);
        res.singleMs = round(single[sc.name], 1);
        results.push(res);
        const backlog = await settle(session, sc.path, quiet);
        // CPU the app spent per request sent (queued ones it answered after the run included): less
        // sensitive than req/s to other processes on the machine
        res.cpuMsPerRequest = round((cpuMsOf(app.child.pid!) - cpu0) / Math.max(1, r.requests.sent), 3);
        res.budgetRatio = budgetRatio(yardstick, res);
        const t = sc.targets ?? {};
        res.pass = (res.requests ?? 0) > 0 && (t.budgetRatio === undefined || (res.budgetRatio ?? 0) >= t.budgetRatio) && (t.singleMs === undefined || res.singleMs <= t.singleMs) && !res.non2xx && !res.errors;
        console.log(`  ${sc.name}: ${res.rps} req/s, p50 ${res.p50} ms, p99 ${res.p99} ms, ${res.cpuMsPerRequest} ms CPU per request (budget ratio ${res.budgetRatio})${res.non2xx ? `, ${res.non2xx} non-2xx` : ''}${res.errors ? `, ${res.errors} errors/timeouts` : ''}; RSS ${sampler.last.toFixed(0)} MB${backlog > 1000 ? `; ${(backlog / 1000).toFixed(1)} s to work off the queued requests` : ''}`);
      }
      if (selected('register-csv-export')) {
        exportResult = await measureExport(session, sampler, sample.members);
        results.push(exportResult);
      }
    } catch (e) {
      console.error(`\nApplication output (last lines):\n${app.output().split('\n').slice(-30).join('\n')}`);
      throw e;
    } finally {
      sampler.stop();
      const hwm = memoryOf(app.child.pid!)?.hwm ?? sampler.peak;
      sampler.peak = Math.max(sampler.peak, hwm);
      await stop(app);
    }

    // -- report
    const peakRssMb = round(sampler.peak);
    const load1 = os.loadavg();
    report(results, peakRssMb, exportResult);
    console.log(`Load average at the end: ${load1.map((l) => l.toFixed(2)).join(' ')} (other processes on this machine distort the figures).`);
    writeResults(results, {
      peakRssMb,
      generatedAt: new Date().toISOString(),
      members: sample.members,
      durationS: DURATION,
      connections: CONNECTIONS,
      cpus: os.cpus().length,
      node: process.version,
      loadAverage: { start: load0.map((l) => round(l, 2)), end: load1.map((l) => round(l, 2)) },
      targets: TARGETS,
    });
    console.log(`Results written to ${path.relative(root, RESULTS)} (${((Date.now() - started) / 1000).toFixed(0)} s${seeded ? ', including seeding' : ''}).`);
  } finally {
    if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(results: ScenarioResult[], peakRssMb: number, exp?: ScenarioResult): void {
  const pf = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const col = (v: unknown, w: number) => String(v ?? '').padStart(w);
  const lines = ['', `${'scenario'.padEnd(30)} ${col('req/s', 8)} ${col('p50 ms', 7)} ${col('p99 ms', 7)} ${col('ratio', 6)} ${col('CPU ms/req', 10)} ${col('budget', 7)} ${col('1 req ms', 8)}  targets (budget ratio >= ${TARGETS.budgetRatio}, one request <= ${TARGETS.singleMs} ms)`];
  for (const r of results) {
    if (r.name === 'register-csv-export') continue;
    const answered = (r.requests ?? 0) > 0; // no answer within autocannon's 10 s: a failure
    const yardstick = r.name === 'baseline' || r.name === YARDSTICK;
    const failures = r.non2xx || r.errors ? `, FAIL ${r.non2xx ?? 0} non-2xx / ${r.errors ?? 0} errors (${r.timeouts ?? 0} timeouts)` : '';
    const target = yardstick ? '' : `${pf(answered && (r.budgetRatio ?? 0) >= TARGETS.budgetRatio)} budget${answered ? '' : ' (no request answered in time)'}, ${pf((r.singleMs ?? Infinity) <= TARGETS.singleMs)} one request${failures}`;
    lines.push(`${r.name.padEnd(30)} ${col(r.rps, 8)} ${col(r.p50, 7)} ${col(r.p99, 7)} ${col((r.ratio ?? 0).toFixed(2), 6)} ${col(r.cpuMsPerRequest, 10)} ${col(r.budgetRatio?.toFixed(2), 7)} ${col(r.singleMs, 8)}  ${target}`);
  }
  lines.push('', 'ratio: req/s ÷ the bare page\'s; budget: the minimal signed-in page\'s CPU ms per request ÷ the scenario\'s; 1 req: one request on an idle server (median of ' + SINGLE_SAMPLES + ').');
  lines.push(`peak RSS of the app: ${peakRssMb} MB  ${pf(peakRssMb < TARGETS.peakRssMb)} (< ${TARGETS.peakRssMb} MB)`);
  if (exp) {
    lines.push(`CSV export: ${exp.rows} rows, ${exp.mb} MB in ${exp.seconds} s  ${pf(Number(exp.seconds) < TARGETS.exportSeconds)} (< ${TARGETS.exportSeconds} s); RSS ${exp.rssBeforeMb} → ${exp.rssPeakMb} MB, growth ${exp.rssGrowthMb} MB  ${pf(Number(exp.rssGrowthMb) < TARGETS.exportRssGrowthMb)} (< ${TARGETS.exportRssGrowthMb} MB)${exp.status !== 200 || Number(exp.rows) < Number(exp.expectedRows) ? `  FAIL: status ${exp.status}, ${exp.rows} of ${exp.expectedRows} rows` : ''}`);
  }
  console.log(lines.join('\n') + '\n');
}

/** Merges into bench/results.json: scenarios of the same name are replaced, others kept. */
function writeResults(results: ScenarioResult[], meta: Record<string, unknown>): void {
  let previous: { scenarios?: ScenarioResult[] } = {};
  try {
    previous = JSON.parse(fs.readFileSync(RESULTS, 'utf8'));
  } catch { /* none yet */ }
  const names = new Set(results.map((r) => r.name));
  const kept = (previous.scenarios ?? []).filter((s) => !names.has(s.name));
  const out = { ...previous, ...meta, scenarios: [...results, ...kept] };
  fs.writeFileSync(RESULTS, JSON.stringify(out, null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`\nBenchmark failed: ${(e as Error)?.stack ?? e}`);
    killChildren();
    process.exit(1);
  },
);
