import { isValidIBAN } from 'ibantools';
import { leitwegProblem } from './leitweg.ts';
import { totalsOf, type EInvoiceDoc } from './model.ts';

/**
 * The fields that would make an e-invoice break a rule of EN 16931 (or, for XRechnung, of
 * the German CIUS, BR-DE-*), by key (`einvoice.field.<key>` names them in words). The dues
 * service asks this before it assigns a number: an invoice with a problem is not issued.
 * `amountCents`: the invoice's amount as stored, which the lines must add up to.
 */
export type EInvoiceField =
  | 'seller.name' | 'seller.street' | 'seller.postcode' | 'seller.city' | 'seller.country' | 'seller.taxNumber'
  | 'seller.electronicAddress' | 'seller.contactName' | 'seller.phone' | 'seller.iban' | 'exemptionReason'
  | 'buyer.name' | 'buyer.street' | 'buyer.postcode' | 'buyer.city' | 'buyer.country' | 'buyer.leitwegId' | 'buyer.electronicAddress'
  | 'lines' | 'lines.rate' | 'amount' | 'mandate';

const COUNTRY = /^[A-Z]{2}$/;

export function eInvoiceProblems(doc: EInvoiceDoc, amountCents: number): EInvoiceField[] {
  const out: EInvoiceField[] = [];
  const s = doc.seller;
  const b = doc.buyer;
  // BR-6, BR-8/BR-9 (seller address with its country); street, city and post code only where XRechnung asks (BR-DE-3/4)
  if (!s.name.trim()) out.push('seller.name');
  if (doc.profile === 'xrechnung' && !s.street.trim()) out.push('seller.street');
  if (doc.profile === 'xrechnung' && !s.postcode.trim()) out.push('seller.postcode');
  if (doc.profile === 'xrechnung' && !s.city.trim()) out.push('seller.city');
  if (!COUNTRY.test(s.country)) out.push('seller.country');
  // BR-7, BR-10/BR-11 (buyer address with country), BR-DE-8/9; § 14 Abs. 4 UStG asks for the full address
  if (!b.name.trim()) out.push('buyer.name');
  if (!b.street.trim()) out.push('buyer.street');
  if (!b.postcode.trim()) out.push('buyer.postcode');
  if (!b.city.trim()) out.push('buyer.city');
  if (!COUNTRY.test(b.country)) out.push('buyer.country');
  // BR-16 at least one line; BR-S-5 a standard-rated line has a rate above zero
  if (!doc.lines.length) out.push('lines');
  if (doc.lines.some((l) => l.category === 'S' && !(Number(l.ratePercent) > 0))) out.push('lines.rate');
  // BR-O-10: the exemption reason; BR-S-2/BR-CO-26: the seller's tax number or VAT ID
  if (doc.lines.some((l) => l.category === 'O') && !doc.exemptionReason.trim()) out.push('exemptionReason');
  if (!s.taxNumber && !s.vatId) out.push('seller.taxNumber');
  // BR-CO-10/BR-CO-15: the lines add up to the amount payable
  const totals = totalsOf(doc);
  if (doc.lines.some((l) => l.netCents !== Math.round((l.unitNetCents * l.quantityMilli) / 1000)) || totals.grand !== Math.abs(amountCents)) out.push('amount');
  // BR-DE-30/31 direct debit: creditor identifier and debtor IBAN
  const dd = doc.paymentMeans.directDebit;
  if (dd && (!dd.creditorId.trim() || !dd.reference.trim() || !isValidIBAN(dd.debtorIban.replace(/\s/g, '')))) out.push('mandate');
  if (doc.profile === 'xrechnung') {
    // BR-DE-15 buyer reference = Leitweg-ID; BR-DE-1 payment instructions; BR-DE-2/5/6/7 seller contact; PEPPOL-EN16931-R020 seller electronic address
    if (!doc.buyerReference.trim() || (b.electronicAddress?.scheme === '0204' && leitwegProblem(b.electronicAddress.id))) out.push('buyer.leitwegId');
    if (!b.electronicAddress) out.push('buyer.electronicAddress');
    if (!doc.paymentMeans.creditTransfer && !doc.paymentMeans.directDebit && !doc.paymentMeans.clearing) out.push('seller.iban');
    if (!s.contact?.name.trim()) out.push('seller.contactName');
    if ((s.contact?.phone.replace(/\D/g, '').length ?? 0) < 3) out.push('seller.phone');
    if (!s.electronicAddress) out.push('seller.electronicAddress');
  }
  // BR-DE-19 / BR-CO-? the seller's IBAN for a credit transfer
  const ct = doc.paymentMeans.creditTransfer;
  if (ct && !isValidIBAN(ct.iban)) out.push('seller.iban');
  return [...new Set(out)];
}
