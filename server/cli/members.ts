import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.ts';
import type { Actor } from '../audit/audit.service.ts';
import { ImportFileError, MAX_IMPORT_BYTES } from '../members/import.service.ts';
import { UsageError, type Command } from './command.ts';

/**
 * `npm run cli -- members:import FILE.csv [--dry-run] [--skip-invalid]`: the same checks as the
 * preview, printed per row. Imports in one transaction; if any row has an error nothing is
 * imported unless --skip-invalid. Duplicates of existing members are skipped (so running it twice
 * imports nothing twice). Returns the exit code: 0 done, 1 bad input.
 */
export async function runImportCli(
  ctx: Context,
  file: string,
  print: (line: string) => void,
  opts: { dryRun?: boolean; skipInvalid?: boolean } = {},
): Promise<number> {
  if (!file) { print('Usage: members:import FILE.csv [--dry-run] [--skip-invalid]'); return 1; }
  let bytes: Buffer;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_IMPORT_BYTES) { print(`Error: ${file} is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MB.`); return 1; }
    bytes = fs.readFileSync(file);
  } catch {
    print(`Error: cannot read ${file}.`);
    return 1;
  }
  const svc = ctx.memberImport;
  let records;
  try {
    const parsed = svc.parseFile(bytes, { maxRows: 1_000_000 });
    records = parsed.records;
    print(`${file}: ${records.length} rows, encoding ${parsed.encoding}, separator "${parsed.delimiter === '\t' ? 'TAB' : parsed.delimiter}"`);
  } catch (e) {
    if (e instanceof ImportFileError) {
      const { tFor } = await import('../i18n/i18n.ts');
      print(`Error: ${tFor('en')(`memberdata.import.fatal.${e.code}`, e.params)}`);
      return 1;
    }
    throw e;
  }
  const { tFor } = await import('../i18n/i18n.ts');
  const t = tFor('en');
  const analysis = await svc.analyse(ctx.db, records);
  for (const r of analysis.rows) {
    for (const e of r.errors) print(`  line ${r.line}: ERROR ${t(`memberdata.import.issues.${e.key}`, e.params ?? {})}`);
    for (const w of r.warnings) print(`  line ${r.line}: ${w.blocking ? 'SKIPPED' : 'warning'} ${t(`memberdata.import.issues.${w.key}`, w.params ?? {})}`);
  }
  const c = analysis.counts;
  print(`${c.importable} to import, ${c.withErrors} with errors, ${c.duplicates} duplicates skipped.`);
  if (c.withErrors && !opts.skipInvalid) { print('Nothing imported: fix the rows with errors, or pass --skip-invalid to import only the good rows.'); return 1; }
  if (opts.dryRun) { print('Dry run: nothing imported.'); return 0; }
  const actor: Actor = { userId: null, label: 'cli' };
  const good = analysis.rows.filter((r) => r.importable);
  const fileHash = crypto.createHash('sha256').update(bytes).digest('hex');
  await ctx.db.transaction(async (trx) => {
    const numbers = await svc.importRows(trx, actor, good);
    await ctx.audit.record(trx, actor, 'members.imported', 'import_batch', null, undefined, { fileName: path.basename(file), fileHash, count: good.length, memberNumbers: numbers });
  });
  print(`Imported ${good.length} members.`);
  return 0;
}

/** `members:import FILE.csv`: the import of the web interface, from a file. */
export const membersImportCommand: Command = {
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
};
