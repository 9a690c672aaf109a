import type { Knex } from 'knex';
import { rebuildSearchWords } from '../server/members/members.repository.ts';

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
