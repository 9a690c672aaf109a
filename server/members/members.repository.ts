import type { Knex } from 'knex';
import { likeEscape } from '../db/knex.ts';
import type { SortKey } from './members.schemas.ts';

/**
 * The register list's queries. Paging is keyset ("seek") paging: each page continues after
 * the last row of the previous one (`WHERE (name_key, id) > (?, ?) ORDER BY name_key, id
 * LIMIT 51`), so page 2,000 costs what page 1 costs; an OFFSET would read and discard every
 * earlier row. Each sort order has a matching index (member_number unique; (name_key, id),
 * (city_key, id), (join_date, id) from migration 20261125000400).
 *
 * The total is counted with a cap (`SELECT count(*) FROM (SELECT 1 … LIMIT 10001)`), so a
 * page never counts more than 10,001 index entries; above the cap the page says "more than
 * 10,000".
 *
 * Search: a member number ("M-0012", "m12", "12") is an index lookup. A term of one or two
 * characters matches name prefixes only: a range on name_key (`>= 'abc' AND < 'abd'`), which uses the B-tree index in SQLite
 * (BINARY) and PostgreSQL (the column is COLLATE "C" there); `LIKE 'abc%'` would use an
 * index in SQLite only with a COLLATE NOCASE index. Longer terms match anywhere ("contains")
 * in the name, city, a contact's name or e-mail (so a prefix match is one of them). "Contains" (name, city, contact name,
 * e-mail) cannot use a B-tree index on any database: it is one LIKE '%…%' scan over the key
 * columns (about 100,000 short strings, a few milliseconds; see test/integration/
 * members-scale.test.ts for the measured numbers). Contacts are matched through
 * `id IN (SELECT organisation_id FROM contacts WHERE …)`: one pass over contacts instead of
 * a correlated sub-query per organisation.
 */

export const PAGE_SIZE = 50;
export const COUNT_CAP = 10_000;

export interface ListFilter {
  q: string;
  status: '' | 'current' | 'active' | 'notice_given' | 'former';
  categoryId?: number;
  year?: number;
}

export interface ListPage {
  rows: Record<string, any>[];
  total: number;
  totalCapped: boolean;
  nextCursor: string | null;
  prevCursor: string | null;
}

type Cursor = [string | number, number];

const SORT_COLUMN: Record<SortKey, string> = {
  number: 'o.member_number',
  name: 'o.name_key',
  city: 'o.city_key',
  joined: 'o.join_date',
};

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

export function decodeCursor(s: string | undefined, sort: SortKey): Cursor | undefined {
  if (!s) return undefined;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 2 || !Number.isSafeInteger(v[1])) return undefined;
    if (sort === 'number' ? !Number.isSafeInteger(v[0]) : typeof v[0] !== 'string' || v[0].length > 300) return undefined;
    return [v[0], v[1]];
  } catch {
    return undefined;
  }
}

/** The smallest string greater than every string with this prefix (in code point / byte order), or undefined. */
export function prefixUpperBound(prefix: string): string | undefined {
  const cps = Array.from(prefix);
  while (cps.length) {
    const last = cps.pop()!.codePointAt(0)!;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // skip surrogates
    if (next <= 0x10ffff) return cps.join('') + String.fromCodePoint(next);
  }
  return undefined;
}

/** "M-0012", "m 12", "0012", "12" → 12. */
export function parseMemberNumber(q: string): number | undefined {
  const m = /^(?:m\s*-?\s*)?0*(\d{1,9})$/i.exec(q.trim());
  return m ? Number(m[1]) : undefined;
}

/** The longest value any searched column can hold: longer input cannot match anything. */
const MAX_SEARCHABLE = 254;
/** Shorter search terms match name prefixes only (see applyFilter). */
export const MIN_CONTAINS = 3;

