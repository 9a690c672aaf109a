import type { Knex } from 'knex';

/** Member organisations, their contacts and their membership history. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('organisations', (t) => {
    t.increments('id');
    t.integer('member_number').notNullable().unique();
    t.string('legal_name', 200).notNullable();
    t.string('legal_form', 60).notNullable().defaultTo('');
    t.string('street', 200).notNullable().defaultTo('');
    t.string('postcode', 20).notNullable().defaultTo('');
    t.string('city', 100).notNullable().defaultTo('');
    t.string('country', 2).notNullable().defaultTo('DE');
    t.string('website', 300).notNullable().defaultTo('');
    t.string('register_entry', 200).notNullable().defaultTo('');
    t.string('vat_id', 20).notNullable().defaultTo('');
    t.string('field_of_activity', 500).notNullable().defaultTo('');
    t.string('employee_band', 10).notNullable().defaultTo('');
    t.integer('category_id').notNullable().references('membership_categories.id');
    t.string('status', 20).notNullable(); // active | notice_given | former
    t.string('join_date', 10).notNullable();
    t.string('exit_date', 10).nullable();
    t.string('exit_reason', 30).nullable();
    t.string('name_key', 200).notNullable(); // lower-case name for search and duplicate checks
    t.integer('application_id').nullable();
    t.text('notes').nullable();
    t.integer('version').notNullable().defaultTo(1);
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['name_key']);
    t.index(['vat_id']);
    t.index(['status']);
    t.index(['postcode']);
  });

  await knex.schema.createTable('contacts', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.string('name', 200).notNullable();
    t.string('email', 254).notNullable().defaultTo('');
    t.string('phone', 60).notNullable().defaultTo('');
    t.string('position', 200).notNullable().defaultTo('');
    t.boolean('is_representative').notNullable().defaultTo(false);
    t.boolean('is_billing').notNullable().defaultTo(false);
    t.string('locale', 5).notNullable().defaultTo('de');
    t.boolean('consent_email_invitations').notNullable().defaultTo(false);
    t.integer('user_id').nullable().references('users.id');
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['organisation_id']);
    t.index(['email']);
  });

  await knex.schema.createTable('membership_history', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.string('effective_date', 10).notNullable();
    t.string('kind', 30).notNullable(); // joined | category_changed | notice_received | exited | reactivated
    t.integer('category_id').nullable();
    t.string('status', 20).nullable();
    t.string('reference', 200).nullable();
    t.text('note').nullable();
    t.integer('created_by').nullable();
    t.string('created_at', 30).notNullable();
    t.index(['organisation_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('membership_history');
  await knex.schema.dropTableIfExists('contacts');
  await knex.schema.dropTableIfExists('organisations');
}
