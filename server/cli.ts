import 'dotenv/config';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import pino from 'pino';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { createDb, migrate } from './db/knex.ts';
import { systemClock, ZONE } from './clock.ts';
import { createContext, type Context } from './context.ts';
import type { Actor } from './audit/audit.service.ts';
import { isRole, ROLES, type Role } from './auth/roles.ts';
import { generatePassword, MIN_PASSWORD_LENGTH } from './auth/passwords.ts';
import { AppError } from './errors.ts';
import { seedDemo, SeedRefused } from '../seeds/demo.ts';
import { runImportCli } from './members/import.service.ts';
import { runDuesCli } from './dues/dues-run.job.ts';
import { runRemindersCli } from './dues/reminders.service.ts';
import { runReconcileCli } from './dues/stripe-sync.service.ts';
import { runInvitationsCli } from './assemblies/invitations.job.ts';
import { BenchSeedInputError, BenchSeedRefused, runBenchSeedCli } from './bench-seed.ts';

/**
 * The command line: `npm run cli -- <command> [options]`. Each command uses the same
 * services as the web interface, prints what it does, and exits non-zero with a clear
 * message on bad input (2) or when it cannot do what was asked (1).
 */

const CLI_ACTOR: Actor = { userId: null, label: 'cli' };

/** Bad input: message and usage hint, exit code 2. */
class UsageError extends Error {}
/** The command could not do its work (exit code 1, or the given one). */
class CommandError extends Error {
  constructor(message: string, public readonly exitCode = 1) {
    super(message);
  }
}

type Print = (line: string) => void;

interface Command {
  usage: string;
  summary: string;
  options?: ParseArgsConfig['options'];
  positionals?: number; // how many positional arguments it takes at most
  available: boolean;
  /** Runs with an open context; the caller destroys the database connection afterwards. */
  run?: (ctx: Context, args: { values: Record<string, unknown>; positionals: string[] }, print: Print, write: Print) => Promise<number | void>;
  /** Commands that need no database (checked before connecting). */
  precheck?: (config: Config, args: { values: Record<string, unknown>; positionals: string[] }) => void;
}

const emailSchema = z.email();

function asList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
}

/** Asks a question on the terminal; with `hidden`, typed characters are not echoed. */
function ask(question: string, hidden: boolean): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    let muted = false;
    const out = rl as unknown as { _writeToOutput: (s: string) => void };
    const write = out._writeToOutput.bind(rl);
    out._writeToOutput = (s: string) => {
      if (!muted || s.includes('\n') || s.includes('\r')) write(muted ? s.replace(/[^\r\n]/g, '') : s);
    };
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
    muted = hidden;
  });
}

async function userCreate(ctx: Context, args: { values: Record<string, unknown> }, print: Print): Promise<void> {
  const { values } = args;
  const email = String(values.email ?? '').trim().toLowerCase();
  const roles = asList(values.role);
  const name = typeof values.name === 'string' && values.name.trim() ? values.name.trim() : email.split('@')[0];
  let password = typeof values.password === 'string' ? values.password : undefined;

  if (password !== undefined && password.length < MIN_PASSWORD_LENGTH) {
    throw new UsageError(`--password: must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (await ctx.users.byEmail(email)) throw new CommandError(`A user with the e-mail address ${email} exists already.`);

  let generated = false;
  if (password === undefined) {
    if (process.stdin.isTTY) {
      for (;;) {
        const first = await ask(`Password for ${email} (at least ${MIN_PASSWORD_LENGTH} characters): `, true);
        if (first.length < MIN_PASSWORD_LENGTH) {
          print(`Too short: at least ${MIN_PASSWORD_LENGTH} characters.`);
          continue;
        }
        const again = await ask('Repeat the password: ', true);
        if (again !== first) {
          print('The two entries differ; please try again.');
          continue;
        }
        password = first;
        break;
      }
    } else {
      password = generatePassword();
      generated = true;
    }
  }

  try {
    const id = await ctx.users.create(CLI_ACTOR, { email, displayName: name, roles: roles as Role[], password });
    print(`Created user #${id} ${email} (${roles.join(', ')}), display name "${name}".`);
    if (generated) {
      print('Generated password (shown only this once, store it safely or reset it by e-mail later):');
      print(`  ${password}`);
    }
    print(`Log in at ${ctx.config.baseUrl}/login`);
  } catch (err) {
    if (err instanceof AppError && err.code === 'email_taken') throw new CommandError(`A user with the e-mail address ${email} exists already.`);
    throw err;
  }
}

async function mailSend(ctx: Context, _args: unknown, print: Print): Promise<void> {
  const before = await ctx.outbox.counts();
  const due = before.queued ?? 0;
  print(`Sending due messages from the outbox (${due} queued, transport: ${ctx.config.smtpUrl ? 'SMTP' : `files in ${ctx.config.mailDir}`}) …`);
  const attempted = await ctx.outbox.flush();
  const after = await ctx.outbox.counts();
  const sent = (after.sent ?? 0) - (before.sent ?? 0);
  const failed = (after.failed ?? 0) - (before.failed ?? 0);
  const waiting = (after.queued ?? 0) + (after.sending ?? 0);
  print(`Attempted ${attempted}: sent ${sent}, failed ${failed}, waiting ${waiting}.`);
  if (waiting > 0) {
    const next = await ctx.db('mail_messages').where('status', 'queued').min({ t: 'next_attempt_at' }).first();
    if (next?.t) print(`Next attempt for waiting messages: ${DateTime.fromISO(String(next.t), { zone: 'utc' }).setZone(ZONE).toFormat('dd.MM.yyyy HH:mm:ss')} (Europe/Berlin).`);
  }
  if (failed > 0) print('Failed messages and the server\'s answers are listed in the admin mail log.');
}

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
  const client = ctx.db.client as { acquireConnection(): Promise<BetterSqlite>; releaseConnection(c: BetterSqlite): Promise<void> };
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
    const orgs = (check.prepare('select count(*) as n from organisations').get() as { n: number }).n;
    print(`Done: ${(fs.statSync(file).size / 1024).toFixed(0)} KiB, integrity check ok, ${orgs} organisations.`);
  } finally {
    check.close();
  }
}

