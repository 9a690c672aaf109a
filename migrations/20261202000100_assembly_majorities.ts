import type { Knex } from 'knex';

/**
 * Majorities by the law and the bylaws (§§ 32, 33, 41 BGB), issue 10.
 *
 * Agenda items may now also be of kind purpose_change and dissolution (the kind column is a
 * string(20): no change needed). A recorded result now keeps, besides yes/no/abstain:
 * - the invalid votes, and, for a change of purpose, the written consents of absent members;
 * - what it was checked against when it was recorded: the votes present (own and by proxy),
 *   the number of voting members, whether the assembly was quorate, and the majority rule that
 *   applied (JSON, so a later change of the settings does not rewrite a recorded result);
 * - a version, bumped on every save, so a second board member saving from an older page is told
 *   that the record changed.
 * Once the minutes are sent a result is changed only by an amendment with a reason, kept in
 * assembly_resolution_amendments (before and after as JSON).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('assembly_resolutions', (t) => {
    t.integer('invalid_votes').notNullable().defaultTo(0);
    t.integer('absent_consents').notNullable().defaultTo(0);
    t.integer('votes_present').nullable();
    t.integer('voting_members').nullable();
    t.boolean('quorate').nullable();
    t.text('majority_rule').nullable();
    t.integer('version').notNullable().defaultTo(1);
  });

  await knex.schema.createTable('assembly_resolution_amendments', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.integer('agenda_item_id').notNullable().references('assembly_agenda_items.id').onDelete('CASCADE');
    t.text('before_values').notNullable(); // JSON: the counts as they were
    t.text('after_values').notNullable(); // JSON: the counts as amended
    t.text('reason').notNullable();
    t.integer('user_id').nullable();
    t.string('actor_label', 200).notNullable();
    t.string('created_at', 30).notNullable();
    t.index(['assembly_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('assembly_resolution_amendments');
  await knex.schema.alterTable('assembly_resolutions', (t) => {
    for (const c of ['invalid_votes', 'absent_consents', 'votes_present', 'voting_members', 'quorate', 'majority_rule', 'version']) t.dropColumn(c);
  });
}
