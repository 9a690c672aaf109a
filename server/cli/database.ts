import fs from 'node:fs';
import path from 'node:path';
import { DateTime } from 'luxon';
import type { Config } from '../config.ts';
import { ZONE } from '../clock.ts';
import type { Context } from '../context.ts';
import { seedDemo, SeedRefused } from '../../seeds/demo.ts';
import { CommandError, UsageError, type Command, type Print } from './command.ts';

function defaultBackupFile(config: Config): string {
  return path.join(config.dataDir, `backup-${DateTime.now().setZone(ZONE).toFormat('yyyyMMdd-HHmmss')}.sqlite`);
}

function backupPrecheck(config: Config, args: { positionals: string[] }): void {
  if (config.database.client !== 'better-sqlite3') {
    throw new CommandError(
      'backup works for the embedded SQLite database only. For PostgreSQL use pg_dump, e.g.\n' +
      '  pg_dump --format=custom --file=verein-$(date +%Y%m%d).dump "$DATABASE_URL"',
      2,
    );
  }
  const file = args.positionals[0];
  if (file !== undefined && fs.existsSync(file)) throw new UsageError(`${file} exists already; choose a new file name.`);
  if (file !== undefined && !fs.existsSync(path.dirname(path.resolve(file)))) throw new UsageError(`The directory of ${file} does not exist.`);
}

async function backup(ctx: Context, args: { positionals: string[] }, print: Print): Promise<void> {
  const file = path.resolve(args.positionals[0] ?? defaultBackupFile(ctx.config));
  const source = ctx.config.database.client === 'better-sqlite3' ? ctx.config.database.filename : '';
  print(`Backing up ${source} to ${file} …`);
  const client = ctx.db.client as { acquireConnection(): Promise<BetterSqlite>; releaseConnection(c: BetterSqlite): Promise<void> }; // why: precheck allows SQLite only, whose knex client hands out better-sqlite3 connections
  const conn = await client.acquireConnection();
  try {
    // SQLite's online backup: consistent even while the server keeps writing (WAL)
    await conn.backup(file, {
      progress: ({ totalPages, remainingPages }) => {
        if (totalPages > 5000) print(`  ${Math.round(((totalPages - remainingPages) / totalPages) * 100)} %`);
        return 1000;
      },
    });
  } finally {
    await client.releaseConnection(conn);
  }
  const Database = (await import('better-sqlite3')).default;
  const check = new Database(file);
  try {
    check.pragma('journal_mode = DELETE'); // one self-contained file, no -wal/-shm beside it
    const ok = check.pragma('integrity_check', { simple: true });
    if (ok !== 'ok') throw new CommandError(`The backup at ${file} failed its integrity check: ${String(ok)}`);
    const orgs = (check.prepare('select count(*) as n from organisations').get() as { n: number }).n; // why: count(*) as n is one row with a number n
    print(`Done: ${(fs.statSync(file).size / 1024).toFixed(0)} KiB, integrity check ok, ${orgs} organisations.`);
  } finally {
    check.close();
  }
}

interface BetterSqlite {
  backup(file: string, opts?: { progress?: (info: { totalPages: number; remainingPages: number }) => number }): Promise<unknown>;
}

async function seedDemoRun(ctx: Context, _args: unknown, print: Print): Promise<void> {
  try {
    await seedDemo(ctx, print);
  } catch (err) {
    if (err instanceof SeedRefused) throw new CommandError(err.message);
    throw err;
  }
}

/** `seed:demo`: the demo association in an empty database. */
export const seedDemoCommand: Command = {
  usage: 'seed:demo',
  summary: 'fill the demo association (settings, categories, 20 founding members, demo logins) into an empty database',
  available: true,
  run: seedDemoRun,
};

/** `backup [FILE]`: SQLite's online backup. */
export const backupCommand: Command = {
  usage: 'backup [FILE]',
  summary: 'online backup of the SQLite database (default: data/backup-YYYYMMDD-HHmmss.sqlite); for PostgreSQL use pg_dump',
  positionals: 1,
  available: true,
  precheck: backupPrecheck,
  run: backup,
};
