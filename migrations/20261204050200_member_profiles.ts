import type { Knex } from 'knex';

/**
 * The public member directory's profiles (issue 16 item 2, first part: the data model and the
 * portal's editing), owned by server/directory/.
 *
 * - member_profiles: one row per member organisation, edited by its contacts in the portal.
 *   status: draft (never shown) → pending (submitted, awaiting the board's approval) →
 *   published; withdrawn (by the organisation, at once; never shown again until approved anew).
 *   fields: JSON array of codes from the network's list of fields of activity.
 *   cooperation_contact_id: the contact that receives cooperation enquiries (never shown).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('member_profiles', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().unique().references('organisations.id');
    t.string('status', 20).notNullable().defaultTo('draft');
    t.text('description_de').notNullable();
    t.text('description_en').notNullable();
    t.text('fields').notNullable(); // JSON array of field codes
    t.string('town', 100).notNullable().defaultTo('');
    t.string('website', 300).notNullable().defaultTo('');
    t.integer('cooperation_contact_id').nullable();
    t.string('submitted_at', 30).nullable();
    t.string('published_at', 30).nullable();
    t.string('withdrawn_at', 30).nullable();
    t.string('updated_at', 30).notNullable();
    t.string('updated_by_label', 200).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.index(['status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('member_profiles');
}
