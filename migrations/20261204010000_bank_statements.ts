import type { Knex } from 'knex';

/**
 * The association's own bank account (issue 12): imported statements, their booking lines
 * (each stored once: `dedup_key` is unique, the bank's entry reference or else a hash of
 * account, date, amount, counterparty and text), the bookings of a line onto invoices
 * (one row per invoice, linked to the dues payment and, after an undo, to its reversal),
 * the payer IBANs learned from confirmed bookings, and the remembered CSV column mappings.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('bank_statements', (t) => {
    t.increments('id');
    t.string('account_iban', 34).notNullable();
    t.string('statement_ref', 140).notNullable().defaultTo('');
    t.string('format', 30).notNullable(); // camt.053.001.02 | camt.053.001.08 | csv-sparkasse | csv-volksbank | csv-deutsche-bank | csv-mapping
    t.string('file_name', 255).notNullable().defaultTo('');
    t.string('from_date', 10).nullable();
    t.string('to_date', 10).nullable();
    t.integer('line_count').notNullable().defaultTo(0);
    t.integer('new_count').notNullable().defaultTo(0);
    t.integer('imported_by').nullable();
    t.string('imported_at', 30).notNullable();
    t.index(['imported_at']);
  });
  await knex.schema.createTable('bank_lines', (t) => {
    t.increments('id');
    t.integer('statement_id').notNullable().references('id').inTable('bank_statements');
    t.string('dedup_key', 200).notNullable().unique();
    t.string('account_iban', 34).notNullable();
    t.string('booking_date', 10).notNullable();
    t.string('value_date', 10).nullable();
    t.bigInteger('amount_cents').notNullable(); // credit positive, debit negative
    t.string('currency', 3).notNullable().defaultTo('EUR');
    t.string('counterparty_name', 200).notNullable().defaultTo('');
    t.string('counterparty_iban', 34).notNullable().defaultTo('');
    t.string('remittance', 1000).notNullable().defaultTo('');
    t.string('booking_text', 200).notNullable().defaultTo('');
    t.string('entry_ref', 140).nullable();
    t.string('end_to_end_id', 140).nullable();
    t.string('bank_tx_code', 60).notNullable().defaultTo('');
    t.boolean('is_reversal').notNullable().defaultTo(false);
    t.boolean('is_return').notNullable().defaultTo(false);
    t.string('return_reason', 10).nullable();
    t.string('status', 12).notNullable().defaultTo('open'); // open | booked | not_dues
    t.string('note', 500).notNullable().defaultTo('');
    t.integer('organisation_id').nullable();
    t.string('created_at', 30).notNullable();
    t.string('decided_at', 30).nullable();
    t.integer('decided_by').nullable();
    t.index(['status', 'booking_date']);
    t.index(['organisation_id']);
  });
  await knex.schema.createTable('bank_allocations', (t) => {
    t.increments('id');
    t.integer('line_id').notNullable().references('id').inTable('bank_lines');
    t.integer('invoice_id').notNullable();
    t.integer('organisation_id').notNullable();
    t.integer('payment_id').notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.integer('reversal_payment_id').nullable();
    t.string('created_at', 30).notNullable();
    t.integer('created_by').nullable();
    t.string('undone_at', 30).nullable();
    t.index(['line_id']);
    t.index(['organisation_id']);
  });
  await knex.schema.createTable('bank_payer_ibans', (t) => {
    t.string('iban', 34).primary();
    t.integer('organisation_id').notNullable();
    t.integer('source_line_id').nullable();
    t.string('learned_at', 30).notNullable();
  });
  await knex.schema.createTable('bank_csv_mappings', (t) => {
    t.increments('id');
    t.string('header_signature', 64).notNullable().unique();
    t.text('mapping').notNullable(); // JSON CsvMapping
    t.string('updated_at', 30).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['bank_csv_mappings', 'bank_payer_ibans', 'bank_allocations', 'bank_lines', 'bank_statements']) await knex.schema.dropTable(t);
}
