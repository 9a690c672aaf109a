import type { Knex } from 'knex';

/**
 * Search by a contact's last name in the member register.
 *
 * organisation_words (migration 20261125001100) held the word starts of an organisation's name
 * and town only; a contact was found by the start of its whole name ("jürgen übel") or e-mail
 * address. A board member looking for "Übel" or "Müller" therefore fell back to the "contains"
 * scan over all organisations and contacts (about 75 ms at 100,000 members and 250,000
 * contacts). From now on every word start of every contact's name key is kept there too, for
 * the contact's organisation ("jürgen übel", "übel"), and MembersService / GdprService rewrite
 * an organisation's words whenever one of its contacts is added, renamed, removed or
 * anonymised (refreshSearchWords).
 *
 * Existing organisations are filled in here, from scratch. The indexes are dropped while the
 * rows are written and built again afterwards: one sort instead of a million scattered index
 * inserts.
 */
export async function up(knex: Knex): Promise<void> {
  await dropIndexes(knex);
  await rebuildSearchWords(knex);
  await createIndexes(knex);
  // the search's look-up of contacts by the start of their name or e-mail address reads the
  // organisation from the index instead of from each contact's row (a common first name starts
  // thousands of generated addresses: 12 ms instead of well under one)
  await knex.schema.alterTable('contacts', (t) => {
    t.index(['email', 'organisation_id'], 'contacts_email_organisation_index');
    t.index(['name_key', 'organisation_id'], 'contacts_name_key_organisation_index');
  });
}

/** Back to the name and town words only (what 20261125001100 wrote). */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('contacts', (t) => {
    t.dropIndex(['email', 'organisation_id'], 'contacts_email_organisation_index');
    t.dropIndex(['name_key', 'organisation_id'], 'contacts_name_key_organisation_index');
  });
  await dropIndexes(knex);
  await knex('organisation_words').delete();
  let after = 0;
  for (;;) {
    const orgs = await knex('organisations').where('id', '>', after).orderBy('id').limit(2000).select('id', 'member_number', 'name_key', 'city_key');
    if (!orgs.length) break;
    const rows = orgs.flatMap((o) => searchWords(String(o.name_key ?? ''), String(o.city_key ?? '')).map((word) => ({ organisation_id: Number(o.id), member_number: Number(o.member_number), word })));
    for (let k = 0; k < rows.length; k += 400) await knex('organisation_words').insert(rows.slice(k, k + 400));
    after = Number(orgs[orgs.length - 1].id);
  }
  await createIndexes(knex);
}

async function dropIndexes(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organisation_words', (t) => {
    t.dropIndex(['word', 'member_number', 'organisation_id'], 'organisation_words_word_index');
    t.dropIndex(['organisation_id'], 'organisation_words_organisation_index');
  });
}

async function createIndexes(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organisation_words', (t) => {
    t.index(['word', 'member_number', 'organisation_id'], 'organisation_words_word_index');
    t.index(['organisation_id'], 'organisation_words_organisation_index');
  });
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
