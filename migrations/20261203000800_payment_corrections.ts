import type { Knex } from 'knex';

/**
 * Payment corrections (issue 11, item 2): a payment booked wrongly is never deleted or edited;
 * it is reversed by a booking of its own, linked to it, with the reason. Overpaid money is
 * either refunded (recorded) or carried over as a credit to the member's next invoice.
 *
 * payments.kind:
 * - payment   money received (bank or Stripe), positive
 * - reversal  the counter-booking of one payment (negative, `reverses_payment_id`, reason); a
 *             payment has at most one (UNIQUE: NULLs many times on SQLite and PostgreSQL alike)
 * - refund    overpaid money paid back to the member (negative), or a Stripe refund
 * - credit_out overpaid money carried over, taken off this invoice (negative)
 * - credit_in  that credit put onto a later invoice of the same member (positive, `credit_from_payment_id`)
 * Existing negative rows are Stripe refunds.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payments', (t) => {
    t.string('kind', 20).notNullable().defaultTo('payment');
    t.integer('reverses_payment_id').nullable().unique().references('payments.id');
    t.integer('credit_from_payment_id').nullable().references('payments.id');
    t.string('reason', 300).notNullable().defaultTo('');
  });
  await knex('payments').where('amount_cents', '<', 0).update({ kind: 'refund' });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payments', (t) => {
    t.dropColumn('reason');
    t.dropColumn('credit_from_payment_id');
    t.dropColumn('reverses_payment_id');
    t.dropColumn('kind');
  });
}
