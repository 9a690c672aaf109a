import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import type { Knex } from 'knex';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';

/**
 * What a process keeps in memory and another process may change: the sessions, the signed-in
 * users, the settings and categories, the register's numbers.
 */
export type Channel = 'sessions' | 'users' | 'settings' | 'members';
const CHANNELS: readonly Channel[] = ['sessions', 'users', 'settings', 'members'];

/** Called with the payload of a change (e.g. a session id), or with none: anything may have changed. */
export type ChangeListener = (payload: string | undefined) => void;

/**
 * Tells the caches of every process that something changed. The owner of a table calls
 * `notify` when it writes; a cache `subscribe`s and drops what changed.
 *
 * - In this process the listeners run at once, and again when the given transaction has
 *   ended (a read between the write and the commit found the old rows).
 * - On PostgreSQL the change goes to the other processes by NOTIFY (inside the transaction:
 *   sent on commit, never on rollback); a dedicated connection LISTENs. While that connection
 *   is down, `live` is false and caches must not be used (every listener was called on the way
 *   down and is called again once listening again, since changes in between were missed).
 * - On SQLite there is one process: the listeners of this process are all there is.
 */
export interface ChangeFeed {
  /** False while changes of other processes may be missed: caches then read through. */
  readonly live: boolean;
  /**
   * Announces a change. Without `trx` (the write is committed), resolves once the other
   * processes have been told; with `trx`, the notice leaves with the commit.
   */
  notify(channel: Channel, payload?: string, trx?: Knex.Transaction): Promise<void>;
  /** Listens for changes on the channel; returns the unsubscribe function. */
  subscribe(channel: Channel, fn: ChangeListener): () => void;
  /** Starts listening to other processes (PostgreSQL); resolves once listening or failed once. */
  start(): Promise<void>;
  /** Stops listening and closes the connection. */
  close(): Promise<void>;
}

/** The listeners of one process, and running them now and when a transaction ends. */
class LocalListeners {
  private listeners = new Map<Channel, Set<ChangeListener>>();

  subscribe(channel: Channel, fn: ChangeListener): () => void {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  dispatch(channel: Channel, payload: string | undefined): void {
    for (const fn of this.listeners.get(channel) ?? []) fn(payload);
  }

  dispatchAll(): void {
    for (const c of CHANNELS) this.dispatch(c, undefined);
  }

  /** Now, and again once the transaction has committed or rolled back. */
  dispatchAround(channel: Channel, payload: string | undefined, trx: Knex.Transaction | undefined): void {
    this.dispatch(channel, payload);
    if (trx) {
      const again = () => this.dispatch(channel, payload);
      trx.executionPromise.then(again, again);
    }
  }
}

/** One process (SQLite): an in-process emitter, always live. */
export class LocalChangeFeed implements ChangeFeed {
  private local = new LocalListeners();
  readonly live = true;

  async notify(channel: Channel, payload?: string, trx?: Knex.Transaction): Promise<void> {
    this.local.dispatchAround(channel, payload, trx);
  }

  subscribe(channel: Channel, fn: ChangeListener): () => void {
    return this.local.subscribe(channel, fn);
  }

  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

/** The part of node-postgres's Client used here (the package ships no types). */
interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', fn: (msg: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  removeAllListeners(event: string): unknown;
}
type PgClientClass = new (config: { connectionString: string; connectionTimeoutMillis?: number; application_name?: string }) => PgClient;
// why: node-postgres has no type declarations; PgClient above is the documented part of its Client that is used
const PgClientCtor = (createRequire(import.meta.url)('pg') as { Client: PgClientClass }).Client;

/** The PostgreSQL channel; the schema in each message keeps installations sharing a database apart. */
const PG_CHANNEL = 'verein_changes';

interface Message {
  /** schema (search path) of the installation */
  s: string;
  /** the sending feed */
  o: string;
  /** sequence number of the sender, for its echo */
  n: number;
  c: Channel;
  p?: string;
}

function parseMessage(text: string | undefined): Message | undefined {
  if (!text) return undefined;
  try {
    const m: unknown = JSON.parse(text);
    if (typeof m !== 'object' || m === null) return undefined;
    const r = m as Record<string, unknown>; // why: an object, its fields are checked one by one below
    if (typeof r.s !== 'string' || typeof r.o !== 'string' || typeof r.n !== 'number') return undefined;
    if (typeof r.c !== 'string' || !(CHANNELS as readonly string[]).includes(r.c)) return undefined; // why: widening, to ask whether any string is one
    return { s: r.s, o: r.o, n: r.n, c: r.c as Channel, p: typeof r.p === 'string' ? r.p : undefined }; // why: checked against CHANNELS above
  } catch {
    return undefined;
  }
}

/** The listening connection's name in pg_stat_activity. */
export const FEED_APPLICATION_NAME = 'verein-change-feed';

/** How long a notify waits for its own notice to come back through the listening connection. */
const ECHO_WAIT_MS = 1_000;

/**
 * Several processes on one PostgreSQL database: NOTIFY on the pool's connections (or in the
 * writer's transaction), LISTEN on a connection of its own that reconnects after an error.
 * A notify without a transaction waits (at most ECHO_WAIT_MS) until its notice has come back
 * through this process's own listening connection: PostgreSQL hands a notice to every
 * listener at once, so the others have it by then and the next request anywhere sees the change.
 */
export class PgChangeFeed implements ChangeFeed {
  private local = new LocalListeners();
  private client?: PgClient;
  private listening = false;
  private closed = false;
  private starting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private retryMs = 250;
  private readonly origin = crypto.randomBytes(8).toString('hex');
  private seq = 0;
  private echoes = new Map<number, () => void>();

