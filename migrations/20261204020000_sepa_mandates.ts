import type { Knex } from 'knex';

/**
 * SEPA direct debits (issue 12, items 3–5): the members' mandates, the collections the
 * treasurer creates (one row per run, its due date), each debit of a run (one invoice, one
 * mandate, a unique end-to-end id), and the returns (R-transactions) entered against a debit.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sepa_mandates', (t) => {
    t.increments('id');
    t.integer('organisation_id').notNullable().references('id').inTable('organisations');
    t.string('reference', 35).notNullable().unique();
    t.string('scheme', 4).notNullable(); // CORE | B2B
    t.string('iban', 34).notNullable();
    t.string('bic', 11).notNullable().defaultTo('');
    t.string('holder', 70).notNullable();
    t.string('signed_on', 10).notNullable();
    t.string('source', 12).notNullable(); // portal | paper | application
    t.integer('granted_by_contact_id').nullable();
    /** the due date of the last collection with it (FRST once, then RCUR) */
    t.string('last_used_on', 10).nullable();
    t.boolean('first_used').notNullable().defaultTo(false);
    t.string('revoked_at', 30).nullable();
    t.string('revoked_reason', 300).notNullable().defaultTo('');
    /** a return with a refusal (MD06, MD01, SL01, MS02 …) flags it; it is then not used until the board clears it */
    t.string('flag_code', 4).nullable();
    t.string('flagged_at', 30).nullable();
    t.integer('created_by').nullable();
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['organisation_id']);
  });
  await knex.schema.createTable('sepa_runs', (t) => {
    t.increments('id');
    t.string('due_date', 10).notNullable();
    t.string('message_id', 35).notNullable().unique();
    t.integer('debit_count').notNullable();
    t.bigInteger('total_cents').notNullable();
    t.integer('created_by').nullable();
    t.string('created_at', 30).notNullable();
    t.index(['due_date']);
  });
  await knex.schema.createTable('sepa_debits', (t) => {
    t.increments('id');
    t.integer('run_id').notNullable().references('id').inTable('sepa_runs');
    t.integer('mandate_id').notNullable().references('id').inTable('sepa_mandates');
    t.integer('invoice_id').notNullable();
    t.integer('organisation_id').notNullable();
    t.string('invoice_number', 40).notNullable();
    t.string('end_to_end_id', 35).notNullable().unique();
    t.string('sequence', 4).notNullable(); // FRST | RCUR
    t.string('scheme', 4).notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.string('due_date', 10).notNullable();
    t.string('mandate_reference', 35).notNullable();
    t.string('mandate_signed_on', 10).notNullable();
    t.string('iban', 34).notNullable();
    t.string('bic', 11).notNullable().defaultTo('');
    t.string('holder', 70).notNullable();
    t.string('remittance', 140).notNullable();
    t.string('status', 10).notNullable(); // pending | collected | returned
    /** the "Lastschrift" payment booked on the invoice at the due date */
    t.integer('payment_id').nullable();
    /** while pending or collected and not returned: one debit per invoice (UNIQUE) */
    t.integer('active_invoice_id').nullable().unique();
    t.string('prenotified_at', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.index(['run_id']);
    t.index(['invoice_id']);
    t.index(['status', 'due_date']);
  });
  await knex.schema.createTable('sepa_returns', (t) => {
    t.increments('id');
    t.integer('debit_id').notNullable().unique().references('id').inTable('sepa_debits');
    t.string('reason_code', 4).notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.bigInteger('fee_cents').notNullable().defaultTo(0);
    t.string('booked_on', 10).notNullable();
    t.integer('reversal_payment_id').nullable();
    t.integer('created_by').nullable();
    t.string('created_at', 30).notNullable();
    t.index(['booked_on']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sepa_returns');
  await knex.schema.dropTable('sepa_debits');
  await knex.schema.dropTable('sepa_runs');
  await knex.schema.dropTable('sepa_mandates');
}
