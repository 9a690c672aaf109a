import type { Knex } from 'knex';

/** Member data: export log (BGH II ZR 219/09), consent records, CSV import previews, GDPR anonymisations. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('export_log', (t) => {
    t.increments('id');
    t.string('at', 30).notNullable();
    t.integer('user_id').nullable().references('users.id');
    t.string('actor_label', 200).notNullable();
    t.string('format', 20).notNullable(); // csv | xlsx | print | gdpr_json
    t.text('filter').notNullable(); // JSON: {q, status, category} or {organisationId}
    t.text('member_ids').nullable(); // JSON array of organisation ids, filled when the export has been written
    t.integer('row_count').notNullable().defaultTo(0);
    t.string('purpose', 500).notNullable().defaultTo('');
    t.string('completed_at', 30).nullable();
    t.index(['at']);
  });

  await knex.schema.createTable('consent_records', (t) => {
    t.increments('id');
    t.integer('contact_id').notNullable().references('contacts.id');
    t.string('kind', 40).notNullable(); // email_invitations | privacy_notice
    t.string('version', 40).notNullable().defaultTo('');
    t.string('given_at', 30).notNullable();
    t.string('withdrawn_at', 30).nullable();
    t.string('source', 60).notNullable(); // application | import | board | portal
    t.string('created_at', 30).notNullable();
    t.index(['contact_id', 'kind']);
  });

  await knex.schema.createTable('import_batches', (t) => {
    t.increments('id');
    t.string('key', 64).notNullable().unique(); // random, in the preview's URL
    t.integer('created_by').nullable().references('users.id');
    t.string('file_name', 255).notNullable();
    t.string('file_hash', 64).notNullable(); // sha256 of the uploaded bytes
    t.string('encoding', 20).notNullable();
    t.string('delimiter', 2).notNullable();
    t.text('rows').notNullable(); // JSON: the parsed rows as previewed
    t.string('status', 20).notNullable(); // previewed | imported
    t.integer('imported_count').nullable();
    t.string('imported_at', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.index(['status', 'created_at']);
  });

  await knex.schema.createTable('gdpr_anonymisations', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().unique().references('organisations.id');
    t.string('at', 30).notNullable();
    t.integer('by_user_id').nullable();
    t.integer('contacts_count').notNullable();
    t.integer('users_disabled').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['gdpr_anonymisations', 'import_batches', 'consent_records', 'export_log']) await knex.schema.dropTableIfExists(t);
}
