import type { Knex } from 'knex';

/**
 * Jobs that try again later (issue 11, h/money2: the Stripe customer updated when a member's
 * billing data change, retried while Stripe is unreachable):
 * - jobs.run_after  a queued job is not started before this instant (UTC ISO); null: at once
 * - jobs.attempts   how many runs ended with "try again later"
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('jobs', (t) => {
    t.string('run_after', 30).nullable();
    t.integer('attempts').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('jobs', (t) => {
    t.dropColumn('attempts');
    t.dropColumn('run_after');
  });
}
