import type { Locale } from '../i18n/i18n.ts';
import type { InvoiceKind, InvoiceRow, InvoiceStatus } from './dues.tables.ts';
import { bool as b } from '../db/knex.ts';
import type { DirectDebitMandate, EInvoiceLine } from '../einvoice/model.ts'; // h/einvoice
import { DEFAULT_STRIPE_SETTINGS, STRIPE_PAYMENT_METHODS, type StripePaymentMethod } from '../settings/settings.schemas.ts'; // h/money2

export type { InvoiceKind, InvoiceStatus };
export const INVOICE_STATUSES: InvoiceStatus[] = ['open', 'partially_paid', 'paid', 'cancelled', 'uncollectible', 'void'];

/** The association as it stood when the invoice was issued. */
export interface IssuerSnapshot {
  name: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  taxNumber: string;
  registerCourt: string;
  registerNumber: string;
  contactEmail: string;
  website: string;
  bankHolder: string;
  iban: string;
  bic: string;
  bankName: string;
  /** h/einvoice: what the e-invoice needs beyond the above (absent on invoices issued before) */
  einvoice?: IssuerEInvoice;
}

/** h/einvoice: the seller's e-invoice data as it stood at issue (settings key 'einvoice'). */
export interface IssuerEInvoice {
  electronicAddress: string;
  vatId: string;
  contactName: string;
  phone: string;
  exemptionReason: string;
  paymentMeans: ('credit_transfer' | 'direct_debit')[];
}

/** h/einvoice: the form a member's invoices take: hybrid PDF (Factur-X), XRechnung attachment, or both. */
export type EInvoiceFormat = 'hybrid' | 'xrechnung' | 'both';
export const EINVOICE_FORMATS: EInvoiceFormat[] = ['hybrid', 'xrechnung', 'both'];

/** h/einvoice: the buyer's e-invoice data at issue. `mandate`: a SEPA mandate (h/sepa) if the invoice is collected by direct debit. */
export interface InvoiceEInvoice {
  format: EInvoiceFormat;
  leitwegId: string;
  mandate: DirectDebitMandate | null;
}

/** An issued invoice (or cancellation invoice) as stored; never changed after issue except its payment state. */
export interface Invoice {
  id: number;
  number: string;
  year: number;
  kind: InvoiceKind;
  cancelsInvoiceId: number | null;
  cancelsNumber?: string | null;
  /** h/einvoice: the issue date of the invoice a cancellation cancels (BT-26) */
  cancelsIssueDate?: string | null;
  cancelledByInvoiceId: number | null;
  organisationId: number;
  memberNumber: number;
  duesRunId: number | null;
  recipient: { name: string; street: string; postcode: string; city: string; country: string; vatId: string };
  contactName: string;
  contactEmail: string;
  issuer: IssuerSnapshot;
  description: string;
  proRataNote: string;
  taxNote: string;
  periodStart: string;
  periodEnd: string;
  amountCents: number;
  issueDate: string;
  dueDate: string;
  status: InvoiceStatus;
  paidCents: number;
  openCents: number;
  locale: Locale;
  stripeCustomerId: string | null;
  stripeInvoiceId: string | null;
  hostedInvoiceUrl: string | null;
  stripeState: string | null;
  reminderLevel: number;
  lastReminderAt: string | null;
  remindersStopped: boolean;
  mailedAt: string | null;
  createdAt: string;
  // h/stripe
  stripeDispute: string | null;
  stripeProblem: string | null;
  stripeAmountCents: number | null;
  pushError: string | null;
  pushErrorPermanent: boolean;
  /** The Stripe payment page while it can take this invoice's money (open there, open here, no dispute); else null. */
  payUrl: string | null;
  /**
   * h/money2: the methods that page offers (`card`, `sepa_debit`), as the Stripe invoice was
   * created with them (settings 'stripe'); empty whenever `payUrl` is null, so no PDF, e-mail or
   * portal page names a Stripe method for an invoice that cannot be paid there.
   */
  payMethods: StripePaymentMethod[];
  /** h/einvoice: the invoice lines; one line outside VAT (the dues) when the row has none */
  lines?: EInvoiceLine[];
  /** h/einvoice: the buyer's e-invoice data at issue */
  einvoice?: InvoiceEInvoice;
}


/** An invoice row, with the number of the invoice it cancels when the query joined it. */
export type InvoiceRowWithCancels = InvoiceRow & { cancels_number?: string | null; cancels_issue_date?: string | null };

/** h/einvoice: the stored lines, or the one line of a dues invoice (outside VAT, positive on a cancellation as on its original). */
export function linesOf(r: Pick<InvoiceRow, 'lines' | 'amount_cents' | 'description' | 'pro_rata_note'>): EInvoiceLine[] {
  // why: written by the dues service from EInvoiceLine[] (JSON.stringify), never changed after
  if (r.lines) return JSON.parse(r.lines) as EInvoiceLine[];
  const net = Math.abs(Number(r.amount_cents));
  return [{ name: r.description, note: r.pro_rata_note || undefined, quantityMilli: 1000, unitCode: 'C62', unitNetCents: net, netCents: net, category: 'O', ratePercent: null }];
}

function einvoiceOf(r: InvoiceRow): InvoiceEInvoice {
  // why: written by the dues service from an InvoiceEInvoice (JSON.stringify), never changed after
  const e = r.einvoice ? JSON.parse(r.einvoice) as Partial<InvoiceEInvoice> : {};
  return { format: e.format ?? 'hybrid', leitwegId: e.leitwegId ?? '', mandate: e.mandate ?? null };
}

