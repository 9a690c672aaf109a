import type { Knex } from 'knex';

/**
 * The member register's search and paging keys.
 *
 * Search is case-insensitive through lower-cased key columns (organisations.name_key exists,
 * city_key and contacts.name_key are new; contacts.email is stored lower-case), so no
 * dialect-specific COLLATE NOCASE / ILIKE is needed. Prefix searches are written as ranges
 * (`name_key >= 'abc' AND name_key < 'abd'`), which use a plain B-tree index on SQLite
 * (BINARY collation) and on PostgreSQL, where these columns get COLLATE "C" so that the
 * index order is byte order and a range is exactly a prefix. (SQLite uses an index for
 * `LIKE 'abc%'` only when the index is COLLATE NOCASE and case_sensitive_like is off;
 * PostgreSQL only with a text_pattern_ops or "C" index: the range works everywhere.)
 *
 * The composite indexes (key, id) serve keyset pagination for each sort order of the list.
 * organisations.exit_reference keeps the resolution reference of an exclusion;
 * contacts.version gives contacts the same optimistic locking as organisations.
 */
export async function up(knex: Knex): Promise<void> {
  const pg = knex.client.config.client === 'pg';

  await knex.schema.alterTable('organisations', (t) => {
    t.string('city_key', 100).notNullable().defaultTo('');
    t.string('exit_reference', 200).nullable(); // the board resolution of an exclusion
  });
  await knex.schema.alterTable('contacts', (t) => {
    t.string('name_key', 200).notNullable().defaultTo('');
    t.integer('version').notNullable().defaultTo(1);
  });

  if (pg) {
    await knex.raw('alter table organisations alter column name_key type varchar(200) collate "C"');
    await knex.raw('alter table organisations alter column city_key type varchar(100) collate "C"');
    await knex.raw('alter table contacts alter column name_key type varchar(200) collate "C"');
    await knex.raw('alter table contacts alter column email type varchar(254) collate "C"');
  }

  // Fill the new key columns for rows that exist already (the same normalisation as nameKey()).
  const key = (s: string) => String(s ?? '').normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
  for (const r of await knex('organisations').select('id', 'city')) {
    await knex('organisations').where({ id: r.id }).update({ city_key: key(r.city) });
  }
  for (const r of await knex('contacts').select('id', 'name')) {
    await knex('contacts').where({ id: r.id }).update({ name_key: key(r.name) });
  }

  await knex.schema.alterTable('organisations', (t) => {
    t.index(['name_key', 'id'], 'organisations_name_key_id_index');
    t.index(['city_key', 'id'], 'organisations_city_key_id_index');
    t.index(['join_date', 'id'], 'organisations_join_date_id_index');
    t.index(['status', 'exit_date'], 'organisations_status_exit_date_index');
    t.index(['category_id', 'status'], 'organisations_category_status_index');
  });
  await knex.schema.alterTable('contacts', (t) => {
    t.index(['name_key'], 'contacts_name_key_index');
  });
  await knex.schema.alterTable('membership_history', (t) => {
    t.index(['organisation_id', 'effective_date'], 'membership_history_org_date_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('membership_history', (t) => {
    t.dropIndex(['organisation_id', 'effective_date'], 'membership_history_org_date_index');
  });
  await knex.schema.alterTable('contacts', (t) => {
    t.dropIndex(['name_key'], 'contacts_name_key_index');
  });
  await knex.schema.alterTable('organisations', (t) => {
    t.dropIndex(['name_key', 'id'], 'organisations_name_key_id_index');
    t.dropIndex(['city_key', 'id'], 'organisations_city_key_id_index');
    t.dropIndex(['join_date', 'id'], 'organisations_join_date_id_index');
    t.dropIndex(['status', 'exit_date'], 'organisations_status_exit_date_index');
    t.dropIndex(['category_id', 'status'], 'organisations_category_status_index');
  });
  await knex.schema.alterTable('contacts', (t) => {
    t.dropColumn('name_key');
    t.dropColumn('version');
  });
  await knex.schema.alterTable('organisations', (t) => {
    t.dropColumn('city_key');
    t.dropColumn('exit_reference');
  });
}
