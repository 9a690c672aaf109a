import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { TABLE_OWNERS } from '../../server/db/ownership.ts';
import { createdTables, tableReferences, tsFiles, type TableReference } from '../helpers/table-queries.ts';

/**
 * One owner per table (DESIGN.md, issue 9): a table is queried only in the repositories of the
 * module that owns it (`server/<owner>/**\/*.repository.ts`, the map in server/db/ownership.ts);
 * every other module calls the owner's service. And every table a migration creates has an owner.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const owners: Record<string, string> = TABLE_OWNERS;
const tables = new Set(Object.keys(owners));

/**
 * Places that name a table without querying the application's database through it; each says why.
 * Keep this short: a query of the application's data belongs in the owner's repository.
 */
const NOT_QUERIES: { file: string; table: string; why: string }[] = [
  { file: 'server/cli/database.ts', table: 'organisations', why: 'backup counts the rows of the backup file it just wrote (a separate SQLite file)' },
];

/** Whether `file` (relative to the repository) is one of the owner's repositories. */
function isOwnersRepository(file: string, owner: string): boolean {
  const parts = file.split(path.sep);
  return parts[0] === 'server' && parts[1] === owner && file.endsWith('.repository.ts');
}

function violations(files: { file: string; source: string }[]): TableReference[] {
  return files.flatMap(({ file, source }) => tableReferences(file, source, tables))
    .filter((r) => !isOwnersRepository(r.file, owners[r.table]))
    .filter((r) => !NOT_QUERIES.some((x) => x.file === r.file && x.table === r.table));
}

function report(list: TableReference[]): string {
  return list.map((r) => `  ${r.file}:${r.line} ${r.table} (owner: ${owners[r.table]}) ${r.kind}: ${r.text}`).join('\n');
}

describe('ownership: only the owning module\'s repositories query a table', () => {
  it('finds every kind of table reference (the check bites)', () => {
    const source = [
      "await db('invoices').where({ id });",
      "await this.d.db('contacts as c').first();",
      "await trx.select('*').from('payments');",
      "q.leftJoin('organisations as o', 'o.id', 'i.organisation_id');",
      "q.join('users', 'users.id', 'x.user_id');",
      "await insertId(trx, 'dues_runs', { year });",
      "q.select('assemblies.title').where('x', 1);",
      "await db.raw(`select count(*) from user_roles where role = ?`, [r]);",
      "await db.raw('UPDATE tokens SET used_at = ?', [now]);",
      "// a comment about db('settings') and select * from jobs is no query",
      "const message = t('settings.title');",
      "log.info('moved from contacts to the archive');",
    ].join('\n');
    const found = tableReferences('server/x/x.service.ts', source, tables).map((r) => `${r.table}:${r.kind}`);
    expect(found).to.have.members([
      'invoices:call', 'contacts:method', 'payments:method', 'organisations:method', 'users:method', 'users:column',
      'dues_runs:call', 'assemblies:column', 'user_roles:sql', 'tokens:sql',
    ]);
    expect(found).not.to.include('settings:call');
    expect(found).not.to.include('jobs:sql');
    expect(found.filter((f) => f === 'contacts:sql')).to.deep.equal([]);
    // the same lines in the owner's repository are fine
    expect(violations([{ file: path.join('server', 'dues', 'invoices.repository.ts'), source: "await db('invoices').first();" }])).to.deep.equal([]);
    expect(violations([{ file: path.join('server', 'dues', 'invoices.service.ts'), source: "await db('invoices').first();" }])).to.have.length(1);
    expect(violations([{ file: path.join('server', 'members', 'invoices.repository.ts'), source: "await db('invoices').first();" }])).to.have.length(1);
  });

  it('no file in server/ queries a table outside its owner\'s repositories', () => {
    const files = tsFiles(root, 'server').map((file) => ({ file, source: fs.readFileSync(path.join(root, file), 'utf8') }));
    expect(files.length).to.be.above(50);
    const found = violations(files);
    expect(found, `${found.length} queries outside the table's owner:\n${report(found)}\n`).to.deep.equal([]);
  });

  it('every table a migration creates has an owner in server/db/ownership.ts', () => {
    const created = tsFiles(root, 'migrations').flatMap((file) => createdTables(fs.readFileSync(path.join(root, file), 'utf8')).map((table) => ({ file, table })));
    expect(created.length).to.be.above(30);
    const unowned = created.filter((c) => !tables.has(c.table));
    expect(unowned.map((c) => `${c.file}: ${c.table}`), 'tables without an owner (add them to server/db/ownership.ts)').to.deep.equal([]);
  });
});
