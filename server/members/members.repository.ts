import type { Knex } from 'knex';
import type { OrganisationRow } from './members.tables.ts';
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
 * 10,000". Unfiltered, or filtered by status and category only, the total comes from the
 * census MembersService caches (readCensus), and a first page that is not full is its own
 * total: no count query at all.
 *
 * Search (see planSearch): a member number ("M-0012", "m12", "12") is an index lookup; a term
 * of one or two characters matches name prefixes only: a range on name_key (`>= 'ab' AND
 * < 'ac'`), which uses the B-tree index in SQLite (BINARY) and PostgreSQL (COLLATE "C");
 * `LIKE 'ab%'` would use an index in SQLite only with a COLLATE NOCASE index. Longer terms
 * match word starts of the name, the town and the contacts' names (organisation_words,
 * migrations 20261125001100 and 20261125001200: a contact's last name is a word start), the
 * start of a contact's name or e-mail address: index ranges again, about 1 ms for a term
 * found 1,000 times at 100,000 members where LIKE '%…%' over names, towns and 250,000 contacts
 * took 140–210 ms. Only a term found nowhere that way is looked for anywhere ("contains":
 * one LIKE '%…%' scan over the key columns). A search counts at most SEARCH_COUNT_CAP hits.
 */

export const PAGE_SIZE = 50;
export const COUNT_CAP = 10_000;

export interface ListFilter {
  q: string;
  status: '' | 'current' | 'active' | 'notice_given' | 'former';
  categoryId?: number;
  year?: number;
  /** h/stripe: the payment-status filter, a subquery of organisation ids given by the dues module */
  organisationIds?: Knex.QueryBuilder;
}

/** A row of the list query: LIST_COLUMNS, and the key of the sort order for the cursor. */
export type ListRow = Pick<OrganisationRow, 'id' | 'member_number' | 'legal_name' | 'city' | 'join_date' | 'status' | 'exit_date' | 'category_id'> & { name_key?: string; city_key?: string };

