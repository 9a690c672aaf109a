import type { Knex } from 'knex';

/**
 * The daily retention run (GDPR, issue 13): one row per run, with what it did per kind
 * (counts only, never the data). `run_day` is set for the daily run so that two processes
 * never run it twice on the same day (unique); runs started by the admin or the CLI leave it
 * empty.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('retention_runs', (t) => {
    t.increments('id');
    t.string('trigger', 10).notNullable(); // daily | admin | cli
    t.boolean('dry_run').notNullable().defaultTo(false);
    t.string('run_day', 10).nullable().unique();
    t.string('status', 12).notNullable(); // running | done | failed | interrupted
    t.text('counts').notNullable().defaultTo('{}');
    t.string('error', 500).nullable();
    t.string('actor_label', 200).notNullable();
    t.string('started_at', 30).notNullable();
    t.string('finished_at', 30).nullable();
    t.index(['started_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('retention_runs');
}