interface BetterSqlite {
  backup(file: string, opts?: { progress?: (info: { totalPages: number; remainingPages: number }) => number }): Promise<unknown>;
}

async function seedDemoCommand(ctx: Context, _args: unknown, print: Print): Promise<void> {
  try {
    await seedDemo(ctx, print);
  } catch (err) {
    if (err instanceof SeedRefused) throw new CommandError(err.message);
    throw err;
  }
}

const COMMANDS: Record<string, Command> = {
  'user:create': {
    usage: 'user:create --email E --role R [--role R …] [--name N] [--password P]',
    summary: `create a user (the first admin, or others); roles: ${ROLES.join(', ')}. Without --password you are asked (or, without a terminal, one is generated and printed once)`,
    options: { email: { type: 'string' }, role: { type: 'string', multiple: true }, name: { type: 'string' }, password: { type: 'string' } },
    available: true,
    precheck: (_config, { values }) => {
      const email = String(values.email ?? '').trim();
      if (!email) throw new UsageError('--email is required');
      if (!emailSchema.safeParse(email).success) throw new UsageError(`--email: "${email}" is not an e-mail address`);
      const roles = asList(values.role);
      if (!roles.length) throw new UsageError(`--role is required (one or more of: ${ROLES.join(', ')})`);
      const bad = roles.filter((r) => !isRole(r));
      if (bad.length) throw new UsageError(`--role: unknown role ${bad.map((r) => `"${r}"`).join(', ')} (known: ${ROLES.join(', ')})`);
    },
    run: userCreate,
  },
  'seed:demo': {
    usage: 'seed:demo',
    summary: 'fill the demo association (settings, categories, 20 founding members, demo logins) into an empty database',
    available: true,
    run: seedDemoCommand,
  },
  'mail:send': {
    usage: 'mail:send',
    summary: 'send every due message in the outbox now; prints how many were sent, failed and are waiting',
    available: true,
    run: mailSend,
  },
  backup: {
    usage: 'backup [FILE]',
    summary: 'online backup of the SQLite database (default: data/backup-YYYYMMDD-HHmmss.sqlite); for PostgreSQL use pg_dump',
    positionals: 1,
    available: true,
    precheck: backupPrecheck,
    run: backup,
  },
  'members:import': {
    usage: 'members:import FILE.csv [--dry-run] [--skip-invalid]',
    summary: 'import members from a CSV file (the same checks as the preview in the web interface; duplicates are skipped)',
    options: { 'dry-run': { type: 'boolean' }, 'skip-invalid': { type: 'boolean' } },
    positionals: 1,
    available: true,
    precheck: (_config, { positionals }) => {
      if (!positionals[0]) throw new UsageError('FILE.csv is required');
      if (!fs.existsSync(positionals[0])) throw new UsageError(`${positionals[0]} does not exist`);
    },
    run: (ctx, { values, positionals }, print) =>
      runImportCli(ctx, positionals[0], print, { dryRun: values['dry-run'] === true, skipInvalid: values['skip-invalid'] === true }),
  },
  'dues:run': {
    usage: 'dues:run --year Y',
    summary: 'issue the dues invoices of a year (the same job as in the web interface; resumes an interrupted run)',
    options: { year: { type: 'string' } },
    available: true,
    precheck: (_config, { values }) => {
      const y = String(values.year ?? '');
      if (!y) throw new UsageError('--year is required, e.g. --year 2027');
      if (!/^\d{4}$/.test(y)) throw new UsageError(`--year: "${y}" is not a year`);
    },
    run: (ctx, { values }, _print, write) => runDuesCli(ctx, Number(values.year), write),
  },
  'reminders:send': {
    usage: 'reminders:send',
    summary: 'queue the payment reminders that are due today',
    available: true,
    run: (ctx, _args, _print, write) => runRemindersCli(ctx, write),
  },
  'invoices:reconcile': {
    usage: 'invoices:reconcile',
    summary: 'fetch the state of all open invoices from Stripe (for missed webhook events)',
    available: true,
    run: async (ctx, _args, print) => {
      try {
        await runReconcileCli(ctx, print);
      } catch (err) {
        throw new CommandError((err as Error).message);
      }
    },
  },
  'assembly:invite': {
    usage: 'assembly:invite ID [--override-reason TEXT]',
    summary: 'send the invitations of a general assembly (the same job as in the web interface)',
    options: { 'override-reason': { type: 'string' } },
    positionals: 1,
    available: true,
    precheck: (_config, { positionals }) => {
      if (!positionals[0]) throw new UsageError('ID of the assembly is required');
      if (!/^\d+$/.test(positionals[0])) throw new UsageError(`"${positionals[0]}" is not an assembly id`);
    },
    run: async (ctx, { values, positionals }, print) => {
      try {
        await runInvitationsCli(ctx, Number(positionals[0]), print, { overrideReason: typeof values['override-reason'] === 'string' ? values['override-reason'] : undefined });
      } catch (err) {
        throw new CommandError((err as Error).message);
      }
    },
  },
  'bench:seed': {
    usage: 'bench:seed --members N',
    summary: 'fill an empty database with N generated members for benchmarks',
    options: { members: { type: 'string' } },
    available: true,
    run: async (ctx, { values }, print) => {
      try {
        await runBenchSeedCli(ctx, { members: values.members }, print);
      } catch (err) {
        if (err instanceof BenchSeedInputError) throw new UsageError(err.message);
        if (err instanceof BenchSeedRefused) throw new CommandError(err.message);
        throw err;
      }
    },
  },
};

