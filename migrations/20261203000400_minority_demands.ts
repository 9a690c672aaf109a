import type { Knex } from 'knex';

/**
 * The minority's demand for a general assembly (§ 37 BGB), issue 10 item 7.
 *
 * - minority_demands: a member organisation's demand, in Textform through the portal, stating
 *   purpose and reasons. status: open → linked (the board tied it to an assembly and its agenda
 *   items; "erfüllt" once that assembly's invitation is sent) or rejected (with the reason).
 *   reached_at is set once, when the supporters first reached the threshold (the board was told).
 * - minority_demand_supports: one row per demand and member ORGANISATION (the threshold counts
 *   members, not contacts); withdrawn_at is set while the support is withdrawn, cleared when the
 *   organisation supports again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('minority_demands', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.integer('contact_id').nullable();
    t.integer('user_id').nullable();
    t.string('actor_label', 200).notNullable();
    t.string('purpose', 500).notNullable();
    t.text('reasons').notNullable();
    t.string('status', 20).notNullable().defaultTo('open');
    t.string('reached_at', 30).nullable();
    t.integer('assembly_id').nullable().references('assemblies.id');
    t.text('agenda_item_ids').nullable(); // JSON: the agenda items that carry the demand's purpose
    t.text('rejection_reason').nullable();
    t.integer('decided_by').nullable();
    t.string('decided_by_label', 200).nullable();
    t.string('decided_at', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.index(['status']);
  });

  await knex.schema.createTable('minority_demand_supports', (t) => {
    t.increments('id');
    t.integer('demand_id').notNullable().references('minority_demands.id').onDelete('CASCADE');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.integer('contact_id').nullable();
    t.integer('user_id').nullable();
    t.string('actor_label', 200).notNullable();
    t.string('created_at', 30).notNullable();
    t.string('withdrawn_at', 30).nullable();
    t.unique(['demand_id', 'organisation_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('minority_demand_supports');
  await knex.schema.dropTableIfExists('minority_demands');
}
