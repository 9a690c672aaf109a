import type { Knex } from 'knex';

/**
 * Stripe and our books in one state (issue 11, h/stripe):
 * - invoices.stripe_dispute   the status of a dispute (chargeback) on the invoice's payment
 *                             (`needs_response`, `under_review`, `won`, `lost`, …), null: none
 * - invoices.stripe_problem   what the finalize check found (`amount_mismatch`, `no_hosted_page`), null: none
 * - invoices.stripe_amount_cents what Stripe finalized (amount_due), to compare with ours
 * - invoices.push_error       Stripe's message when the invoice could not be created there
 * - invoices.push_error_permanent whether trying again cannot help (a 400), as opposed to an outage
 * - stripe_customers.synced_hash what the customer at Stripe was last given (name, address, e-mail,
 *                             VAT ID, locale), so a change is sent with the next invoice
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invoices', (t) => {
    t.string('stripe_dispute', 40).nullable();
    t.string('stripe_problem', 40).nullable();
    t.integer('stripe_amount_cents').nullable();
    t.string('push_error', 1000).nullable();
    t.boolean('push_error_permanent').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('stripe_customers', (t) => {
    t.string('synced_hash', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('stripe_customers', (t) => {
    t.dropColumn('synced_hash');
  });
  await knex.schema.alterTable('invoices', (t) => {
    t.dropColumn('push_error_permanent');
    t.dropColumn('push_error');
    t.dropColumn('stripe_amount_cents');
    t.dropColumn('stripe_problem');
    t.dropColumn('stripe_dispute');
  });
}
