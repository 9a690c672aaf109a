import type { Knex } from 'knex';

/**
 * Word-start search in the member register (issue 3, "Speed and memory").
 *
 * Searching "contains" (LIKE '%…%') over names, cities and 250,000 contacts cannot use a
 * B-tree index on any database and cost 140–210 ms per search at 100,000 members. A board
 * member types the start of a word of the name or the town ("Oker", "spezial", "zellerfeld"),
 * so the register keeps, per organisation, the rest of its name and of its town from every
 * word start on (lower-cased like name_key, at most 60 characters):
 *
 *   "harzer spezialchemie gmbh", "spezialchemie gmbh", "gmbh", "goslar"
 *
 * A search for a word start (also several words: "spezialchemie gm") is then one index
 * range `word >= 'spezial' AND word < 'speziam'` on this table, portable to PostgreSQL
 * (COLLATE "C", so index order is byte order and the range is exactly the prefix).
 * MembersService writes the rows when it creates an organisation or changes its name or town;
 * member_number is kept here too (it never changes) so that a search's first page in the
 * default order (by member number) is read from the index alone.
 *
 * Existing organisations are filled in here.
 */
export async function up(knex: Knex): Promise<void> {
  const pg = knex.client.config.client === 'pg';
  await knex.schema.createTable('organisation_words', (t) => {
    t.integer('organisation_id').notNullable().references('organisations.id').onDelete('CASCADE');
    t.integer('member_number').notNullable();
    t.string('word', 60).notNullable();
  });
  if (pg) await knex.raw('alter table organisation_words alter column word type varchar(60) collate "C"');
  await knex.schema.alterTable('organisation_words', (t) => {
    t.index(['word', 'member_number', 'organisation_id'], 'organisation_words_word_index');
    t.index(['organisation_id'], 'organisation_words_organisation_index');
  });
  await rebuildSearchWords(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('organisation_words');
}

// ---- the search words, as MembersService wrote them when this migration was written (kept here,
// not imported: a later change to the application must not change what this migration does)

/** organisation_words.word holds at most this many characters of a name or town from a word start. */
const WORD_MAX = 60;

const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

/**
 * The search keys of an organisation's name, town and contacts' names (all already
 * key-normalised): the rest of the text from every word start on, at most WORD_MAX
 * characters. A word starts at the beginning, after a space, and at a letter or digit after
 * anything else ("clausthal-zellerfeld" → "clausthal-zellerfeld", "zellerfeld").
 */
function searchWords(...keys: string[]): string[] {
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
 * Fills organisation_words for every organisation from scratch, contacts' names included.
 * 2,000 organisations at a time, their contacts read as one index range on
 * contacts.organisation_id.
 */
async function rebuildSearchWords(db: Knex | Knex.Transaction): Promise<number> {
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
