import type { Knex } from 'knex';

/**
 * Invoices with further items (issue 14, item 5): the form's one-time key, so that a form sent
 * twice (a double click, a reload after a timeout) issues one invoice, not two. Null for
 * invoices of a dues run and for cancellations.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.string('request_key', 64).nullable().unique();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.dropUnique(['request_key']);
    t.dropColumn('request_key');
  });
}
