import type { Knex } from 'knex';

/**
 * A returned direct debit in a statement, once the SEPA module has booked the return
 * (h/bank2): the line leaves the queue with status `returned` and names the return
 * (bank_lines.sepa_return_id, the id of sepa_returns; no foreign key across modules).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('bank_lines', (t) => {
    t.integer('sepa_return_id').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('bank_lines', (t) => {
    t.dropColumn('sepa_return_id');
  });
}
