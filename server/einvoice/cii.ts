import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { GUIDELINE_EN16931, GUIDELINE_XRECHNUNG, totalsOf, type EInvoiceDoc, type EInvoiceParty } from './model.ts';

/**
 * The UN/CEFACT Cross Industry Invoice (CII D16B) of an e-invoice, as the Factur-X/ZUGFeRD
 * profile EN 16931 and XRechnung 3.0 (CII syntax) read it. Element order follows the D16B
 * schema; the tests validate every case against the XSD and the EN 16931 schematron.
 */
const NS = {
  rsm: 'urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100',
  ram: 'urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100',
  qdt: 'urn:un:unece:uncefact:data:standard:QualifiedDataType:100',
  udt: 'urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100',
};

/** Cents as a decimal with two places ("-12.30"), without floating point. */
export function money(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const a = Math.abs(cents);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

function quantity(milli: number): string {
  const sign = milli < 0 ? '-' : '';
  const a = Math.abs(milli);
  return `${sign}${Math.floor(a / 1000)}.${String(a % 1000).padStart(3, '0')}`;
}

function percent(p: number): string {
  return p.toFixed(2);
}

/** 'YYYY-MM-DD' as format 102 'YYYYMMDD'. */
function d102(date: string): string {
  return date.replaceAll('-', '');
}

function el(parent: XMLBuilder, name: string, text?: string, attrs?: Record<string, string>): XMLBuilder {
  const e = parent.ele(name, attrs);
  if (text !== undefined) e.txt(text);
  return e;
}

function dateTime(parent: XMLBuilder, name: string, date: string): void {
  el(el(parent, name), 'udt:DateTimeString', d102(date), { format: '102' });
}

function party(parent: XMLBuilder, name: string, p: EInvoiceParty, withVatId: boolean, seller = false): void {
  const tp = el(parent, name);
  // BR-CO-26: the seller is identified by its register entry (BT-30), else its tax number as seller identifier (BT-29)
  if (seller && !p.legalRegistration && !(withVatId && p.vatId) && p.taxNumber) el(tp, 'ram:ID', p.taxNumber);
  el(tp, 'ram:Name', p.name);
  if (seller && p.legalRegistration) el(el(tp, 'ram:SpecifiedLegalOrganization'), 'ram:ID', p.legalRegistration);
  if (p.contact) {
    const c = el(tp, 'ram:DefinedTradeContact');
    if (p.contact.name) el(c, 'ram:PersonName', p.contact.name);
    if (p.contact.phone) el(el(c, 'ram:TelephoneUniversalCommunication'), 'ram:CompleteNumber', p.contact.phone);
    if (p.contact.email) el(el(c, 'ram:EmailURIUniversalCommunication'), 'ram:URIID', p.contact.email);
  }
  const a = el(tp, 'ram:PostalTradeAddress');
  if (p.postcode) el(a, 'ram:PostcodeCode', p.postcode);
  if (p.street) el(a, 'ram:LineOne', p.street);
  if (p.city) el(a, 'ram:CityName', p.city);
  el(a, 'ram:CountryID', p.country);
  if (p.electronicAddress) el(el(tp, 'ram:URIUniversalCommunication'), 'ram:URIID', p.electronicAddress.id, { schemeID: p.electronicAddress.scheme });
  if (p.taxNumber) el(el(tp, 'ram:SpecifiedTaxRegistration'), 'ram:ID', p.taxNumber, { schemeID: 'FC' });
  if (withVatId && p.vatId) el(el(tp, 'ram:SpecifiedTaxRegistration'), 'ram:ID', p.vatId, { schemeID: 'VA' });
}

export function buildCii(doc: EInvoiceDoc): string {
  const totals = totalsOf(doc);
  // BR-O-2: an invoice with a line outside the scope of VAT names neither party's VAT identifier
  const outside = doc.lines.some((l) => l.category === 'O');
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(NS.rsm, 'rsm:CrossIndustryInvoice', {
    'xmlns:rsm': NS.rsm, 'xmlns:ram': NS.ram, 'xmlns:qdt': NS.qdt, 'xmlns:udt': NS.udt,
  });

  const ctx = el(root, 'rsm:ExchangedDocumentContext');
  el(el(ctx, 'ram:GuidelineSpecifiedDocumentContextParameter'), 'ram:ID', doc.profile === 'xrechnung' ? GUIDELINE_XRECHNUNG : GUIDELINE_EN16931);

  const ed = el(root, 'rsm:ExchangedDocument');
  el(ed, 'ram:ID', doc.number);
  el(ed, 'ram:TypeCode', doc.typeCode);
  dateTime(ed, 'ram:IssueDateTime', doc.issueDate);
  for (const n of doc.notes.filter(Boolean)) el(el(ed, 'ram:IncludedNote'), 'ram:Content', n);

  const tx = el(root, 'rsm:SupplyChainTradeTransaction');
  doc.lines.forEach((l, i) => {
    const li = el(tx, 'ram:IncludedSupplyChainTradeLineItem');
    const ad = el(li, 'ram:AssociatedDocumentLineDocument');
    el(ad, 'ram:LineID', String(i + 1));
    if (l.note) el(el(ad, 'ram:IncludedNote'), 'ram:Content', l.note);
    el(el(li, 'ram:SpecifiedTradeProduct'), 'ram:Name', l.name);
    el(el(el(li, 'ram:SpecifiedLineTradeAgreement'), 'ram:NetPriceProductTradePrice'), 'ram:ChargeAmount', money(l.unitNetCents));
    el(el(li, 'ram:SpecifiedLineTradeDelivery'), 'ram:BilledQuantity', quantity(l.quantityMilli), { unitCode: l.unitCode });
    const ls = el(li, 'ram:SpecifiedLineTradeSettlement');
    const lt = el(ls, 'ram:ApplicableTradeTax');
    el(lt, 'ram:TypeCode', 'VAT');
    el(lt, 'ram:CategoryCode', l.category);
    if (l.category !== 'O') el(lt, 'ram:RateApplicablePercent', percent(l.ratePercent ?? 0));
    if (l.period) {
      const lp = el(ls, 'ram:BillingSpecifiedPeriod');
      dateTime(lp, 'ram:StartDateTime', l.period.start);
      dateTime(lp, 'ram:EndDateTime', l.period.end);
    }
    el(el(ls, 'ram:SpecifiedTradeSettlementLineMonetarySummation'), 'ram:LineTotalAmount', money(l.netCents));
  });

  const ag = el(tx, 'ram:ApplicableHeaderTradeAgreement');
  if (doc.buyerReference) el(ag, 'ram:BuyerReference', doc.buyerReference);
  party(ag, 'ram:SellerTradeParty', doc.seller, !outside, true);
  party(ag, 'ram:BuyerTradeParty', doc.buyer, !outside);

  el(tx, 'ram:ApplicableHeaderTradeDelivery');

  const st = el(tx, 'ram:ApplicableHeaderTradeSettlement');
  const pm = doc.paymentMeans;
  if (pm.directDebit) el(st, 'ram:CreditorReferenceID', pm.directDebit.creditorId);
  el(st, 'ram:PaymentReference', doc.paymentReference);
  el(st, 'ram:InvoiceCurrencyCode', doc.currency);
  if (pm.creditTransfer) {
    const m = el(st, 'ram:SpecifiedTradeSettlementPaymentMeans');
    el(m, 'ram:TypeCode', '58');
    const acc = el(m, 'ram:PayeePartyCreditorFinancialAccount');
    el(acc, 'ram:IBANID', pm.creditTransfer.iban);
    if (pm.creditTransfer.accountName) el(acc, 'ram:AccountName', pm.creditTransfer.accountName);
    if (pm.creditTransfer.bic) el(el(m, 'ram:PayeeSpecifiedCreditorFinancialInstitution'), 'ram:BICID', pm.creditTransfer.bic);
  }
  if (pm.directDebit) {
    const m = el(st, 'ram:SpecifiedTradeSettlementPaymentMeans');
    el(m, 'ram:TypeCode', '59');
    el(el(m, 'ram:PayerPartyDebtorFinancialAccount'), 'ram:IBANID', pm.directDebit.debtorIban);
  }
  if (pm.clearing) {
    const m = el(st, 'ram:SpecifiedTradeSettlementPaymentMeans');
    el(m, 'ram:TypeCode', '97');
    el(m, 'ram:Information', pm.clearing.information);
  }
  for (const b of totals.breakdown) {
    const t = el(st, 'ram:ApplicableTradeTax');
    el(t, 'ram:CalculatedAmount', money(b.taxCents));
    el(t, 'ram:TypeCode', 'VAT');
    if (b.category === 'O') el(t, 'ram:ExemptionReason', doc.exemptionReason);
    el(t, 'ram:BasisAmount', money(b.basisCents));
    el(t, 'ram:CategoryCode', b.category);
    if (b.category !== 'O' || doc.profile === 'xrechnung') el(t, 'ram:RateApplicablePercent', percent(b.ratePercent));
  }
  const period = el(st, 'ram:BillingSpecifiedPeriod');
  dateTime(period, 'ram:StartDateTime', doc.period.start);
  dateTime(period, 'ram:EndDateTime', doc.period.end);
  const terms = el(st, 'ram:SpecifiedTradePaymentTerms');
  dateTime(terms, 'ram:DueDateDateTime', doc.dueDate);
  if (pm.directDebit) el(terms, 'ram:DirectDebitMandateID', pm.directDebit.reference);
  const sum = el(st, 'ram:SpecifiedTradeSettlementHeaderMonetarySummation');
  el(sum, 'ram:LineTotalAmount', money(totals.lineTotal));
  el(sum, 'ram:TaxBasisTotalAmount', money(totals.taxBasis));
  el(sum, 'ram:TaxTotalAmount', money(totals.tax), { currencyID: doc.currency });
  el(sum, 'ram:GrandTotalAmount', money(totals.grand));
  el(sum, 'ram:DuePayableAmount', money(totals.grand));
  if (doc.preceding) {
    const r = el(st, 'ram:InvoiceReferencedDocument');
    el(r, 'ram:IssuerAssignedID', doc.preceding.number);
    if (doc.preceding.issueDate) el(el(r, 'ram:FormattedIssueDateTime'), 'qdt:DateTimeString', d102(doc.preceding.issueDate), { format: '102' });
  }
  return root.end({ prettyPrint: true });
}
