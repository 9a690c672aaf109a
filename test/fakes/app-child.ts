/**
 * One app process for the two-process cache test (test/integration/cross-process-caches.test.ts):
 * what server/main.ts does (context, app, the change feed listening before the first request),
 * on the PostgreSQL schema PG_SCHEMA of DATABASE_URL, on a free port. Prints `{"port":N}` once
 * listening; SIGTERM closes the app, the feed and the database and exits.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../server/config.ts';
import { createDb } from '../../server/db/knex.ts';
import { createContext } from '../../server/context.ts';
import { createApp } from '../../server/app.ts';
import { createLogger } from '../../server/logger.ts';
import { systemClock } from '../../server/clock.ts';

const config = loadConfig(process.env);
if (config.database.client !== 'pg') throw new Error('app-child: DATABASE_URL must name PostgreSQL');
config.database = { ...config.database, searchPath: [String(process.env.PG_SCHEMA)] };
const db = createDb(config.database);
const ctx = createContext({ config, db, clock: systemClock, log: createLogger('silent') });
const handle = createApp(ctx);
await ctx.changes.start();
const server = http.createServer(handle.app);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n'); // why: a TCP server's address is an AddressInfo
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => {
    ctx.outbox.close();
    void handle.close().then(() => db.destroy()).then(() => process.exit(0));
  });
});
