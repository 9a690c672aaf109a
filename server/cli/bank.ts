import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.ts';
import { tFor } from '../i18n/i18n.ts';
import { MAX_FILE_BYTES, MAX_FILE_MB, StatementFileError } from '../bank/statement.ts';
import { CsvMappingNeeded } from '../bank/statement-file.ts';
import { CLI_ACTOR, CommandError, UsageError, type Command, type CommandArgs, type Print } from './command.ts';

async function bankImport(ctx: Context, args: CommandArgs, print: Print): Promise<void> {
  const file = args.positionals[0];
  if (!file) throw new UsageError('bank:import needs a FILE (CAMT.053 .xml, a .zip of them, or a bank CSV)');
  let bytes: Buffer;
  try {
    if (fs.statSync(file).size > MAX_FILE_BYTES) throw new CommandError(`${file} is not smaller than ${MAX_FILE_MB} MB; nothing imported.`);
    bytes = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof CommandError) throw e;
    throw new CommandError(`cannot read ${file}`);
  }
  try {
    const r = await ctx.bank.import(CLI_ACTOR, path.basename(file), bytes);
    print(`${file}: ${r.statements} statement(s), ${r.lines} booking(s), ${r.newLines} new${r.returns ? `, ${r.returns} return(s)` : ''}; ${r.sure} sure match(es) wait for confirmation at /treasurer/bank`);
  } catch (e) {
    if (e instanceof CsvMappingNeeded) throw new CommandError(`${file}: the CSV's columns are not known yet; upload it once at /treasurer/bank to choose them. Nothing imported.`);
    if (e instanceof StatementFileError) throw new CommandError(`${file}: ${tFor('en')(`bank.errors.file.${e.code}`, { ...e.params, maxMb: MAX_FILE_MB })} Nothing imported.`);
    throw e;
  }
}

/** `bank:import FILE`: imports a bank statement (the same as the upload at /treasurer/bank). */
export const bankImportCommand: Command = {
  usage: 'bank:import FILE',
  summary: 'import a bank statement (CAMT.053 .001.02/.001.08, a ZIP of them, or a Sparkasse/Volksbank/Deutsche Bank CSV); each booking is stored once',
  positionals: 1,
  available: true,
  run: bankImport,
};