export function usage(): string {
  const lines = ['Usage: npm run cli -- <command> [options]', '', 'Commands:'];
  for (const c of Object.values(COMMANDS).filter((x) => x.available)) lines.push(`  ${c.usage}`, `      ${c.summary}`);
  lines.push('  help', '      show this text');
  const later = Object.values(COMMANDS).filter((x) => !x.available);
  if (later.length) lines.push('', 'Not yet available:');
  for (const c of later) lines.push(`  ${c.usage}`, `      ${c.summary}`);
  lines.push('', 'Configuration comes from the environment and .env (see .env.example), e.g. DATA_DIR, DATABASE_URL, SMTP_URL.');
  return lines.join('\n');
}

/** Runs one command; returns the exit code. */
export async function runCli(
  argv: string[],
  print: Print = (l) => console.log(l),
  printError: Print = (l) => console.error(l),
  write: Print = (s) => void process.stdout.write(s),
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    print(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    printError(`Unknown command "${name}".\n`);
    printError(usage());
    return 2;
  }
  if (!command.available || !command.run) {
    printError(`"${name}" is not yet available in this version.`);
    return 2;
  }

  let args: { values: Record<string, unknown>; positionals: string[] };
  try {
    args = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: (command.positionals ?? 0) > 0, strict: true }) as typeof args;
    if (args.positionals.length > (command.positionals ?? 0)) throw new UsageError(`too many arguments: ${args.positionals.join(' ')}`);
  } catch (err) {
    printError(`${name}: ${(err as Error).message}\nUsage: npm run cli -- ${command.usage}`);
    return 2;
  }

  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      printError(err.message);
      return 2;
    }
    throw err;
  }

  try {
    command.precheck?.(config, args);
  } catch (err) {
    return reportError(err, name, command, printError);
  }

  // logs go to stderr so that the command's own output stays readable; quiet unless LOG_LEVEL is set
  const log = createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn', pino.destination(2));
  const db = createDb(config.database);
  let ctx: Context | undefined;
  try {
    await migrate(db);
    ctx = createContext({ config, db, clock: systemClock, log });
    const code = await command.run(ctx, args, print, write);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    return reportError(err, name, command, printError);
  } finally {
    ctx?.outbox.close();
    await db.destroy();
  }
}

function reportError(err: unknown, name: string, command: Command, printError: Print): number {
  if (err instanceof UsageError) {
    printError(`${name}: ${err.message}\nUsage: npm run cli -- ${command.usage}`);
    return 2;
  }
  if (err instanceof CommandError) {
    printError(err.message);
    return err.exitCode;
  }
  printError(`${name} failed: ${(err as Error)?.stack ?? String(err)}`);
  return 1;
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (invokedDirectly) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