  constructor(
    private db: Knex,
    private connection: string,
    private schema: string,
    private log: Logger,
  ) {}

  get live(): boolean {
    return this.listening;
  }

  async notify(channel: Channel, payload?: string, trx?: Knex.Transaction): Promise<void> {
    this.local.dispatchAround(channel, payload, trx);
    const n = ++this.seq;
    const message: Message = { s: this.schema, o: this.origin, n, c: channel, ...(payload === undefined ? {} : { p: payload }) };
    const text = JSON.stringify(message);
    if (trx) {
      // .then() at once: the query is queued on the transaction now, before a commit that may follow without waiting for it
      await trx.raw('select pg_notify(?, ?)', [PG_CHANNEL, text]).then(() => undefined);
      return;
    }
    const echo = this.listening ? this.awaitEcho(n) : undefined;
    try {
      await this.db.raw('select pg_notify(?, ?)', [PG_CHANNEL, text]);
    } catch (err) {
      this.echoes.get(n)?.();
      throw err;
    }
    await echo;
  }

  private awaitEcho(n: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.echoes.delete(n);
        resolve();
      };
      const timer = setTimeout(done, ECHO_WAIT_MS);
      timer.unref();
      this.echoes.set(n, done);
    });
  }

  subscribe(channel: Channel, fn: ChangeListener): () => void {
    return this.local.subscribe(channel, fn);
  }

  start(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.starting ??= this.connect();
    return this.starting;
  }

  private async connect(): Promise<void> {
    const client = new PgClientCtor({ connectionString: this.connection, connectionTimeoutMillis: 10_000, application_name: FEED_APPLICATION_NAME });
    this.client = client;
    client.on('notification', (msg) => this.received(msg.channel, msg.payload));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`listen ${PG_CHANNEL}`);
    } catch (err) {
      this.lost(client, err);
      return;
    }
    if (this.closed || this.client !== client) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listening = true;
    this.retryMs = 250;
    // whatever changed while nobody listened is unknown: every cache starts afresh
    this.local.dispatchAll();
  }

  private received(channel: string, payload: string | undefined): void {
    if (channel !== PG_CHANNEL) return;
    const m = parseMessage(payload);
    if (!m || m.s !== this.schema) return;
    if (m.o === this.origin) {
      this.echoes.get(m.n)?.(); // ours: the listeners here ran when it was sent
      return;
    }
    this.local.dispatch(m.c, m.p);
  }

  /** The listening connection failed: caches are dropped and bypassed until listening again. */
  private lost(client: PgClient, err?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    const was = this.listening;
    this.listening = false;
    for (const done of [...this.echoes.values()]) done();
    this.local.dispatchAll();
    client.removeAllListeners('end');
    client.on('error', () => undefined); // a late error of the dropped connection
    void client.end().catch(() => undefined);
    if (this.closed) return;
    if (was || err) this.log.warn({ err: err instanceof Error ? err.message : undefined, retryMs: this.retryMs }, 'change feed: not listening, caches bypassed until it is again');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.starting = this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const done of [...this.echoes.values()]) done();
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

/** The feed for the configured database. */
export function createChangeFeed(db: Knex, database: Config['database'], log: Logger): ChangeFeed {
  if (database.client !== 'pg') return new LocalChangeFeed();
  return new PgChangeFeed(db, database.connection, database.searchPath?.[0] ?? '', log);
}
