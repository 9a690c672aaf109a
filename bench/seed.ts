import 'dotenv/config';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../server/config.ts';
import { createDb, migrate } from '../server/db/knex.ts';
import { systemClock } from '../server/clock.ts';
import { createContext } from '../server/context.ts';
import { createLogger } from '../server/logger.ts';
import { BenchSeedInputError, BenchSeedRefused, runBenchSeedCli, seedBenchMembers, type BenchSeedResult } from './seed-members.ts';

/**
 * Creates (migrates) the SQLite database in `dataDir` and fills it with `members` generated
 * organisations (bench/seed-members.ts, the same as `npm run bench:seed`).
 *
 * Standalone:
 * - `npm run bench:seed -- --members N`: the database the configuration names (DATA_DIR,
 *   DATABASE_URL, .env), which must hold no members yet; exit 2 on bad input, 1 when refused;
 * - `node --import tsx bench/seed.ts DIR [MEMBERS]` (default 100000): a fresh SQLite file in DIR.
 */
export async function seedDataDir(dataDir: string, members: number, print: (line: string) => void = () => {}): Promise<BenchSeedResult & { filename: string }> {
  fs.mkdirSync(dataDir, { recursive: true });
  const filename = path.join(dataDir, 'verein.sqlite');
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, BASE_URL: 'http://127.0.0.1:3000', LOG_LEVEL: 'silent', SEED_DEMO: 'never' });
  config.database = { client: 'better-sqlite3', filename };
  const db = createDb(config.database);
  try {
    await migrate(db);
    const ctx = createContext({ config, db, clock: systemClock, log: createLogger('silent') });
    try {
      return { ...(await seedBenchMembers(ctx, { members }, print)), filename };
    } finally {
      ctx.outbox.close();
    }
  } finally {
    await db.destroy();
  }
}

const USAGE = 'Usage: npm run bench:seed -- --members N\n   or: node --import tsx bench/seed.ts DIR [MEMBERS]';

/** `npm run bench:seed -- --members N`: the configured database; returns the exit code. */
export async function seedConfigured(members: unknown, print: (line: string) => void, printError: (line: string) => void): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      printError(err.message);
      return 2;
    }
    throw err;
  }
  const db = createDb(config.database);
  try {
    await migrate(db);
    const ctx = createContext({ config, db, clock: systemClock, log: createLogger('warn') });
    try {
      await runBenchSeedCli(ctx, { members }, print);
      return 0;
    } finally {
      ctx.outbox.close();
    }
  } catch (err) {
    if (err instanceof BenchSeedInputError) {
      printError(`bench:seed: ${err.message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof BenchSeedRefused) {
      printError(err.message);
      return 1;
    }
    throw err;
  } finally {
    await db.destroy();
  }
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (invokedDirectly) {
  let args: { values: { members?: string }; positionals: string[] };
  try {
    args = parseArgs({ args: process.argv.slice(2), options: { members: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (err) {
    console.error(`bench:seed: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const [dir, n] = args.positionals;
  const done: Promise<number> = dir
    ? seedDataDir(dir, Number(args.values.members ?? n ?? 100_000), (l) => console.log(l)).then((r) => {
      console.log(`Database: ${r.filename}`);
      return 0;
    })
    : seedConfigured(args.values.members, (l) => console.log(l), (l) => console.error(l));
  done.then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
