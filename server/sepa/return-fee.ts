import type { Knex } from 'knex';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { DuesService, SkipReason } from '../dues/dues.service.ts';
import type { Logger } from '../logger.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatDate } from '../i18n/format.ts';

/**
 * h/fee: the bank's fee for a returned direct debit charged on to the member ("Rücklastschrift-
 * gebühren werden dem Mitglied berechnet", settings 'sepa' → chargeReturnFee): an invoice of its
 * own with one item, the fee as net price, outside the scope of VAT (category O, "nicht
 * steuerbar": the member owes it as damages, not for a service), issued through the dues
 * service's items path (EN 16931 check, numbering, audit, e-mail, Stripe) inside the return's
 * transaction, so that the return and its fee invoice exist together or not at all. Its one-time
 * key is made from the return's id: the unique invoices.request_key stops a second one.
 */

export type ReturnFeeOutcome =
  | { charged: true; invoiceId: number; number: string }
  | { charged: false; reason: SkipReason; exitDate?: string };

export interface ReturnFeeInput {
  returnId: number;
  organisationId: number;
  /** the invoice the returned debit collected */
  invoiceId: number;
  invoiceNumber: string;
  /** the debit's due date (the day of the Lastschrift) */
  debitDueDate: string;
  reasonCode: string;
  feeCents: number;
  /** the return's booking date: the date of the claim on the fee invoice */
  bookedOn: string;
  /** the language of the returned invoice (the fee invoice's item text) */
  locale: Locale;
}

/** The one-time key of a return's fee invoice (16 to 64 characters of [A-Za-z0-9_-], as the items path wants). */
export function returnFeeKey(returnId: number): string {
  return `sepa-return-fee-${returnId}`;
}

/** The item's text: "Rücklastschriftgebühr zur Lastschrift 2027-0001 vom 03.05.2027 (AM04)". */
export function returnFeeItemName(x: { invoiceNumber: string; debitDueDate: string; reasonCode: string; locale: Locale }): string {
  return tFor(x.locale)('sepa.returnFee.item', { number: x.invoiceNumber, date: formatDate(x.debitDueDate, x.locale), code: x.reasonCode });
}

/**
 * Issues the fee invoice inside the return's transaction, or says why it cannot be issued (the
 * items path's refusals: tax settings missing, the e-invoice would not be valid …); the refusal is audited and the return is booked all the same
 * (the fee then stays the association's cost). Any other failure rolls the return back with it.
 */
export async function chargeReturnFee(d: { dues: DuesService; audit: AuditService }, trx: Knex.Transaction, actor: Actor, x: ReturnFeeInput): Promise<ReturnFeeOutcome> {
  const r = await d.dues.issueWithItemsInTrx(trx, actor, x.organisationId, {
    items: [{ name: returnFeeItemName(x), quantityMilli: 1000, unitNetCents: x.feeCents, vat: 'O' }],
    duesYear: null,
    serviceStart: x.bookedOn,
    serviceEnd: x.bookedOn,
    requestKey: returnFeeKey(x.returnId),
    outsideVatNote: tFor(x.locale)('sepa.returnFee.taxNote'),
    notAService: true, // a member who has left owes the fee of a returned debit all the same
  });
  if (r.issued) {
    const inv = r.invoices[0]!;
    await d.audit.record(trx, actor, 'sepa.return_fee_charged', 'invoice', x.invoiceId, undefined, {
      returnId: x.returnId, invoiceNumber: x.invoiceNumber, feeCents: x.feeCents, feeInvoiceId: inv.invoiceId, feeInvoiceNumber: inv.number,
    });
    return { charged: true, invoiceId: inv.invoiceId, number: inv.number };
  }
  await d.audit.record(trx, actor, 'sepa.return_fee_not_charged', 'invoice', x.invoiceId, undefined, {
    returnId: x.returnId, invoiceNumber: x.invoiceNumber, feeCents: x.feeCents, reason: r.reason, ...(r.fields ? { fields: r.fields } : {}),
  });
  return { charged: false, reason: r.reason, exitDate: r.exitDate };
}

/**
 * After the return committed: the fee invoice's delivery (with Stripe on the push, then the
 * e-mail with the payment link; with Stripe off it went out with the return). A Stripe outage
 * does not undo the booked return: it is logged and kept on the invoice (push error); the
 * invoice page offers "deliver now", and the statement's next import of the same return delivers
 * it too.
 */
export async function deliverReturnFee(d: { dues: DuesService; log: Logger }, invoiceId: number): Promise<void> {
  try {
    await d.dues.deliver(invoiceId);
  } catch (err) {
    d.log.warn({ invoiceId, err: err instanceof Error ? err.message : String(err) }, 'sepa: the return fee invoice was not delivered');
  }
}

/** The reason a fee invoice was not issued, in words (the items form's refusals). */
export function notChargedReason(t: ReturnType<typeof tFor>, o: { reason: SkipReason; exitDate?: string }, locale: Locale): string {
  return t(`dues.items.refused.${o.reason}`, { year: '', number: '', date: o.exitDate ? formatDate(o.exitDate, locale) : '' });
}
