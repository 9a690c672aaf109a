import type { Knex } from 'knex';
import { rebuildSearchWords, searchWords } from '../server/members/members.repository.ts';

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
