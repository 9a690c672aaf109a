import { formatMemberNumber } from '../i18n/format.ts';
import type { Invoice } from '../dues/invoice.ts';
import { linesOf } from '../dues/invoice.ts';
import { DEFAULT_EINVOICE } from '../settings/settings.schemas.ts';
import type { DirectDebitMandate, EInvoiceDoc, EInvoiceLine, EInvoicePaymentMeans, EInvoiceProfile } from './model.ts';

/** The lines of an invoice as issued (the one dues line outside VAT when none were stored). */
export function invoiceLines(inv: Invoice): EInvoiceLine[] {
  return inv.lines ?? linesOf({ lines: null, amount_cents: inv.amountCents, description: inv.description, pro_rata_note: inv.proRataNote });
}

/**
 * The e-invoice of an issued invoice or Stornorechnung, from its snapshot alone (so the XML
 * of an invoice is the same whenever it is made). A Stornorechnung is a credit note (381)
 * with the original's lines as positive amounts and a reference to it (BT-25); its amount
 * is set off against the original (payment means 97).
 */
/** The mandate an invoice is collected by (the e-invoice's BG-19 and the visible PDF say the same), or null. */
export function collectedByDebit(inv: Invoice): DirectDebitMandate | null {
  const e = { ...DEFAULT_EINVOICE, ...(inv.issuer.einvoice ?? {}) };
  const m = inv.einvoice?.mandate ?? null;
  return inv.kind === 'invoice' && m && e.paymentMeans.includes('direct_debit') ? m : null;
}

export function eInvoiceOf(inv: Invoice, profile: EInvoiceProfile = 'en16931'): EInvoiceDoc {
  const is = inv.issuer;
  const e = { ...DEFAULT_EINVOICE, ...(is.einvoice ?? {}) };
  const buyerE = inv.einvoice ?? { format: 'hybrid', leitwegId: '', mandate: null };
  const cancellation = inv.kind === 'cancellation';
  const lines = invoiceLines(inv);
  const outside = lines.some((l) => l.category === 'O');
  const sellerMail = e.electronicAddress || is.contactEmail;
  const pm: EInvoicePaymentMeans = {};
  if (cancellation) {
    pm.clearing = { information: inv.cancelsNumber ? `${inv.cancelsNumber}` : inv.number };
  } else {
    // CII-SR-467: one payment means type per invoice; with a mandate the invoice is collected (59), else transferred (58)
    const debit = collectedByDebit(inv);
    if (debit) pm.directDebit = debit;
    else if (is.iban && e.paymentMeans.includes('credit_transfer')) pm.creditTransfer = { iban: is.iban.replace(/\s/g, ''), bic: is.bic, accountName: is.bankHolder || is.name };
  }
  const notes = [outside ? inv.taxNote : '', inv.proRataNote && !lines.some((l) => l.note === inv.proRataNote) ? inv.proRataNote : ''].filter(Boolean);
  return {
    profile,
    number: inv.number,
    typeCode: cancellation ? '381' : '380',
    issueDate: inv.issueDate,
    dueDate: inv.dueDate,
    currency: 'EUR',
    notes,
    buyerReference: buyerE.leitwegId || formatMemberNumber(inv.memberNumber),
    seller: {
      name: is.name, street: is.street, postcode: is.postcode, city: is.city, country: is.country,
      taxNumber: is.taxNumber || undefined,
      vatId: e.vatId || undefined,
      legalRegistration: [is.registerCourt, is.registerNumber].filter(Boolean).join(' ') || undefined,
      electronicAddress: sellerMail ? { scheme: 'EM', id: sellerMail } : undefined,
      contact: { name: e.contactName || is.name, phone: e.phone, email: sellerMail },
    },
    buyer: {
      name: inv.recipient.name, street: inv.recipient.street, postcode: inv.recipient.postcode, city: inv.recipient.city, country: inv.recipient.country,
      vatId: inv.recipient.vatId || undefined,
      electronicAddress: buyerE.leitwegId ? { scheme: '0204', id: buyerE.leitwegId } : inv.contactEmail ? { scheme: 'EM', id: inv.contactEmail } : undefined,
      contact: inv.contactName || inv.contactEmail ? { name: inv.contactName, phone: '', email: inv.contactEmail } : undefined,
    },
    period: { start: inv.periodStart, end: inv.periodEnd },
    lines,
    exemptionReason: e.exemptionReason,
    paymentMeans: pm,
    paymentReference: cancellation ? inv.cancelsNumber ?? inv.number : inv.number,
    preceding: cancellation && inv.cancelsNumber ? { number: inv.cancelsNumber, issueDate: inv.cancelsIssueDate ?? undefined } : undefined,
  };
}