export interface ListPage {
  rows: ListRow[];
  total: number;
  totalCapped: boolean;
  nextCursor: string | null;
  prevCursor: string | null;
  /** total is exact up to this many (COUNT_CAP for the list, SEARCH_COUNT_CAP for a search). */
  cap: number;
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
/** Shorter search terms match name prefixes only (see planSearch). */
export const MIN_CONTAINS = 3;
/** A search counts its hits up to this many ("more than 100 – please narrow the search"). */
export const SEARCH_COUNT_CAP = 100;
/** organisation_words.word holds at most this many characters of a name or town from a word start. */
export const WORD_MAX = 60;

const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

/**
 * The search keys of an organisation's name, town and contacts' names (all already
 * key-normalised, see nameKey()): the rest of the text from every word start on, at most
 * WORD_MAX characters. A word starts at the beginning, after a space, and at a letter or digit
 * after anything else ("clausthal-zellerfeld" → "clausthal-zellerfeld", "zellerfeld";
 * '"quote" ag' → '"quote" ag', 'quote" ag', 'ag').
 */
export function searchWords(...keys: string[]): string[] {
  const out = new Set<string>();
  for (const key of keys) {
    const cps = Array.from(key);
    for (let i = 0; i < cps.length; i++) {
      if (cps[i] === ' ') continue;
      if (i === 0 || cps[i - 1] === ' ' || (isWordChar(cps[i]) && !isWordChar(cps[i - 1]))) {
        out.add(cps.slice(i, i + WORD_MAX).join('').trimEnd());
      }
    }
  }
  return [...out];
}

/** SQLite allows at most 500 rows of 3 columns in one INSERT (999 bound values before 3.32). */
const WORDS_PER_INSERT = 400;

/** The organisation_words rows of one organisation: its name and town keys and its contacts' name keys. */
function wordRows(org: { id: number; memberNumber: number }, keys: unknown[]): { organisation_id: number; member_number: number; word: string }[] {
  return searchWords(...keys.map((k) => String(k ?? ''))).map((word) => ({ organisation_id: org.id, member_number: org.memberNumber, word }));
}

async function insertWords(db: Knex | Knex.Transaction, rows: { organisation_id: number; member_number: number; word: string }[]): Promise<void> {
  for (let k = 0; k < rows.length; k += WORDS_PER_INSERT) await db('organisation_words').insert(rows.slice(k, k + WORDS_PER_INSERT));
}

/**
 * Rewrites one organisation's search keys from what is stored now: its name and town
 * (organisations.name_key, city_key) and the name of each of its contacts (contacts.name_key),
 * so that a contact's last name ("übel" of "jürgen übel") is a word start like any other.
 * Called inside the writing transaction after every write that changes one of them (an
 * organisation created, renamed or moved; a contact added, renamed, removed or anonymised).
 * Every query runs on `trx` (SQLite: one connection; the global db would wait for it forever).
 */
export async function refreshSearchWords(trx: Knex | Knex.Transaction, organisationId: number): Promise<void> {
  await trx('organisation_words').where({ organisation_id: organisationId }).delete();
  const org = await trx('organisations').where({ id: organisationId }).first('member_number', 'name_key', 'city_key');
  if (!org) return;
  const contacts: { name_key: unknown }[] = await trx('contacts').where({ organisation_id: organisationId }).orderBy('id').select('name_key');
  await insertWords(trx, wordRows({ id: organisationId, memberNumber: Number(org.member_number) }, [org.name_key, org.city_key, ...contacts.map((c) => c.name_key)]));
}

/**
 * Fills organisation_words for every organisation from scratch, contacts' names included: the
 * migrations that add and extend it, and generated registers written directly
 * (server/bench-seed.ts). 2,000 organisations at a time, their contacts read as one index
 * range on contacts.organisation_id.
 */
export async function rebuildSearchWords(db: Knex | Knex.Transaction): Promise<number> {
  await db('organisation_words').delete();
  let after = 0;
  let n = 0;
  for (;;) {
    const orgs = await db('organisations').where('id', '>', after).orderBy('id').limit(2000).select('id', 'member_number', 'name_key', 'city_key');
    if (!orgs.length) return n;
    const last = Number(orgs[orgs.length - 1].id);
    const contacts: { organisation_id: unknown; name_key: unknown }[] = await db('contacts')
      .where('organisation_id', '>', after).andWhere('organisation_id', '<=', last)
      .orderBy([{ column: 'organisation_id' }, { column: 'id' }]).select('organisation_id', 'name_key');
    const names = new Map<number, unknown[]>();
    for (const c of contacts) {
      const id = Number(c.organisation_id);
      const list = names.get(id);
      if (list) list.push(c.name_key);
      else names.set(id, [c.name_key]);
    }
    const rows = orgs.flatMap((o) => wordRows({ id: Number(o.id), memberNumber: Number(o.member_number) }, [o.name_key, o.city_key, ...(names.get(Number(o.id)) ?? [])]));
    await insertWords(db, rows);
    n += rows.length;
    after = last;
  }
}

type Where = (q: Knex.QueryBuilder) => void;

/**
 * How a search term is looked up:
 * - a member number ("M-0012", "12") or one or two characters: the member number, and names
 *   starting with the term (an index range on name_key, like a register's A–Z tabs);
 * - three characters or more: word starts of the name, the town or a contact's name
 *   (organisation_words: "übel" finds the organisation of "Jürgen Übel"), the start of a
 *   contact's name (contacts.name_key, also for contacts written without their words, and for
 *   terms longer than WORD_MAX) or e-mail address (contacts.email), all
 *   index ranges; only when that finds nothing, "contains" anywhere in name, town, a
 *   contact's name or e-mail ("0% c", "@example.org"), a scan, but for input that found
 *   nothing the fast way.
 */
interface SearchPlan {
  indexed: Where;
  /** For the default order without filters: candidates (id, member_number) from the indexes alone. */
  candidates?: (cursor: { op: '>' | '<'; at: number } | undefined) => Knex.QueryBuilder;
  /** Without filters: the distinct organisations found, at most `cap` from each index (enough to say "more than cap"). */
  countable?: (cap: number) => Knex.QueryBuilder;
  contains?: Where;
}

function range(q: Knex.QueryBuilder, column: string, key: string): Knex.QueryBuilder {
  const upper = prefixUpperBound(key);
  q.where(column, '>=', key);
  if (upper) q.andWhere(column, '<', upper);
  return q;
}

/** undefined: no search; null: nothing can match. */
function planSearch(db: Knex, key: string): SearchPlan | null | undefined {
  if (!key) return undefined;
  if (key.length > MAX_SEARCHABLE) return null;
  const number = parseMemberNumber(key);
  if (number !== undefined || Array.from(key).length < MIN_CONTAINS) {
    return {
      indexed: (q) => q.where((w) => {
        if (number !== undefined) w.orWhere('o.member_number', number);
        w.orWhere((r) => range(r, 'o.name_key', key));
      }),
    };
  }
  const cps = Array.from(key);
  const long = cps.length > WORD_MAX;
  const wordKey = long ? cps.slice(0, WORD_MAX).join('').trimEnd() : key;
  const like = `%${likeEscape(key)}%`;
  const words = () => range(db('organisation_words').select('organisation_id'), 'word', wordKey);
  const contacts = () => db('contacts').select('organisation_id').where((w) => w.where((r) => range(r, 'name_key', key)).orWhere((r) => range(r, 'email', key)));
  const nameOrCityContains = (q: Knex.QueryBuilder) => q.whereRaw("o.name_key like ? escape '\\'", [like]).orWhereRaw("o.city_key like ? escape '\\'", [like]);
  return {
    indexed: (q) => q.where((w) => {
      if (long) w.orWhere((x) => x.whereIn('o.id', words()).andWhere(nameOrCityContains));
      else w.orWhereIn('o.id', words());
      w.orWhereIn('o.id', contacts());
    }),
    candidates: long ? undefined : (cursor) => {
      const fromWords = range(db('organisation_words').select('member_number', 'organisation_id as id'), 'word', wordKey);
      const fromContacts = db('organisations as o2').select('o2.member_number', 'o2.id').whereIn('o2.id', contacts());
      if (cursor) {
        fromWords.andWhere('member_number', cursor.op, cursor.at);
        fromContacts.andWhere('o2.member_number', cursor.op, cursor.at);
      }
      return db.select('x.id', 'x.member_number').from(fromWords.union(fromContacts).as('x'));
    },
    countable: long ? undefined : (cap) => db.select('w.organisation_id').from(words().distinct().limit(cap).as('w'))
      .union(db.select('k.organisation_id').from(contacts().distinct().limit(cap).as('k'))),
    contains: (q) => q.where((w) => {
      nameOrCityContains(w);
      w.orWhereIn('o.id', db('contacts').select('organisation_id').whereRaw("name_key like ? escape '\\'", [like]).orWhereRaw("email like ? escape '\\'", [like]));
    }),
  };
}

function applyFilters(q: Knex.QueryBuilder, f: ListFilter): Knex.QueryBuilder {
  if (f.status === 'current') q.whereIn('o.status', ['active', 'notice_given']);
  else if (f.status) q.where('o.status', f.status);
  if (f.categoryId) q.where('o.category_id', f.categoryId);
  if (f.year) q.whereBetween('o.join_date', [`${f.year}-01-01`, `${f.year}-12-31`]);
  if (f.organisationIds) q.whereIn('o.id', f.organisationIds.clone()); // h/stripe
  return q;
}

const hasFilters = (f: ListFilter) => !!(f.status || f.categoryId || f.year || f.organisationIds);

/** What a list row shows and its cursor needs (o.* would decode 25 columns per row: twice the time). */
export const LIST_COLUMNS = ['o.id', 'o.member_number', 'o.legal_name', 'o.city', 'o.join_date', 'o.status', 'o.exit_date', 'o.category_id'];

/**
 * One page of the register. `knownTotal`: the number of organisations the filter selects
 * when the caller knows it already (the cached census, for filters on status and category
 * only), so that no count query runs.
 */
export async function listOrganisations(
  db: Knex,
  f: ListFilter,
  key: string,
  sort: SortKey,
  dir: 'asc' | 'desc',
  cursor: { after?: string; before?: string },
  opts: { knownTotal?: number } = {},
  pageSize = PAGE_SIZE,
): Promise<ListPage> {
  const plan = planSearch(db, key);
  const empty: ListPage = { rows: [], total: 0, totalCapped: false, nextCursor: null, prevCursor: null, cap: COUNT_CAP };
  if (plan === null) return empty;
  const col = SORT_COLUMN[sort];
  const cap = plan ? SEARCH_COUNT_CAP : COUNT_CAP;

  const after = decodeCursor(cursor.after, sort);
  const before = after ? undefined : decodeCursor(cursor.before, sort);
  const at = after ?? before;
  // Going backwards: reverse the order, take the page, then flip it back.
  const backwards = !!before;
  const asc = (dir === 'asc') !== backwards;
  const op = asc ? '>' : '<';
  const order = asc ? 'asc' : 'desc';
  // the default order without filters: a search's candidates come from the indexes alone
  const byCandidates = sort === 'number' && !hasFilters(f) && !!plan?.candidates;

  const page = async (where: Where | undefined, candidates?: SearchPlan['candidates']): Promise<ListRow[]> => {
    // the columns a row shows, plus the sort key of the cursor; category names come from the
    // settings' cache (each column read costs: a page is 51 rows)
    const q = db('organisations as o').select(...LIST_COLUMNS, ...(sort === 'name' ? ['o.name_key'] : sort === 'city' ? ['o.city_key'] : []));
    if (candidates) {
      const ids = candidates(at ? { op, at: Number(at[0]) } : undefined).orderBy('x.member_number', order).limit(pageSize + 1);
      return q.whereIn('o.id', db.select('p.id').from(ids.as('p'))).orderBy('o.member_number', order);
    }
    applyFilters(q, f);
    where?.(q);
    if (at) {
      if (sort === 'number') q.where('o.member_number', op, at[0]);
      else q.whereRaw(`(${col}, o.id) ${op} (?, ?)`, [at[0], at[1]]);
    }
    if (sort === 'number') q.orderBy('o.member_number', order);
    else q.orderBy([{ column: col, order }, { column: 'o.id', order }]);
    return q.limit(pageSize + 1);
  };
  const count = async (where: Where | undefined, countable?: SearchPlan['countable']): Promise<number> => {
    // found more than `cap` times in one index: more than `cap` in all; else the union is exact
    const inner = countable ? countable(cap + 1) : applyFilters(db('organisations as o').select(db.raw('1')), f);
    if (!countable) where?.(inner.limit(cap + 1));
    const [{ n }] = await db.from(inner.as('c')).count({ n: '*' });
    return Number(n);
  };

  let where = plan?.indexed;
  let candidates = byCandidates ? plan!.candidates : undefined;
  let got = await page(where, candidates);
  // Nothing starts with the term: look for it anywhere. Decided on the whole result, not on
  // this page, so that every page of one search uses the same rule.
  if (!got.length && plan?.contains && (!at || (await count(plan.indexed)) === 0)) {
    where = plan.contains;
    candidates = undefined;
    got = await page(where);
  }
  const more = got.length > pageSize;
  let rows = got.slice(0, pageSize);
  if (backwards) rows = rows.reverse();

  // the first page that is not full holds every hit: nothing to count
  const total = !at && !more ? rows.length
    : !plan && opts.knownTotal !== undefined ? opts.knownTotal
    : await count(where, candidates && plan?.countable);

  const keyOf = (r: ListRow): Cursor => {
    const v = sort === 'number' ? Number(r.member_number) : sort === 'name' ? r.name_key ?? '' : sort === 'city' ? r.city_key ?? '' : r.join_date;
    return [v, Number(r.id)];
  };
  const hasNext = backwards ? true : more;
  const hasPrev = backwards ? more : !!after;
  return {
    rows,
    total: Math.min(total, cap),
    totalCapped: total > cap,
    cap,
    nextCursor: hasNext && rows.length ? encodeCursor(keyOf(rows[rows.length - 1])) : null,
    prevCursor: hasPrev && rows.length ? encodeCursor(keyOf(rows[0])) : null,
  };
}

/**
 * The register's census: organisations per (category, status) and the first and last join
 * date. One pass over the covering index (category_id, status), grouped in index order, so no
 * table rows are read (5–9 ms at 100,000 members), and two index look-ups (join_date, id) for
 * the join years. MembersService caches it: the numbers at a glance, the join-year choices
 * and the total of the list unfiltered or filtered by status and category come from it.
 */
export interface Census {
  groups: { categoryId: number; status: string; n: number }[];
  firstJoin: string | null;
  lastJoin: string | null;
}

export async function readCensus(db: Knex): Promise<Census> {
  const rows = await db('organisations').select('category_id', 'status').count({ n: '*' }).groupBy('category_id', 'status');
  // min() and max() in one query read the whole index on SQLite; each alone is one index look-up
  const first = await db('organisations').orderBy([{ column: 'join_date' }, { column: 'id' }]).first('join_date');
  const last = await db('organisations').orderBy([{ column: 'join_date', order: 'desc' }, { column: 'id', order: 'desc' }]).first('join_date');
  return {
    groups: (rows as { category_id: unknown; status: string; n: unknown }[]).map((r) => ({ categoryId: Number(r.category_id), status: r.status, n: Number(r.n) })), // why: a grouped count: knex types aggregate rows loosely; each field is converted below
    firstJoin: first?.join_date ?? null,
    lastJoin: last?.join_date ?? null,
  };
}

/** Numbers at a glance, from the stored status (kept current by applyDueExits). */
export function registerStats(census: Census, hasVote: (categoryId: number) => boolean): { active: number; voting: number; noticeGiven: number; former: number } {
  const out = { active: 0, voting: 0, noticeGiven: 0, former: 0 };
  for (const g of census.groups) {
    if (g.status === 'former') out.former += g.n;
    else {
      out.active += g.n; // members today: active and those whose notice period is running
      if (hasVote(g.categoryId)) out.voting += g.n;
      if (g.status === 'notice_given') out.noticeGiven += g.n;
    }
  }
  return out;
}

/** The list's total from the census when the filter is on status and category only; else undefined. */
export function censusTotal(census: Census, f: ListFilter): number | undefined {
  if (f.q || f.year || f.organisationIds) return undefined;
  let n = 0;
  for (const g of census.groups) {
    if (f.categoryId && g.categoryId !== f.categoryId) continue;
    if (f.status === 'current' ? g.status !== 'active' && g.status !== 'notice_given' : f.status && g.status !== f.status) continue;
    n += g.n;
  }
  return n;
}

/** A member organisation with its contacts, as an assembly's roll needs it. */
export interface RollMember {
  id: number;
  legalName: string;
  memberNumber: number;
  street: string;
  postcode: string;
  city: string;
  country: string;
  categoryId: number;
  contacts: { name: string; email: string | null; locale: string; isRepresentative: boolean; consentEmailInvitations: boolean }[];
}

/** Members on `day` (joined on or before, not exited before) in one of `categoryIds`, by member number, with their contacts (for assemblies). */
export async function membersOnDay(q: Knex | Knex.Transaction, day: string, categoryIds: number[] | null): Promise<RollMember[]> {
  const orgs: { id: number; legal_name: string; member_number: number; street: string; postcode: string; city: string; country: string; category_id: number }[] = await q('organisations as o')
    .modify((b) => { if (categoryIds) void b.whereIn('o.category_id', categoryIds); }) // null: every category (h/attend)
    .andWhere('o.join_date', '<=', day)
    .andWhere((w) => w.whereNull('o.exit_date').orWhere('o.exit_date', '>=', day))
    .select('o.id', 'o.legal_name', 'o.member_number', 'o.street', 'o.postcode', 'o.city', 'o.country', 'o.category_id')
    .orderBy('o.member_number');
  const ids = orgs.map((o) => Number(o.id));
  const byOrg = new Map<number, RollMember['contacts']>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows: { organisation_id: number; name: string; email: string | null; locale: string; is_representative: boolean | number; consent_email_invitations: boolean | number }[] = await q('contacts')
      .whereIn('organisation_id', ids.slice(i, i + 500)).orderBy([{ column: 'organisation_id' }, { column: 'id' }])
      .select('organisation_id', 'name', 'email', 'locale', 'is_representative', 'consent_email_invitations');
    for (const c of rows) {
      const k = Number(c.organisation_id);
      let list = byOrg.get(k);
      if (!list) byOrg.set(k, (list = []));
      list.push({
        name: c.name, email: c.email, locale: c.locale, isRepresentative: c.is_representative === true || c.is_representative === 1,
        consentEmailInvitations: c.consent_email_invitations === true || c.consent_email_invitations === 1,
      });
    }
  }
  return orgs.map((o) => ({
    id: Number(o.id), legalName: o.legal_name, memberNumber: Number(o.member_number), street: o.street, postcode: o.postcode, city: o.city, country: o.country,
    categoryId: Number(o.category_id),
    contacts: byOrg.get(Number(o.id)) ?? [],
  }));
}

