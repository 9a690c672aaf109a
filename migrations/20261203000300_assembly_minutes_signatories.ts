import type { Knex } from 'knex';

/**
 * The minutes with who chaired and who wrote them, the day they were signed, and their
 * corrections (issue 10, item 6); elections with a result per candidate (issue 10, item 1).
 *
 * - assembly_minutes: chair and minute-taker (names, usually from the attendance), the day of
 *   signing, and when corrected minutes were last sent.
 * - assembly_minutes_amendments: once the minutes are sent they change only by an amendment with
 *   a reason (before and after as JSON); sent_at: when it went out with corrected minutes.
 * - assembly_resolution_amendments.sent_at: likewise for corrected results.
 * - assembly_resolutions.candidates: for an election, JSON {round, candidates: [{name, votes}],
 *   lotWinner}; the yes/no columns then hold the best candidate's votes and the others'.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('assembly_minutes', (t) => {
    t.string('chair_name', 200).notNullable().defaultTo('');
    t.string('minute_taker_name', 200).notNullable().defaultTo('');
    t.string('signed_on', 10).nullable();
    t.string('corrected_sent_at', 30).nullable();
  });
  await knex.schema.createTable('assembly_minutes_amendments', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.text('before_values').notNullable();
    t.text('after_values').notNullable();
    t.text('reason').notNullable();
    t.integer('user_id').nullable();
    t.string('actor_label', 200).notNullable();
    t.string('created_at', 30).notNullable();
    t.string('sent_at', 30).nullable();
    t.index(['assembly_id']);
  });
  await knex.schema.alterTable('assembly_resolution_amendments', (t) => {
    t.string('sent_at', 30).nullable();
  });
  await knex.schema.alterTable('assembly_resolutions', (t) => {
    t.text('candidates').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('assembly_resolutions', (t) => t.dropColumn('candidates'));
  await knex.schema.alterTable('assembly_resolution_amendments', (t) => t.dropColumn('sent_at'));
  await knex.schema.dropTableIfExists('assembly_minutes_amendments');
  await knex.schema.alterTable('assembly_minutes', (t) => {
    for (const c of ['chair_name', 'minute_taker_name', 'signed_on', 'corrected_sent_at']) t.dropColumn(c);
  });
}
