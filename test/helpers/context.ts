import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { loadConfig, type Config } from '../../server/config.ts';
import { createDb, migrate } from '../../server/db/knex.ts';
import { FixedClock } from '../../server/clock.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createApp, type AppHandle } from '../../server/app.ts';
import { createLogger, type Logger } from '../../server/logger.ts';
import type { MailTransport, OutgoingMail } from '../../server/mail/transport.ts';
import { smtpTransport } from '../../server/mail/transport.ts';
import type { PaymentGateway } from '../../server/stripe/gateway.ts';

/** Records sent messages in memory; tests of the SMTP path use a real listener instead (smtp-sink.ts). */
export class MemoryTransport implements MailTransport {
  kind = 'file' as const;
  sent: OutgoingMail[] = [];
  async send(mail: OutgoingMail) {
    this.sent.push(mail);
    return { response: '250 stored in memory' };
  }
  close() {}
}

export interface TestEnv {
  ctx: Context;
  app: AppHandle['app'];
  handle: AppHandle;
  clock: FixedClock;
  transport: MailTransport;
  db: Knex;
  config: Config;
  close(): Promise<void>;
}

/**
 * A fresh migrated database per test file: in-memory SQLite by default, a new schema in
 * the PostgreSQL database named by TEST_DATABASE_URL when set.
 */
export async function createTestEnv(opts: { transport?: MailTransport; smtpUrl?: string; env?: Record<string, string>; log?: Logger; gateway?: PaymentGateway } = {}): Promise<TestEnv> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-test-'));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, BASE_URL: 'http://127.0.0.1:3999', LOG_LEVEL: 'silent', SEED_DEMO: 'never', ...opts.env });
  let schema: string | undefined;
  let db: Knex;
  const pgUrl = process.env.TEST_DATABASE_URL;
  if (pgUrl) {
    schema = `t_${crypto.randomBytes(6).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: pgUrl });
    await admin.raw(`create schema ${schema}`);
    await admin.destroy();
    config.database = { client: 'pg', connection: pgUrl, searchPath: [schema] };
    db = createDb(config.database);
  } else {
    config.database = { client: 'better-sqlite3', filename: ':memory:' };
    db = createDb(config.database);
  }
  await migrate(db);
  const clock = new FixedClock('2026-11-25T09:00:00Z');
  const transport = opts.transport ?? (opts.smtpUrl ? smtpTransport(opts.smtpUrl) : new MemoryTransport());
  const log = opts.log ?? createLogger('silent');
  const ctx = createContext({ config, db, clock, log, transport, gateway: opts.gateway });
  const handle = createApp(ctx);
  return {
    ctx, app: handle.app, handle, clock, transport, db, config,
    async close() {
      await handle.close();
      transport.close();
      await db.destroy();
      if (schema && pgUrl) {
        const admin = knexFactory({ client: 'pg', connection: pgUrl });
        await admin.raw(`drop schema ${schema} cascade`);
        await admin.destroy();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