/** The legal names of organisations by id (for lists in other modules). */
export async function legalNames(q: Knex | Knex.Transaction, ids: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows: { id: number; legal_name: string }[] = await q('organisations').whereIn('id', unique.slice(i, i + 500)).select('id', 'legal_name');
    for (const r of rows) out.set(Number(r.id), r.legal_name);
  }
  return out;
}

/** An organisation as an application's duplicate check compares it (see organisationsMatching). */
export interface OrganisationMatch {
  id: number;
  memberNumber: number;
  legalName: string;
  status: string;
  vatId: string;
  nameKey: string;
  postcode: string;
  applicationId: number | null;
}

/** Organisations with one of the VAT IDs or one of the name keys: the candidates of an application's duplicate check. */
export async function organisationsMatching(db: Knex | Knex.Transaction, vatIds: string[], nameKeys: string[]): Promise<OrganisationMatch[]> {
  const cols = ['id', 'member_number', 'legal_name', 'status', 'vat_id', 'name_key', 'postcode', 'application_id'] as const;
  const rows: Pick<OrganisationRow, (typeof cols)[number]>[] = [];
  for (let i = 0; i < vatIds.length; i += 500) rows.push(...(await db('organisations').whereIn('vat_id', vatIds.slice(i, i + 500)).select([...cols])));
  for (let i = 0; i < nameKeys.length; i += 500) rows.push(...(await db('organisations').whereIn('name_key', nameKeys.slice(i, i + 500)).select([...cols])));
  return rows.map((r) => ({
    id: Number(r.id), memberNumber: Number(r.member_number), legalName: String(r.legal_name), status: String(r.status), vatId: String(r.vat_id ?? ''),
    nameKey: String(r.name_key), postcode: String(r.postcode ?? ''), applicationId: r.application_id == null ? null : Number(r.application_id),
  }));
}

