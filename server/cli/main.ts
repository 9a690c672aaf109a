import 'dotenv/config';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { createDb, migrate } from '../db/knex.ts';
import { systemClock } from '../clock.ts';
import { createContext, type Context } from '../context.ts';
import { CommandError, UsageError, type Command, type CommandArgs, type Print } from './command.ts';
import { userCreateCommand } from './users.ts';
import { mailSendCommand } from './mail.ts';
import { backupCommand, seedDemoCommand } from './database.ts';
import { membersImportCommand } from './members.ts';
import { duesRunCommand, invoicesReconcileCommand, remindersSendCommand } from './dues.ts';
import { assemblyInviteCommand } from './assemblies.ts';
import { retentionRunCommand } from './retention.ts';
import { bankImportCommand } from './bank.ts'; // h/bank

/**
 * The command line: `npm run cli -- <command> [options]`. Each command uses the same
 * services as the web interface, prints what it does, and exits non-zero with a clear
 * message on bad input (2) or when it cannot do what was asked (1). The commands live in
 * one file per group beside this one; this file parses the arguments, opens the context and
 * reports errors.
 */

const COMMANDS: Record<string, Command> = {
  'user:create': userCreateCommand,
  'seed:demo': seedDemoCommand,
  'mail:send': mailSendCommand,
  backup: backupCommand,
  'members:import': membersImportCommand,
  'dues:run': duesRunCommand,
  'reminders:send': remindersSendCommand,
  'invoices:reconcile': invoicesReconcileCommand,
  'assembly:invite': assemblyInviteCommand,
  'retention:run': retentionRunCommand,
  'bank:import': bankImportCommand, // h/bank
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

  let args: CommandArgs;
  try {
    args = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: (command.positionals ?? 0) > 0, strict: true }) as typeof args; // why: parseArgs's values are strings, booleans or arrays of them, all unknown here
    if (args.positionals.length > (command.positionals ?? 0)) throw new UsageError(`too many arguments: ${args.positionals.join(' ')}`);
  } catch (err) {
    printError(`${name}: ${(err as Error).message}\nUsage: npm run cli -- ${command.usage}`); // why: parseArgs and UsageError throw Error objects
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
  printError(`${name} failed: ${(err as Error)?.stack ?? String(err)}`); // why: optional chaining covers a thrown non-Error
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
