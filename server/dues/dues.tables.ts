/**
 * The rows of the tables the dues module owns (migrations/20261125000700_dues.ts), declared
 * to knex so that a query on one of them returns typed rows and a misspelt column fails the
 * typecheck. Booleans come back as 0/1 from SQLite and true/false from PostgreSQL; instants
 * are ISO strings, dates 'YYYY-MM-DD'. Only the dues repositories (`*.repository.ts` in this
 * folder) query these tables.
 */

/** The states an invoice is stored in. */
export type InvoiceStatus = 'open' | 'paid' | 'partially_paid' | 'cancelled' | 'uncollectible' | 'void';
export type InvoiceKind = 'invoice' | 'cancellation';

/** A fee schedule entry: one category's fee rule for a year, frozen. */
export interface FeeScheduleRow {
  id: number;
  year: number;
  category_id: number;
  category_name_de: string;
  category_name_en: string;
  /** JSON FeeRule, as it was when frozen */
  rule: string;
  pro_rata: 'monthly' | 'full_year';
  created_by: number | null;
  created_at: string;
}

/** A dues run: the job that issues a year's invoices. */
export interface DuesRunRow {
  id: number;
  year: number;
  job_id: number;
  created_by: number | null;
  created_at: string;
}

/** An invoice or cancellation invoice with the snapshot of both parties at issue. */
export interface InvoiceRow {
  id: number;
  /** 2027-0001 */
  number: string;
  year: number;
  kind: InvoiceKind;
  cancels_invoice_id: number | null;
  cancelled_by_invoice_id: number | null;
  /** `${year}-${organisationId}` while the dues invoice counts (UNIQUE) */
  dues_key: string | null;
  organisation_id: number;
  member_number: number;
  dues_run_id: number | null;
  category_id: number | null;
  recipient_name: string;
  recipient_street: string;
  recipient_postcode: string;
  recipient_city: string;
  recipient_country: string;
  recipient_vat_id: string;
  contact_name: string;
  contact_email: string;
  /** JSON IssuerSnapshot */
  issuer: string;
  description: string;
  pro_rata_note: string;
  tax_note: string;
  period_start: string;
  period_end: string;
  /** negative on a cancellation invoice */
  amount_cents: number;
  issue_date: string;
  due_date: string;
  status: InvoiceStatus;
  paid_cents: number;
  locale: string;
  stripe_customer_id: string | null;
  stripe_invoice_id: string | null;
  hosted_invoice_url: string | null;
  stripe_state: string | null;
  reminder_level: number;
  last_reminder_at: string | null;
  reminders_stopped: boolean | number;
  /** when the invoice e-mail was put into the outbox */
  mailed_at: string | null;
  created_by: number | null;
  created_at: string;
  updated_at: string;
  // h/stripe: Stripe and our books in one state (migrations/20261204070000_stripe_state_sync.ts)
  stripe_dispute: string | null;
  stripe_problem: string | null;
  stripe_amount_cents: number | null;
  push_error: string | null;
  push_error_permanent: boolean | number;
  /** h/money2: the methods the Stripe invoice offers, comma-separated (migrations/20261205020001_invoice_payment_methods.ts) */
  stripe_payment_methods: string | null;
  // h/einvoice (migrations/20261204030000_einvoice.ts)
  /** JSON EInvoiceLine[]; null = the one dues line from description and amount */
  lines: string | null;
  /** JSON InvoiceEInvoice (format, Leitweg-ID, mandate); null = hybrid PDF, none */
  einvoice: string | null;
  /** the one-time key of the form that issued an invoice with further items (migrations/20261205010001_invoice_request_key.ts) */
  request_key?: string | null;
}

/** A payment against an invoice: a bank transfer, a Stripe payment, or (negative) a Stripe refund. */
export interface PaymentRow {
  id: number;
  invoice_id: number;
  date: string;
  amount_cents: number;
  method: 'bank' | 'stripe';
  reference: string;
  stripe_ref: string | null;
  overpayment: boolean | number;
  created_by: number | null;
  created_at: string;
  // h/money: corrections (migrations/20261203000800_payment_corrections.ts)
  kind: PaymentKind;
  reverses_payment_id: number | null;
  credit_from_payment_id: number | null;
  reason: string;
}

/** payment: money received; reversal: the counter-booking of one payment; refund: money paid back; credit_out/credit_in: overpaid money carried to a later invoice; settlement (h/stripe): a Stripe invoice covered by the customer's Stripe credit balance, no cash. */
export type PaymentKind = 'payment' | 'reversal' | 'refund' | 'credit_out' | 'credit_in' | 'settlement';

/** The Stripe customer of an organisation. */
export interface StripeCustomerRow {
  id: number;
  organisation_id: number;
  customer_id: string;
  created_at: string;
  /** h/stripe: a hash of what the Stripe customer was last given */
  synced_hash?: string | null;
}

/** A Stripe webhook event, stored once by id. */
export interface StripeEventRow {
  event_id: string;
  type: string;
  received_at: string;
  processed_at: string | null;
  error: string | null;
}

declare module 'knex/types/tables' {
  interface Tables {
    fee_schedules: FeeScheduleRow;
    dues_runs: DuesRunRow;
    invoices: InvoiceRow;
    payments: PaymentRow;
    stripe_customers: StripeCustomerRow;
    stripe_events: StripeEventRow;
  }
}