/** The organisations with these ids (rows, in no particular order). */
export async function organisationRowsByIds(db: Knex | Knex.Transaction, ids: number[]) {
  const rows = [];
  for (let i = 0; i < ids.length; i += 500) rows.push(...(await db('organisations').whereIn('id', ids.slice(i, i + 500))));
  return rows;
}

// ---- for the dues module (added by the dues work; queries on organisations and contacts live here)

/** Organisations that belong in a year (joined by its end, not left before its start), by member number. */
export function membersOfYearQuery(q: Knex | Knex.Transaction, year: number): Knex.QueryBuilder {
  return q('organisations')
    .where('join_date', '<=', `${year}-12-31`)
    .andWhere((w) => w.whereNull('exit_date').orWhere('exit_date', '>=', `${year}-01-01`))
    .orderBy('member_number');
}

/** The row of one organisation, read with the given connection or transaction. */
export async function organisationRow(q: Knex | Knex.Transaction, id: number) { // the row type is the organisations table's
  return q('organisations').where({ id }).first();
}

/** The contact rows of an organisation by id, read with the given connection or transaction. */
export async function contactRowsById(q: Knex | Knex.Transaction, organisationId: number) { // the row type is the contacts table's
  return q('contacts').where({ organisation_id: organisationId }).orderBy('id');
}

/** Ids of the organisations with at least one contact e-mail address. */
export async function organisationIdsWithEmail(q: Knex | Knex.Transaction): Promise<number[]> {
  return (await q('contacts').where('email', '<>', '').distinct('organisation_id')).map((r: { organisation_id: number }) => Number(r.organisation_id));
}

/** The contacts linked to these user accounts (UsersService reads a signed-in user's organisation through it). */
export async function contactLinksOfUsers(q: Knex | Knex.Transaction, userIds: number[]): Promise<{ userId: number; contactId: number; organisationId: number }[]> {
  if (!userIds.length) return [];
  const rows: { id: number; user_id: number; organisation_id: number }[] = await q('contacts').whereIn('user_id', userIds).select('id', 'user_id', 'organisation_id');
  return rows.map((r) => ({ userId: Number(r.user_id), contactId: Number(r.id), organisationId: Number(r.organisation_id) }));
}
