/**
 * The rows of the tables the sepa module owns (migrations/20261204020000_sepa_mandates.ts).
 * Only `sepa.repository.ts` queries them; everyone else calls SepaService.
 */

export type MandateScheme = 'CORE' | 'B2B';
export type MandateSource = 'portal' | 'paper' | 'application';
export type SequenceType = 'FRST' | 'RCUR';
export type DebitStatus = 'pending' | 'collected' | 'returned' | 'cancelled';

export interface SepaMandateRow {
  id: number;
  organisation_id: number;
  reference: string;
  scheme: MandateScheme;
  iban: string;
  bic: string;
  holder: string;
  signed_on: string;
  source: MandateSource;
  granted_by_contact_id: number | null;
  last_used_on: string | null;
  first_used: boolean | number;
  revoked_at: string | null;
  revoked_reason: string;
  flag_code: string | null;
  flagged_at: string | null;
  created_by: number | null;
  created_at: string;
  updated_at: string;
}

export interface SepaRunRow {
  id: number;
  due_date: string;
  message_id: string;
  debit_count: number;
  total_cents: number;
  created_by: number | null;
  created_at: string;
}

export interface SepaDebitRow {
  id: number;
  run_id: number;
  mandate_id: number;
  invoice_id: number;
  organisation_id: number;
  invoice_number: string;
  end_to_end_id: string;
  sequence: SequenceType;
  scheme: MandateScheme;
  amount_cents: number;
  due_date: string;
  mandate_reference: string;
  mandate_signed_on: string;
  iban: string;
  bic: string;
  holder: string;
  remittance: string;
  status: DebitStatus;
  payment_id: number | null;
  active_invoice_id: number | null;
  prenotified_at: string | null;
  created_at: string;
  file_downloaded_at: string | null;
  cancelled_at: string | null;
  cancel_reason: string;
  recall_asked_at: string | null;
  whole_file_recalled: boolean | number;
}

export interface SepaReturnRow {
  id: number;
  debit_id: number;
  reason_code: string;
  amount_cents: number;
  fee_cents: number;
  booked_on: string;
  reversal_payment_id: number | null;
  created_by: number | null;
  created_at: string;
}

declare module 'knex/types/tables' {
  interface Tables {
    sepa_mandates: SepaMandateRow;
    sepa_runs: SepaRunRow;
    sepa_debits: SepaDebitRow;
    sepa_returns: SepaReturnRow;
  }
}
