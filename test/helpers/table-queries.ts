import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Finds the places in TypeScript source that query a database table, for the ownership check
 * (test/unit/ownership.test.ts). Read with the TypeScript parser, so comments and the text of
 * messages never count; a reference is one of:
 * - a knex call with the table as its first argument: `db('t')`, `trx('t as x')`, `this.d.db('t')`;
 * - a builder method naming it: `.from('t')`, `.into('t')`, `.join('t as x', …)`, `.leftJoin`,
 *   `.innerJoin`, `.table('t')`, `.hasTable('t')`, …, and `insertId(db, 't', …)`;
 * - a qualified column `'t.column'` (or `'t.*'`) in a builder method's arguments;
 * - raw SQL in any string or template literal: `… from t`, `join t`, `insert into t`, `update t`,
 *   `delete from t`.
 */

export interface TableReference {
  file: string;
  line: number;
  table: string;
  kind: 'call' | 'method' | 'column' | 'sql';
  text: string;
}

/** Builder methods whose first argument is a table. */
const TABLE_METHODS = new Set([
  'from', 'into', 'table', 'join', 'leftJoin', 'leftOuterJoin', 'rightJoin', 'rightOuterJoin', 'innerJoin',
  'outerJoin', 'fullOuterJoin', 'crossJoin', 'joinRaw', 'hasTable', 'hasColumn', 'columnInfo', 'withSchema',
  // the knex instance or transaction reached as a property: this.db('t'), this.d.trx('t')
  'db', 'trx', 'knex', 'tx',
]);

/** Helpers of server/db/knex.ts that take a table: function name → index of the table argument. */
const TABLE_HELPERS: Record<string, number> = { insertId: 1 };

/** Builder methods whose arguments may name columns as 'table.column'. */
const COLUMN_METHODS = new Set([
  'select', 'first', 'column', 'columns', 'distinct', 'distinctOn', 'pluck', 'returning', 'where', 'andWhere', 'orWhere',
  'whereNot', 'andWhereNot', 'orWhereNot', 'whereIn', 'orWhereIn', 'whereNotIn', 'orWhereNotIn', 'whereNull', 'orWhereNull',
  'whereNotNull', 'orWhereNotNull', 'whereBetween', 'whereNotBetween', 'whereLike', 'whereILike', 'whereColumn',
  'on', 'andOn', 'orOn', 'onIn', 'onNotIn', 'onNull', 'onNotNull', 'andOnVal', 'onVal', 'orderBy', 'groupBy',
  'having', 'havingIn', 'count', 'countDistinct', 'min', 'max', 'sum', 'avg', 'increment', 'decrement', 'update',
  'insert', 'onConflict', 'merge', 'join', 'leftJoin', 'innerJoin', 'rightJoin', 'fullOuterJoin', 'union', 'unionAll',
]);

const SQL = /\b(?:from|join|into|update)\s+["`]?([a-z_][a-z0-9_]*)["`]?/gi;
/** A literal that reads as a statement (not a message that happens to say "from contacts"). */
const STATEMENT = /\bselect\b[\s\S]*\bfrom\b|\binsert\s+into\b|\bupdate\s+["`]?\w+["`]?\s+set\b|\bdelete\s+from\b|\bjoin\s+\w+[\s\S]*\bon\b/i;

/** Raw SQL: an argument of a raw method (raw, whereRaw, joinRaw, …), or a literal that reads as a statement. */
function isSql(n: ts.Node, text: string): boolean {
  const call = enclosingCall(n);
  const name = call ? calleeName(call.expression) : undefined;
  return (name !== undefined && /raw$/i.test(name)) || STATEMENT.test(text);
}

function calleeName(e: ts.Expression): string | undefined {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

function literalText(n: ts.Node): string | undefined {
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
  if (ts.isTemplateExpression(n)) return [n.head.text, ...n.templateSpans.map((s) => ` \${} ${s.literal.text}`)].join('');
  return undefined;
}

/** The table a knex table argument names ('t' or 't as x'), if it is one we know. */
function tableOf(text: string, tables: Set<string>): string | undefined {
  const name = text.trim().split(/\s+as\s+/i)[0].trim();
  return tables.has(name) ? name : undefined;
}

/** The nearest call this node is an argument of (through arrays, objects and parentheses). */
function enclosingCall(n: ts.Node): ts.CallExpression | undefined {
  let cur: ts.Node = n;
  for (;;) {
    const p: ts.Node | undefined = cur.parent;
    if (!p) return undefined;
    if (ts.isCallExpression(p)) return p.arguments.includes(cur as ts.Expression) ? p : undefined;
    if (ts.isArrayLiteralExpression(p) || ts.isObjectLiteralExpression(p) || ts.isPropertyAssignment(p) || ts.isParenthesizedExpression(p)) {
      cur = p;
      continue;
    }
    return undefined;
  }
}

/** Every table reference in one source text. */
export function tableReferences(file: string, source: string, tables: Set<string>): TableReference[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const out: TableReference[] = [];
  const add = (n: ts.Node, table: string, kind: TableReference['kind']) => {
    const { line } = sf.getLineAndCharacterOfPosition(n.getStart(sf));
    out.push({ file, line: line + 1, table, kind, text: n.getText(sf).replace(/\s+/g, ' ').slice(0, 120) });
  };
  const visit = (n: ts.Node) => {
    if (ts.isCallExpression(n)) {
      const name = calleeName(n.expression);
      const first = n.arguments[0];
      const firstText = first ? literalText(first) : undefined;
      if (firstText !== undefined && name !== undefined && (ts.isIdentifier(n.expression) || TABLE_METHODS.has(name))) {
        const table = tableOf(firstText, tables);
        if (table) add(n, table, ts.isIdentifier(n.expression) ? 'call' : 'method');
      }
      if (name !== undefined && name in TABLE_HELPERS) {
        const arg = n.arguments[TABLE_HELPERS[name]];
        const text = arg ? literalText(arg) : undefined;
        const table = text !== undefined ? tableOf(text, tables) : undefined;
        if (table) add(n, table, 'call');
      }
    }
    const text = literalText(n);
    if (text !== undefined) {
      const col = /^\s*([a-z_][a-z0-9_]*)\.(?:[a-z_][a-z0-9_]*|\*)(?:\s+as\s+\w+)?\s*$/i.exec(text);
      if (col && tables.has(col[1])) {
        const call = enclosingCall(n);
        const name = call ? calleeName(call.expression) : undefined;
        if (call && name && ts.isPropertyAccessExpression(call.expression) && COLUMN_METHODS.has(name)) add(n, col[1], 'column');
      }
      if (isSql(n, text)) {
        for (const m of text.matchAll(SQL)) {
          const table = m[1].toLowerCase();
          if (tables.has(table)) add(n, table, 'sql');
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** The .ts files under a directory, recursively, as paths relative to `root`. */
export function tsFiles(root: string, dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tsFiles(root, path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []))
    .sort();
}

/** Tables a migration creates: `createTable('t'`, `createTableIfNotExists('t'`, raw `create table t`. */
export function createdTables(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(/createTable(?:IfNotExists)?\(\s*['"`]([a-z_][a-z0-9_]*)['"`]/gi)) out.add(m[1]);
  for (const m of source.matchAll(/create\s+table\s+(?:if\s+not\s+exists\s+)?["`]?([a-z_][a-z0-9_]*)/gi)) out.add(m[1].toLowerCase());
  return [...out];
}
