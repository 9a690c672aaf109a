import type { Knex } from 'knex';

/**
 * The member portal: organisation change requests. A member contact does not edit the
 * organisation's register data directly; the changed fields are stored as a request
 * (field → new value, with the value at request time) that the board approves or rejects.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('organisation_change_requests', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.integer('requested_by_user_id').nullable().references('users.id');
    t.string('requested_by_label', 200).notNullable().defaultTo('');
    t.text('changes').notNullable(); // JSON: field → requested value (only the changed fields)
    t.text('previous').notNullable(); // JSON: field → value at request time
    t.string('status', 20).notNullable().defaultTo('pending'); // pending | approved | rejected | withdrawn
    t.integer('decided_by').nullable().references('users.id');
    t.string('decided_by_label', 200).nullable();
    t.string('decided_at', 30).nullable();
    t.text('decision_note').nullable();
    t.string('created_at', 30).notNullable();
    t.index(['status', 'created_at']);
    t.index(['organisation_id', 'status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('organisation_change_requests');
}
