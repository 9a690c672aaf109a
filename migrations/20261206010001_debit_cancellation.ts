import type { Knex } from 'knex';

/**
 * A direct debit that another payment made unnecessary (a card payment on an old Stripe link,
 * a bank transfer) while it was still pending:
 * - `file_downloaded_at`: when its pain.008 was first downloaded (from then on the bank may have it);
 * - `status` `cancelled` with `cancelled_at` / `cancel_reason`: taken out of the collection
 *   (before the file went to the bank, or after the treasurer recalled it there); `active_invoice_id`
 *   is cleared so that the invoice is free for another collection;
 * - `recall_asked_at`: the invoice was paid otherwise after the file was downloaded; the treasurer is asked to recall the debit at the bank.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sepa_debits', (t) => {
    t.string('file_downloaded_at').nullable();
    t.string('cancelled_at').nullable();
    t.string('cancel_reason', 300).notNullable().defaultTo('');
    t.string('recall_asked_at').nullable();
    t.boolean('whole_file_recalled').notNullable().defaultTo(false); // the treasurer recalled the whole submission: the file without it is a new message
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sepa_debits', (t) => {
    t.dropColumn('file_downloaded_at');
    t.dropColumn('cancelled_at');
    t.dropColumn('cancel_reason');
    t.dropColumn('recall_asked_at');
    t.dropColumn('whole_file_recalled');
  });
}
