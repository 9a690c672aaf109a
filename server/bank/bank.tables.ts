/** Row types of the tables the bank module owns (migrations/20261204010000_bank_statements.ts, see server/db/ownership.ts). */

/** `returned`: a returned direct debit whose return the SEPA module booked (sepa_return_id). */
export type BankLineStatus = 'open' | 'booked' | 'not_dues' | 'returned';

export interface BankStatementRow {
  id: number;
  account_iban: string;
  statement_ref: string;
  format: string;
  file_name: string;
  from_date: string | null;
  to_date: string | null;
  line_count: number;
  new_count: number;
  imported_by: number | null;
  imported_at: string;
}

export interface BankLineRow {
  id: number;
  statement_id: number;
  dedup_key: string;
  account_iban: string;
  booking_date: string;
  value_date: string | null;
  /** credit positive, debit negative */
  amount_cents: number | string;
  currency: string;
  counterparty_name: string;
  counterparty_iban: string;
  remittance: string;
  booking_text: string;
  entry_ref: string | null;
  end_to_end_id: string | null;
  bank_tx_code: string;
  is_reversal: boolean | number;
  is_return: boolean | number;
  return_reason: string | null;
  status: BankLineStatus;
  note: string;
  organisation_id: number | null;
  created_at: string;
  decided_at: string | null;
  decided_by: number | null;
  /** the SEPA return booked from this line (status `returned`) */
  sepa_return_id: number | null;
}

export interface BankAllocationRow {
  id: number;
  line_id: number;
  invoice_id: number;
  organisation_id: number;
  payment_id: number;
  amount_cents: number | string;
  reversal_payment_id: number | null;
  created_at: string;
  created_by: number | null;
  undone_at: string | null;
}

export interface BankPayerIbanRow {
  iban: string;
  organisation_id: number;
  source_line_id: number | null;
  learned_at: string;
}

export interface BankCsvMappingRow {
  id: number;
  header_signature: string;
  mapping: string;
  updated_at: string;
}

export interface BankProposalRow {
  line_id: number;
  confidence: string;
  /** JSON Proposal */
  proposal: string;
}

export interface BankProposalStateRow {
  id: number;
  generation: number;
  computed_generation: number | null;
  invoices_stamp: string | null;
  computed_at: string | null;
}

declare module 'knex/types/tables' {
  interface Tables {
    bank_statements: BankStatementRow;
    bank_lines: BankLineRow;
    bank_allocations: BankAllocationRow;
    bank_payer_ibans: BankPayerIbanRow;
    bank_csv_mappings: BankCsvMappingRow;
    bank_proposals: BankProposalRow;
    bank_proposal_state: BankProposalStateRow;
  }
}