export function rowToInvoice(r: InvoiceRowWithCancels): Invoice {
  const amount = Number(r.amount_cents);
  const paid = Number(r.paid_cents);
  const status = r.status;
  const payUrl = payUrlOf(r.hosted_invoice_url ?? null, r.stripe_state ?? null, status, amount - paid);
  return {
    id: Number(r.id),
    number: r.number,
    year: Number(r.year),
    kind: r.kind,
    cancelsInvoiceId: r.cancels_invoice_id == null ? null : Number(r.cancels_invoice_id),
    cancelsNumber: r.cancels_number ?? null,
    cancelsIssueDate: r.cancels_issue_date ?? null,
    cancelledByInvoiceId: r.cancelled_by_invoice_id == null ? null : Number(r.cancelled_by_invoice_id),
    organisationId: Number(r.organisation_id),
    memberNumber: Number(r.member_number),
    duesRunId: r.dues_run_id == null ? null : Number(r.dues_run_id),
    recipient: {
      name: r.recipient_name, street: r.recipient_street, postcode: r.recipient_postcode, city: r.recipient_city, country: r.recipient_country, vatId: r.recipient_vat_id ?? '',
    },
    contactName: r.contact_name ?? '',
    contactEmail: r.contact_email ?? '',
    // why: written by the dues service from an IssuerSnapshot (JSON.stringify), never changed after
    issuer: JSON.parse(r.issuer) as IssuerSnapshot,
    description: r.description,
    proRataNote: r.pro_rata_note ?? '',
    taxNote: r.tax_note ?? '',
    periodStart: r.period_start,
    periodEnd: r.period_end,
    amountCents: amount,
    issueDate: r.issue_date,
    dueDate: r.due_date,
    status,
    paidCents: paid,
    openCents: status === 'open' || status === 'partially_paid' ? Math.max(0, amount - paid) : 0,
    locale: r.locale === 'en' ? 'en' : 'de',
    stripeCustomerId: r.stripe_customer_id ?? null,
    stripeInvoiceId: r.stripe_invoice_id ?? null,
    hostedInvoiceUrl: r.hosted_invoice_url ?? null,
    stripeState: r.stripe_state ?? null,
    reminderLevel: Number(r.reminder_level),
    lastReminderAt: r.last_reminder_at ?? null,
    remindersStopped: b(r.reminders_stopped),
    mailedAt: r.mailed_at ?? null,
    createdAt: r.created_at,
    // h/stripe
    stripeDispute: r.stripe_dispute ?? null,
    stripeProblem: r.stripe_problem ?? null,
    stripeAmountCents: r.stripe_amount_cents == null ? null : Number(r.stripe_amount_cents),
    pushError: r.push_error ?? null,
    pushErrorPermanent: b(r.push_error_permanent ?? false),
    payUrl,
    payMethods: payUrl ? payMethodsOf(r.stripe_payment_methods ?? null) : [],
    lines: linesOf(r),
    einvoice: einvoiceOf(r),
  };
}

/**
 * h/stripe: the Stripe states in which the hosted page still takes money. After a bank payment
 * the Stripe invoice is paid out of band (or reduced), after a void or write-off it is closed;
 * then the invoice is paid by bank transfer only, and neither PDF, e-mail, reminder nor portal
 * offers the dead link.
 */
export const PAYABLE_STRIPE_STATES = ['open', 'payment_failed', 'action_required'];

/**
 * h/money2: the stored methods in the settings' order; an invoice pushed before they were stored
 * offered what the setting's default offers (card and SEPA direct debit).
 */
export function payMethodsOf(stored: string | null): StripePaymentMethod[] {
  if (stored === null) return [...DEFAULT_STRIPE_SETTINGS.paymentMethods];
  const list = stored.split(',');
  return STRIPE_PAYMENT_METHODS.filter((m) => list.includes(m));
}

/** h/money2: the methods in the reader's words, as the PDF, e-mail and portal name them ("Karte, SEPA-Lastschrift"). */
export function payMethodsText(t: (key: string) => string, methods: readonly StripePaymentMethod[]): string {
  return methods.map((m) => t(`dues.payMethod.${m}`)).join(', ');
}

export function payUrlOf(url: string | null, stripeState: string | null, status: InvoiceStatus, openCents: number): string | null {
  if (!url || openCents <= 0 || (status !== 'open' && status !== 'partially_paid')) return null;
  return stripeState === null || PAYABLE_STRIPE_STATES.includes(stripeState) ? url : null;
}

/**
 * Interfaces the Stripe side provides (server/dues/stripe-sync.service.ts), handed to the dues
 * service by the composition root; with Stripe off `enabled` is false and both do nothing.
 */
export interface StripePush {
  /** Whether Stripe is on (STRIPE_SECRET_KEY set). */
  readonly enabled: boolean;
  /** Creates the Stripe customer if needed and the finalized Stripe invoice; stores its id and hosted URL on our invoice. */
  pushInvoice(invoiceId: number): Promise<void>;
}
export interface StripeCancel {
  /** Voids (unpaid) or credits (paid) the Stripe invoice behind our invoice. */
  cancelOnStripe(invoiceId: number): Promise<void>;
}
export type StripeSyncPort = StripePush & StripeCancel;
