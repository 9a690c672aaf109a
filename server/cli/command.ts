import readline from 'node:readline';
import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config.ts';
import type { Context } from '../context.ts';
import type { Actor } from '../audit/audit.service.ts';

/** Who the audit log names for everything done from the command line. */
export const CLI_ACTOR: Actor = { userId: null, label: 'cli' };

/** Bad input: message and usage hint, exit code 2. */
export class UsageError extends Error {}
/** The command could not do its work (exit code 1, or the given one). */
export class CommandError extends Error {
  constructor(message: string, public readonly exitCode = 1) {
    super(message);
  }
}

export type Print = (line: string) => void;

/** A command's parsed arguments. */
export interface CommandArgs {
  values: Record<string, unknown>;
  positionals: string[];
}

export interface Command {
  usage: string;
  summary: string;
  options?: ParseArgsConfig['options'];
  positionals?: number; // how many positional arguments it takes at most
  available: boolean;
  /** Runs with an open context; the caller destroys the database connection afterwards. */
  run?: (ctx: Context, args: CommandArgs, print: Print, write: Print) => Promise<number | void>;
  /** Commands that need no database (checked before connecting). */
  precheck?: (config: Config, args: CommandArgs) => void;
}

export function asList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
}

/** Asks a question on the terminal; with `hidden`, typed characters are not echoed. */
export function ask(question: string, hidden: boolean): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    let muted = false;
    const out = rl as unknown as { _writeToOutput: (s: string) => void }; // why: readline's internal writer, present on every Interface; hiding typed characters has no public API
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
