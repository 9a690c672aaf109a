import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../server/config.ts';
import { createDb, migrate } from '../server/db/knex.ts';
import { systemClock } from '../server/clock.ts';
import { createContext } from '../server/context.ts';
import { createLogger } from '../server/logger.ts';
import { seedBenchMembers, type BenchSeedResult } from '../server/bench-seed.ts';

/**
 * Creates (migrates) the SQLite database in `dataDir` and fills it with `members` generated
 * organisations (server/bench-seed.ts, the same as `npm run cli -- bench:seed`).
 *
 * Standalone: `node --import tsx bench/seed.ts DIR [MEMBERS]` (default 100000).
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

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (invokedDirectly) {
  const [dir, n] = process.argv.slice(2);
  if (!dir) {
    console.error('Usage: node --import tsx bench/seed.ts DIR [MEMBERS]');
    process.exit(2);
  }
  seedDataDir(dir, Number(n ?? 100_000), (l) => console.log(l)).then(
    (r) => console.log(`Database: ${r.filename}`),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
