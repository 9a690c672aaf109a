import type { Knex } from 'knex';

/**
 * The payment methods the Stripe payment page offers for an invoice (issue 11, h/money2):
 * - invoices.stripe_payment_methods  a comma-separated list (`card,sepa_debit`) of the methods the
 *   Stripe invoice was created with (settings 'stripe'), so its PDF, e-mail and portal page name
 *   exactly those, and an old invoice's PDF stays as it was when the setting changes later.
 *   Null on invoices without a Stripe invoice and on those pushed before this column existed
 *   (their Stripe invoices offered card and SEPA direct debit).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.string('stripe_payment_methods', 200).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.dropColumn('stripe_payment_methods');
  });
}
