/**
 * The e-invoice as EN 16931 sees it (business terms BT-/BG- in the comments), built from an
 * issued invoice (server/einvoice/from-invoice.ts) and written as UN/CEFACT CII D16B
 * (server/einvoice/cii.ts). Amounts are integer cents, dates 'YYYY-MM-DD'.
 */

/** VAT categories used here: O = outside the scope of VAT (genuine membership dues), S = standard/reduced rate. */
export type VatCategory = 'O' | 'S';

/** Which syntax profile: Factur-X/ZUGFeRD EN 16931 ("COMFORT") or XRechnung 3.0 (German CIUS, CII syntax). */
export type EInvoiceProfile = 'en16931' | 'xrechnung';

export const GUIDELINE_EN16931 = 'urn:cen.eu:en16931:2017';
export const GUIDELINE_XRECHNUNG = 'urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0';

export interface EInvoiceParty {
  name: string;
  street: string;
  postcode: string;
  city: string;
  /** ISO 3166-1 alpha-2 */
  country: string;
  /** BT-31 / BT-48 */
  vatId?: string;
  /** BT-32 (seller only): Steuernummer */
  taxNumber?: string;
  /** BT-30 (seller only): register court and number (Vereinsregister) */
  legalRegistration?: string;
  /** BT-34 / BT-49 with its scheme (EM = e-mail, 0204 = Leitweg-ID) */
  electronicAddress?: { scheme: 'EM' | '0204'; id: string };
  contact?: { name: string; phone: string; email: string };
}

export interface EInvoiceLine {
  /** BT-153 */
  name: string;
  /** BT-127 */
  note?: string;
  /** BT-129, in thousandths (1 = 1000) so that quantities stay integers */
  quantityMilli: number;
  /** BT-130, UN/ECE rec. 20 (C62 = one piece/unit) */
  unitCode: string;
  /** BT-146, per unit */
  unitNetCents: number;
  /** BT-131 */
  netCents: number;
  category: VatCategory;
  /** BT-152, percent (19, 7); null for O */
  ratePercent: number | null;
  /** BG-26 (BT-134 / BT-135): the line's own period (an event day beside a year's dues); absent = the invoice's */
  period?: { start: string; end: string };
}

/** SEPA direct debit (BT-89 mandate reference, BT-90 creditor id, BT-91 debtor IBAN); h/sepa supplies it. */
export interface DirectDebitMandate {
  reference: string;
  creditorId: string;
  debtorIban: string;
}

export interface EInvoicePaymentMeans {
  /** 58 = SEPA credit transfer to the seller's account (BG-17) */
  creditTransfer?: { iban: string; bic: string; accountName: string };
  /** 59 = SEPA direct debit (BG-19) */
  directDebit?: DirectDebitMandate;
  /** 97 = clearing between partners (a Stornorechnung is set off against the invoice it cancels) */
  clearing?: { information: string };
}

export interface EInvoiceDoc {
  profile: EInvoiceProfile;
  /** BT-1 */
  number: string;
  /** BT-3: 380 commercial invoice, 381 credit note (Stornorechnung) */
  typeCode: '380' | '381';
  /** BT-2 */
  issueDate: string;
  /** BT-9 */
  dueDate: string;
  /** BT-5 */
  currency: 'EUR';
  /** BT-22 */
  notes: string[];
  /** BT-10: the Leitweg-ID for a public body, else the member number */
  buyerReference: string;
  seller: EInvoiceParty;
  buyer: EInvoiceParty;
  /** BG-14: BT-73 / BT-74 */
  period: { start: string; end: string };
  lines: EInvoiceLine[];
  /** BT-120 for category O */
  exemptionReason: string;
  paymentMeans: EInvoicePaymentMeans;
  /** BT-83 */
  paymentReference: string;
  /** BG-3: BT-25 / BT-26 */
  preceding?: { number: string; issueDate?: string };
}

/** A VAT breakdown (BG-23) per category and rate. */
export interface VatBreakdown {
  category: VatCategory;
  ratePercent: number;
  basisCents: number;
  taxCents: number;
}

/** VAT of a net amount at a rate in percent, rounded half away from zero to the cent. */
export function vatOf(netCents: number, ratePercent: number): number {
  const raw = (netCents * ratePercent) / 100;
  return Math.sign(raw) * Math.round(Math.abs(raw));
}

/** The breakdown by category and rate, and the totals (BT-106, BT-109, BT-110, BT-112). */
export function totalsOf(doc: Pick<EInvoiceDoc, 'lines'>): { breakdown: VatBreakdown[]; lineTotal: number; taxBasis: number; tax: number; grand: number } {
  const groups = new Map<string, VatBreakdown>();
  for (const l of doc.lines) {
    const rate = l.category === 'O' ? 0 : (l.ratePercent ?? 0);
    const key = `${l.category}/${rate}`;
    const g = groups.get(key) ?? { category: l.category, ratePercent: rate, basisCents: 0, taxCents: 0 };
    g.basisCents += l.netCents;
    groups.set(key, g);
  }
  const breakdown = [...groups.values()].map((g) => ({ ...g, taxCents: g.category === 'O' ? 0 : vatOf(g.basisCents, g.ratePercent) }));
  const lineTotal = doc.lines.reduce((s, l) => s + l.netCents, 0);
  const tax = breakdown.reduce((s, g) => s + g.taxCents, 0);
  return { breakdown, lineTotal, taxBasis: lineTotal, tax, grand: lineTotal + tax };
}
