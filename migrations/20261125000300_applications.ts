import type { Knex } from 'knex';

/** Membership applications (Aufnahmeanträge), their contacts and their conversation. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('applications', (t) => {
    t.increments('id');
    t.string('reference', 20).notNullable().unique(); // shown to the applicant, e.g. A-2026-0007
    t.string('submission_key', 64).notNullable().unique(); // from the form: a double submit creates one application
    t.string('status', 30).notNullable(); // unconfirmed | submitted | info_requested | approved | rejected | withdrawn
    t.string('legal_name', 200).notNullable();
    t.string('legal_form', 60).notNullable();
    t.string('street', 200).notNullable();
    t.string('postcode', 20).notNullable();
    t.string('city', 100).notNullable();
    t.string('country', 2).notNullable();
    t.string('website', 300).notNullable().defaultTo('');
    t.string('register_entry', 200).notNullable().defaultTo('');
    t.string('vat_id', 20).notNullable().defaultTo('');
    t.string('field_of_activity', 500).notNullable();
    t.string('employee_band', 10).notNullable();
    t.integer('category_id').notNullable().references('membership_categories.id');
    t.text('contribution').notNullable(); // what the organisation brings to the network
    t.string('name_key', 200).notNullable();
    t.string('locale', 5).notNullable();
    t.string('consent_bylaws_at', 30).notNullable();
    t.string('consent_privacy_at', 30).notNullable();
    t.string('privacy_version', 40).notNullable();
    t.boolean('consent_email_invitations').notNullable();
    t.string('confirmed_at', 30).nullable();
    t.string('decided_at', 30).nullable();
    t.integer('decided_by').nullable().references('users.id');
    t.string('resolution_ref', 200).nullable();
    t.text('decision_reason').nullable();
    t.integer('organisation_id').nullable().references('organisations.id');
    t.integer('version').notNullable().defaultTo(1);
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['status']);
    t.index(['vat_id']);
    t.index(['name_key', 'postcode']);
  });

  await knex.schema.createTable('application_contacts', (t) => {
    t.increments('id');
    t.integer('application_id').notNullable().references('applications.id').onDelete('CASCADE');
    t.string('role', 20).notNullable(); // representative | billing | other
    t.string('name', 200).notNullable().defaultTo('');
    t.string('email', 254).notNullable();
    t.string('phone', 60).notNullable().defaultTo('');
    t.string('position', 200).notNullable().defaultTo('');
    t.integer('sort_order').notNullable().defaultTo(0);
    t.index(['application_id']);
    t.index(['email']); // a new confirmation link is requested by e-mail address
  });

  await knex.schema.createTable('application_messages', (t) => {
    t.increments('id');
    t.integer('application_id').notNullable().references('applications.id').onDelete('CASCADE');
    t.string('kind', 20).notNullable(); // comment (internal) | question | answer
    t.text('body').notNullable();
    t.integer('author_user_id').nullable().references('users.id');
    t.string('created_at', 30).notNullable();
    t.index(['application_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('application_messages');
  await knex.schema.dropTableIfExists('application_contacts');
  await knex.schema.dropTableIfExists('applications');
}
