import type { Knex } from 'knex';

/**
 * The bank page's matching proposals, stored (issue 12, speed): computed when a statement is
 * imported and after each decision on a line, read by the page instead of matching every open
 * credit against every open invoice on each load.
 *
 * - bank_proposals: one row per open incoming credit that has a proposal (the Proposal as JSON:
 *   confidence, reasons, allocations, over/short).
 * - bank_proposal_state: one row (id 1). `generation` goes up with every change the bank makes
 *   to its lines and learned IBANs; the stored proposals are valid while `computed_generation`
 *   equals it and the open invoices' stamp (`invoices_stamp`, from the dues module) is the one
 *   they were computed with (an invoice paid, cancelled or issued elsewhere changes it).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bank_proposals', (t) => {
    t.integer('line_id').primary().references('id').inTable('bank_lines');
    t.string('confidence', 10).notNullable(); // sure | likely | weak
    t.text('proposal').notNullable(); // JSON Proposal
  });
  await knex.schema.createTable('bank_proposal_state', (t) => {
    t.integer('id').primary();
    t.integer('generation').notNullable().defaultTo(0);
    t.integer('computed_generation').nullable();
    t.string('invoices_stamp', 200).nullable();
    t.string('computed_at', 30).nullable();
  });
  await knex('bank_proposal_state').insert({ id: 1, generation: 0, computed_generation: null, invoices_stamp: null, computed_at: null });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bank_proposal_state');
  await knex.schema.dropTable('bank_proposals');
}
