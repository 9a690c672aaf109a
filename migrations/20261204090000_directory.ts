import type { Knex } from 'knex';

/**
 * The network's public directory (issue 16 items 2 and 3).
 *
 * - directory_profiles: one per member organisation, edited by its contacts in the portal. The
 *   draft columns are what the contacts typed; `published` is the JSON snapshot the board approved,
 *   the only thing the public pages and exports read (withdrawing clears it at once). review_status:
 *   draft → pending (submitted) → approved / rejected (with the board's note). The slug is set once
 *   and never changes, so a profile's URL is stable.
 * - directory_logos: the uploaded logos, re-encoded as PNG (never the uploaded bytes).
 * - directory_enquiries: one row per enquiry sent through the public form: which member, when, and
 *   a keyed hash of the sender's address for the rate limit; never the content (that is in the mail).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('directory_logos', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.binary('content').notNullable();
    t.integer('width').notNullable();
    t.integer('height').notNullable();
    t.integer('bytes').notNullable();
    t.string('sha256', 64).notNullable();
    t.string('created_at', 30).notNullable();
  });

  await knex.schema.createTable('directory_profiles', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().unique().references('organisations.id');
    t.string('slug', 120).notNullable().unique();
    t.text('description_de').notNullable().defaultTo('');
    t.text('description_en').notNullable().defaultTo('');
    t.text('fields').notNullable().defaultTo('[]'); // JSON: keys of the network's fields of activity
    t.string('town', 100).notNullable().defaultTo('');
    t.string('website', 300).notNullable().defaultTo('');
    t.integer('contact_id').nullable();
    t.integer('logo_id').nullable().references('directory_logos.id');
    t.string('review_status', 20).notNullable().defaultTo('draft');
    t.text('review_note').nullable();
    t.string('submitted_at', 30).nullable();
    t.text('published').nullable(); // JSON snapshot of the approved profile
    t.string('published_at', 30).nullable();
    t.string('withdrawn_at', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.index(['review_status']);
  });

  await knex.schema.createTable('directory_enquiries', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.string('source_hash', 64).notNullable();
    t.integer('mail_message_id').nullable();
    t.string('created_at', 30).notNullable();
    t.index(['source_hash', 'created_at']);
    t.index(['organisation_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('directory_enquiries');
  await knex.schema.dropTableIfExists('directory_profiles');
  await knex.schema.dropTableIfExists('directory_logos');
}
