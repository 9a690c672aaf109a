import type { Knex } from 'knex';

/**
 * E-invoices (issue 14): an invoice's lines (a taxable line with its VAT rate, or the one dues
 * line when null) and the buyer's e-invoice data at issue (the form: hybrid PDF / XRechnung /
 * both, the Leitweg-ID, a SEPA mandate), both JSON; on the organisation whether it is a public
 * body, its Leitweg-ID and the form its invoices take.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.text('lines').nullable();
    t.text('einvoice').nullable();
  });
  await knex.schema.alterTable('organisations', (t) => {
    t.boolean('public_body').notNullable().defaultTo(false);
    t.string('leitweg_id', 46).notNullable().defaultTo('');
    t.string('einvoice_format', 12).notNullable().defaultTo('hybrid');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organisations', (t) => {
    t.dropColumn('einvoice_format');
    t.dropColumn('leitweg_id');
    t.dropColumn('public_body');
  });
  await knex.schema.alterTable('invoices', (t) => {
    t.dropColumn('einvoice');
    t.dropColumn('lines');
  });
}