function applyFilter(q: Knex.QueryBuilder, db: Knex, f: ListFilter, key: string): boolean {
  if (f.status === 'current') q.whereIn('o.status', ['active', 'notice_given']);
  else if (f.status) q.where('o.status', f.status);
  if (f.categoryId) q.where('o.category_id', f.categoryId);
  if (f.year) q.whereBetween('o.join_date', [`${f.year}-01-01`, `${f.year}-12-31`]);
  if (!key) return true;
  if (key.length > MAX_SEARCHABLE) return false;
  const number = parseMemberNumber(key);
  const upper = prefixUpperBound(key);
  const contains = `%${likeEscape(key)}%`;
  q.where((w) => {
    if (number !== undefined) w.orWhere('o.member_number', number);
    if (number !== undefined || Array.from(key).length < MIN_CONTAINS) {
      // A member number ("M-0012", "12"), or one or two characters: names starting with them
      // (an index range, like a register's A–Z tabs). "Contains" would scan the register and
      // match most of it for such short input.
      if (upper) w.orWhere((r) => r.where('o.name_key', '>=', key).andWhere('o.name_key', '<', upper));
      else w.orWhere('o.name_key', '>=', key);
      return;
    }
    w.orWhereRaw("o.name_key like ? escape '\\'", [contains]);
    w.orWhereRaw("o.city_key like ? escape '\\'", [contains]);
    w.orWhereIn(
      'o.id',
      db('contacts').select('organisation_id').whereRaw("name_key like ? escape '\\'", [contains]).orWhereRaw("email like ? escape '\\'", [contains]),
    );
  });
  return true;
}

export async function listOrganisations(
  db: Knex,
  f: ListFilter,
  key: string,
  sort: SortKey,
  dir: 'asc' | 'desc',
  cursor: { after?: string; before?: string },
  pageSize = PAGE_SIZE,
): Promise<ListPage> {
  const col = SORT_COLUMN[sort];
  const base = () => db('organisations as o');

  const countQ = base().select(db.raw('1'));
  if (!applyFilter(countQ, db, f, key)) return { rows: [], total: 0, totalCapped: false, nextCursor: null, prevCursor: null };
  const [{ n }] = await db.from(countQ.limit(COUNT_CAP + 1).as('c')).count({ n: '*' });
  const total = Number(n);

  const after = decodeCursor(cursor.after, sort);
  const before = after ? undefined : decodeCursor(cursor.before, sort);
  // Going backwards: reverse the order, take the page, then flip it back.
  const backwards = !!before;
  const asc = (dir === 'asc') !== backwards;
  const op = asc ? '>' : '<';
  const order = asc ? 'asc' : 'desc';

  const q = base()
    .leftJoin('membership_categories as c', 'c.id', 'o.category_id')
    .select('o.*', 'c.name_de as category_name_de', 'c.name_en as category_name_en', 'c.has_vote as category_has_vote');
  applyFilter(q, db, f, key);
  const at = after ?? before;
  if (at) {
    if (sort === 'number') q.where('o.member_number', op, at[0]);
    else q.whereRaw(`(${col}, o.id) ${op} (?, ?)`, [at[0], at[1]]);
  }
  if (sort === 'number') q.orderBy('o.member_number', order);
  else q.orderBy([{ column: col, order }, { column: 'o.id', order }]);
  const got = await q.limit(pageSize + 1);
  const more = got.length > pageSize;
  let rows = got.slice(0, pageSize);
  if (backwards) rows = rows.reverse();

  const keyOf = (r: Record<string, any>): Cursor => {
    const v = sort === 'number' ? Number(r.member_number) : sort === 'name' ? r.name_key : sort === 'city' ? r.city_key : r.join_date;
    return [v, Number(r.id)];
  };
  const hasNext = backwards ? true : more;
  const hasPrev = backwards ? more : !!after;
  return {
    rows,
    total: Math.min(total, COUNT_CAP),
    totalCapped: total > COUNT_CAP,
    nextCursor: hasNext && rows.length ? encodeCursor(keyOf(rows[rows.length - 1])) : null,
    prevCursor: hasPrev && rows.length ? encodeCursor(keyOf(rows[0])) : null,
  };
}

/**
 * Numbers at a glance, from the stored status (kept current by applyDueExits): one pass over
 * the covering index (category_id, status), grouped in index order, so no table rows are read;
 * the few categories say which have a vote.
 */
export async function registerStats(db: Knex): Promise<{ active: number; voting: number; noticeGiven: number; former: number }> {
  const [rows, cats] = await Promise.all([
    db('organisations').select('category_id', 'status').count({ n: '*' }).groupBy('category_id', 'status'),
    db('membership_categories').select('id', 'has_vote'),
  ]);
  const vote = new Map(cats.map((c: { id: unknown; has_vote: unknown }) => [Number(c.id), c.has_vote === true || c.has_vote === 1 || c.has_vote === '1']));
  const out = { active: 0, voting: 0, noticeGiven: 0, former: 0 };
  for (const r of rows as { category_id: unknown; status: string; n: unknown }[]) {
    const n = Number(r.n);
    if (r.status === 'former') out.former += n;
    else {
      out.active += n; // members today: active and those whose notice period is running
      if (vote.get(Number(r.category_id))) out.voting += n;
      if (r.status === 'notice_given') out.noticeGiven += n;
    }
  }
  return out;
}
