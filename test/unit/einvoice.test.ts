import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { buildCii } from '../../server/einvoice/cii.ts';
import { eInvoiceOf } from '../../server/einvoice/from-invoice.ts';
import { eInvoiceProblems } from '../../server/einvoice/check.ts';
import { leitwegProblem, leitwegCheckDigits } from '../../server/einvoice/leitweg.ts';
import { GUIDELINE_EN16931, GUIDELINE_XRECHNUNG, type EInvoiceProfile } from '../../server/einvoice/model.ts';
import { renderInvoicePdf } from '../../server/dues/invoice-pdf.ts';
import type { Invoice } from '../../server/dues/invoice.ts';
import { DEFAULT_EINVOICE } from '../../server/settings/settings.schemas.ts';
import { detach, hasPoppler, hasXmllint, pdfText, schematronFailures, SKIP_MESSAGE, STANDARDS, xsdErrors } from '../helpers/einvoice-standards.ts';

const EINVOICE = { ...DEFAULT_EINVOICE, electronicAddress: 'rechnung@chemienetzwerk-harz.example', contactName: 'Schatzmeisterin Petra Kolbe', phone: '+49 5323 72-1234' };

function invoice(over: Partial<Invoice> = {}): Invoice {
  return {
    id: 1, number: '2027-0001', year: 2027, kind: 'invoice', cancelsInvoiceId: null, cancelsNumber: null, cancelledByInvoiceId: null,
    organisationId: 1, memberNumber: 7, duesRunId: null,
    recipient: { name: 'Harzer Spezialchemie GmbH', street: 'Am Rammelsberg 12', postcode: '38640', city: 'Goslar', country: 'DE', vatId: 'DE626018158' },
    contactName: 'Anna Łukasiewicz-Szőke', contactEmail: 'buchhaltung@harzer-spezialchemie.example',
    issuer: {
      name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld', country: 'DE',
      taxNumber: '21/270/12345', registerCourt: 'Amtsgericht Braunschweig', registerNumber: 'VR 201234', contactEmail: 'vorstand@chemienetzwerk-harz.example',
      website: 'https://chemienetzwerk-harz.example', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
      einvoice: EINVOICE,
    },
    description: 'Mitgliedsbeitrag 2027', proRataNote: '', taxNote: 'Echter Mitgliedsbeitrag, nicht umsatzsteuerbar.',
    periodStart: '2027-01-01', periodEnd: '2027-12-31', amountCents: 120000, issueDate: '2027-01-05', dueDate: '2027-02-04',
    status: 'open', paidCents: 0, openCents: 120000, locale: 'de', stripeCustomerId: null, stripeInvoiceId: null, hostedInvoiceUrl: null,
    stripeState: null, reminderLevel: 0, lastReminderAt: null, remindersStopped: false, mailedAt: null, createdAt: '2027-01-05T08:00:00.000Z',
    stripeDispute: null, stripeProblem: null, stripeAmountCents: null, pushError: null, pushErrorPermanent: false, payUrl: null, payMethods: [], // h/stripe (payMethods: h/money2)
    ...over,
  };
}

const cases: Record<string, Invoice> = {
  dues: invoice(),
  proRata: invoice({
    number: '2027-0002', amountCents: 30000, periodStart: '2027-10-01', periodEnd: '2027-12-31',
    proRataNote: 'Anteilig für 3 Monate (Jahresbeitrag 1.200,00 €, Beitritt 15.10.2027)',
  }),
  cancellation: invoice({
    number: '2027-0003', kind: 'cancellation', cancelsInvoiceId: 1, cancelsNumber: '2027-0001', cancelsIssueDate: '2027-01-05',
    description: 'Storno: Mitgliedsbeitrag 2027 (Rechnung 2027-0001)', amountCents: -120000, issueDate: '2027-03-01', dueDate: '2027-03-01', status: 'void',
  }),
  taxable: invoice({
    number: '2027-0004', description: 'Teilnahme Harzer Chemietag 2027', amountCents: 29750, periodStart: '2027-05-12', periodEnd: '2027-05-12',
    lines: [{ name: 'Teilnahme Harzer Chemietag 2027', quantityMilli: 2000, unitCode: 'C62', unitNetCents: 12500, netCents: 25000, category: 'S', ratePercent: 19 }],
    issuer: { ...invoice().issuer, einvoice: { ...EINVOICE, vatId: 'DE811128135' } },
  }),
  english: invoice({ number: '2027-0005', locale: 'en', description: 'Membership dues 2027', taxNote: 'Genuine membership dues, not subject to VAT.', recipient: { name: 'Polymer Lab Ltd', street: '1 Science Park', postcode: 'CB4 0WS', city: 'Cambridge', country: 'GB', vatId: '' } }),
  sepa: invoice({ number: '2027-0006', issuer: { ...invoice().issuer, einvoice: { ...EINVOICE, paymentMeans: ['credit_transfer', 'direct_debit'] } },
    einvoice: { format: 'hybrid', leitwegId: '', mandate: { reference: 'CNH-M-0007', creditorId: 'DE98ZZZ09999999999', debtorIban: 'DE02120300000000202051' } } }),
};
const publicBody = invoice({
  number: '2027-0007', recipient: { name: 'Institut für Nichtmetallische Werkstoffe der TU Clausthal', street: 'Zehntnerstraße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld', country: 'DE', vatId: '' },
  einvoice: { format: 'xrechnung', leitwegId: '04011000-1234512345-06', mandate: null },
});

const parser = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true, parseTagValue: false });
// why: the parsed CII is walked by path in the tests; its shape is what the XSD checks
type Node = Record<string, any>;
function parse(xml: string): Node {
  return parser.parse(xml).CrossIndustryInvoice as Node;
}
const text = (n: unknown): string => (typeof n === 'object' && n !== null ? String((n as Node)['#text']) : String(n));

describe('e-invoice: CII D16B (EN 16931 / Factur-X, XRechnung 3.0)', function () {
  this.timeout(300_000);
  const xmls: Record<string, string> = {};
  for (const [k, inv] of Object.entries(cases)) xmls[k] = buildCii(eInvoiceOf(inv));
  xmls.publicBody = buildCii(eInvoiceOf(publicBody, 'xrechnung'));

  describe('valid against the official CII D16B schema and the EN 16931 schematron', () => {
    before(function () {
      if (!STANDARDS || !hasXmllint) {
        console.log(`      ${SKIP_MESSAGE}${hasXmllint ? '' : ' / xmllint missing'}`);
        this.skip();
      }
    });
    for (const k of [...Object.keys(cases), 'publicBody']) {
      it(`${k}: XSD and schematron without a failed assert`, async () => {
        expect(xsdErrors(xmls[k])).to.equal('');
        expect(await schematronFailures(xmls[k])).to.deep.equal([]);
      });
    }
  });

  it('dues: 380, category O with the exemption reason from the settings, no VAT IDs (BR-O-2), totals, IBAN, due date, period, seller address', () => {
    const x = parse(xmls.dues);
    expect(x.ExchangedDocumentContext.GuidelineSpecifiedDocumentContextParameter.ID).to.equal(GUIDELINE_EN16931);
    expect(x.ExchangedDocument.ID).to.equal('2027-0001');
    expect(x.ExchangedDocument.TypeCode).to.equal('380');
    expect(text(x.ExchangedDocument.IssueDateTime.DateTimeString)).to.equal('20270105');
    const tx = x.SupplyChainTradeTransaction;
    expect(tx.ApplicableHeaderTradeAgreement.SellerTradeParty.SpecifiedLegalOrganization.ID).to.equal('Amtsgericht Braunschweig VR 201234');
    expect(text(tx.ApplicableHeaderTradeAgreement.SellerTradeParty.SpecifiedTaxRegistration.ID)).to.equal('21/270/12345');
    expect(xmls.dues).not.to.contain('DE626018158');
    const st = tx.ApplicableHeaderTradeSettlement;
    expect(st.ApplicableTradeTax.CategoryCode).to.equal('O');
    expect(st.ApplicableTradeTax.ExemptionReason).to.equal('Mitgliedsbeitrag – nicht steuerbarer echter Mitgliedsbeitrag');
    expect(st.SpecifiedTradeSettlementPaymentMeans.TypeCode).to.equal('58');
    expect(st.SpecifiedTradeSettlementPaymentMeans.PayeePartyCreditorFinancialAccount.IBANID).to.equal('DE89370400440532013000');
    expect(text(st.SpecifiedTradePaymentTerms.DueDateDateTime.DateTimeString)).to.equal('20270204');
    expect(text(st.BillingSpecifiedPeriod.StartDateTime.DateTimeString)).to.equal('20270101');
    expect(text(st.BillingSpecifiedPeriod.EndDateTime.DateTimeString)).to.equal('20271231');
    expect(st.SpecifiedTradeSettlementHeaderMonetarySummation.DuePayableAmount).to.equal('1200.00');
    expect(text(tx.ApplicableHeaderTradeAgreement.SellerTradeParty.URIUniversalCommunication.URIID)).to.equal('rechnung@chemienetzwerk-harz.example');
  });

  it('pro-rata: the partial period and the note; the amount is the pro-rata amount', () => {
    const st = parse(xmls.proRata).SupplyChainTradeTransaction.ApplicableHeaderTradeSettlement;
    expect(text(st.BillingSpecifiedPeriod.StartDateTime.DateTimeString)).to.equal('20271001');
    expect(st.SpecifiedTradeSettlementHeaderMonetarySummation.GrandTotalAmount).to.equal('300.00');
    expect(xmls.proRata).to.contain('Anteilig für 3 Monate');
  });

  it('Stornorechnung: credit note 381 referencing the original (BT-25, BT-26), set off (97)', () => {
    const x = parse(xmls.cancellation);
    expect(x.ExchangedDocument.TypeCode).to.equal('381');
    const st = x.SupplyChainTradeTransaction.ApplicableHeaderTradeSettlement;
    expect(st.InvoiceReferencedDocument.IssuerAssignedID).to.equal('2027-0001');
    expect(text(st.InvoiceReferencedDocument.FormattedIssueDateTime.DateTimeString)).to.equal('20270105');
    expect(st.SpecifiedTradeSettlementPaymentMeans.TypeCode).to.equal('97');
    expect(st.SpecifiedTradeSettlementHeaderMonetarySummation.DuePayableAmount).to.equal('1200.00');
  });

  it('19 % line: quantity, unit, net price; S breakdown 250.00 + 47.50 = 297.50; seller VAT ID, buyer VAT ID', () => {
    const tx = parse(xmls.taxable).SupplyChainTradeTransaction;
    const li = tx.IncludedSupplyChainTradeLineItem;
    expect(text(li.SpecifiedLineTradeDelivery.BilledQuantity)).to.equal('2.000');
    expect(li.SpecifiedLineTradeDelivery.BilledQuantity['@_unitCode']).to.equal('C62');
    expect(li.SpecifiedLineTradeAgreement.NetPriceProductTradePrice.ChargeAmount).to.equal('125.00');
    const st = tx.ApplicableHeaderTradeSettlement;
    expect(st.ApplicableTradeTax).to.include({ CategoryCode: 'S', RateApplicablePercent: '19.00', BasisAmount: '250.00', CalculatedAmount: '47.50' });
    expect(st.SpecifiedTradeSettlementHeaderMonetarySummation).to.include({ TaxBasisTotalAmount: '250.00', GrandTotalAmount: '297.50' });
    expect(xmls.taxable).to.contain('DE811128135').and.to.contain('DE626018158');
    expect(xmls.taxable).not.to.contain('nicht umsatzsteuerbar');
  });

  it('English invoice: the buyer abroad with its country code', () => {
    const b = parse(xmls.english).SupplyChainTradeTransaction.ApplicableHeaderTradeAgreement.BuyerTradeParty;
    expect(b.PostalTradeAddress).to.include({ CountryID: 'GB', CityName: 'Cambridge', PostcodeCode: 'CB4 0WS' });
    expect(xmls.english).to.contain('Membership dues 2027');
  });

  it('SEPA direct debit: 59 with the mandate reference (BT-89), creditor ID (BT-90), debtor IBAN (BT-91)', () => {
    const st = parse(xmls.sepa).SupplyChainTradeTransaction.ApplicableHeaderTradeSettlement;
    expect(st.CreditorReferenceID).to.equal('DE98ZZZ09999999999');
    // CII-SR-467: one payment means type per invoice — with a mandate the invoice is collected, so 59 alone
    expect(st.SpecifiedTradeSettlementPaymentMeans.TypeCode).to.equal('59');
    expect(st.SpecifiedTradeSettlementPaymentMeans.PayerPartyDebtorFinancialAccount.IBANID).to.equal('DE02120300000000202051');
    expect(st.SpecifiedTradePaymentTerms.DirectDebitMandateID).to.equal('CNH-M-0007');
  });

  describe('XRechnung 3.0 (CII) for a public body: the BR-DE rules that apply, from their rule texts', () => {
    const x = parse(xmls.publicBody);
    const ag = x.SupplyChainTradeTransaction.ApplicableHeaderTradeAgreement;
    const st = x.SupplyChainTradeTransaction.ApplicableHeaderTradeSettlement;
    const seller = ag.SellerTradeParty;
    it('BR-DE-21: the specification identifier (BT-24) is the XRechnung 3.0 one', () => {
      expect(x.ExchangedDocumentContext.GuidelineSpecifiedDocumentContextParameter.ID).to.equal(GUIDELINE_XRECHNUNG);
    });
    it('BR-DE-15: the buyer reference (BT-10) is given — the Leitweg-ID; BT-49 the Leitweg-ID with scheme 0204', () => {
      expect(ag.BuyerReference).to.equal('04011000-1234512345-06');
      expect(ag.BuyerTradeParty.URIUniversalCommunication.URIID).to.deep.include({ '#text': '04011000-1234512345-06', '@_schemeID': '0204' });
    });
    it('BR-DE-1: payment instructions (BG-16) are given; BR-DE-23-a/b: code 58 with the account (BG-17), no card (BG-18), no direct debit (BG-19)', () => {
      expect(st.SpecifiedTradeSettlementPaymentMeans.TypeCode).to.equal('58');
      expect(st.SpecifiedTradeSettlementPaymentMeans.PayeePartyCreditorFinancialAccount.IBANID).to.match(/^DE\d{20}$/);
      expect(st.SpecifiedTradeSettlementPaymentMeans.ApplicableTradeSettlementFinancialCard).to.equal(undefined);
      expect(st.SpecifiedTradeSettlementPaymentMeans.PayerPartyDebtorFinancialAccount).to.equal(undefined);
    });
    it('BR-DE-2/5/6/7: the seller contact (BG-6) with contact point, telephone (BR-DE-27: at least three digits) and e-mail (BR-DE-28: one @, not at the start or end)', () => {
      const c = seller.DefinedTradeContact;
      expect(c.PersonName).to.equal('Schatzmeisterin Petra Kolbe');
      expect(c.TelephoneUniversalCommunication.CompleteNumber.replace(/\D/g, '').length).to.be.at.least(3);
      expect(c.EmailURIUniversalCommunication.URIID).to.match(/^[^@\s]+@[^@\s]+$/);
    });
    it('BR-DE-3/4: seller city (BT-37) and post code (BT-38); BR-DE-8/9: buyer city (BT-52) and post code (BT-53)', () => {
      expect(seller.PostalTradeAddress).to.include({ CityName: 'Clausthal-Zellerfeld', PostcodeCode: '38678' });
      expect(ag.BuyerTradeParty.PostalTradeAddress).to.include({ CityName: 'Clausthal-Zellerfeld', PostcodeCode: '38678' });
    });
    it('BR-DE-14: the VAT category rate (BT-119) is given in every breakdown; BR-DE-16: the seller tax number (BT-32) is given', () => {
      expect(st.ApplicableTradeTax.RateApplicablePercent).to.equal('0.00');
      expect(text(seller.SpecifiedTaxRegistration.ID)).to.equal('21/270/12345');
    });
    it('BR-DE-17: the type code is one of 326, 380, 384, 389, 381, 875, 876, 877', () => {
      expect(['326', '380', '384', '389', '381', '875', '876', '877']).to.include(x.ExchangedDocument.TypeCode);
    });
    it('refused before issue when BR-DE fields are missing: telephone, contact, Leitweg-ID with a wrong check digit', () => {
      const bad = invoice({ ...publicBody, issuer: { ...publicBody.issuer, einvoice: { ...EINVOICE, phone: '', contactName: '' } }, einvoice: { format: 'xrechnung', leitwegId: '04011000-1234512345-07', mandate: null } });
      const problems = eInvoiceProblems(eInvoiceOf({ ...bad, issuer: { ...bad.issuer, name: bad.issuer.name } }, 'xrechnung'), bad.amountCents);
      expect(problems).to.include.members(['seller.phone', 'buyer.leitwegId']);
    });
  });

  describe('refused at issue (before a number): what EN 16931 would reject, by field', () => {
    const problems = (over: Partial<Invoice>, profile: EInvoiceProfile = 'en16931') => {
      const inv = invoice(over);
      return eInvoiceProblems(eInvoiceOf(inv, profile), inv.amountCents);
    };
    it('a complete invoice has none', () => {
      for (const inv of Object.values(cases)) expect(eInvoiceProblems(eInvoiceOf(inv), inv.amountCents)).to.deep.equal([]);
      expect(eInvoiceProblems(eInvoiceOf(publicBody, 'xrechnung'), publicBody.amountCents)).to.deep.equal([]);
    });
    it('no buyer address, no country', () => {
      expect(problems({ recipient: { name: 'X GmbH', street: '', postcode: '', city: '', country: '', vatId: '' } }))
        .to.include.members(['buyer.street', 'buyer.postcode', 'buyer.city', 'buyer.country']);
    });
    it('an amount that is not the sum of the lines', () => {
      const duesLine = { name: 'Mitgliedsbeitrag 2027', quantityMilli: 1000, unitCode: 'C62', unitNetCents: 120000, netCents: 120000, category: 'O' as const, ratePercent: null };
      expect(problems({ amountCents: 120001, lines: [duesLine] })).to.deep.equal(['amount']);
      expect(problems({ lines: [{ ...duesLine, quantityMilli: 2000 }] })).to.deep.equal(['amount']);
      expect(problems({ amountCents: 29751, lines: cases.taxable.lines })).to.deep.equal(['amount']);
    });
    it('a direct debit without creditor ID', () => {
      expect(problems({ ...cases.sepa, einvoice: { format: 'hybrid', leitwegId: '', mandate: { reference: 'M1', creditorId: '', debtorIban: 'DE02120300000000202051' } } })).to.deep.equal(['mandate']);
    });
  });

  describe('Leitweg-ID (KoSIT: check digits ISO/IEC 7064 MOD 97-10)', () => {
    it('accepts the published examples, refuses a wrong check digit and a wrong format', () => {
      expect(leitwegProblem('04011000-1234512345-06')).to.equal(null);
      expect(leitwegProblem('991-33333TEST-33')).to.equal(null);
      expect(leitwegProblem('04011000-1234512345-07')).to.equal('checksum');
      expect(leitwegProblem('04011000 1234512345')).to.equal('format');
      expect(leitwegCheckDigits('991' + '33333TEST')).to.equal('33');
    });
  });

  describe('hybrid PDF: PDF/A-3 with factur-x.xml (Factur-X 1.0, EN 16931)', () => {
    let pdfs: Record<string, Buffer>;
    before(async function () {
      if (!hasPoppler) {
        console.log('      skipped: pdfdetach/pdftotext (poppler-utils) not installed');
        this.skip();
      }
      pdfs = {};
      for (const k of ['dues', 'cancellation', 'taxable', 'english']) pdfs[k] = await renderInvoicePdf(cases[k]);
    });
    it('embeds exactly the XML of the invoice, as Alternative, with the Factur-X XMP and PDF/A-3b identification and the sRGB OutputIntent', () => {
      for (const k of Object.keys(pdfs)) {
        const { list, content } = detach(pdfs[k], 'factur-x.xml');
        expect(list).to.contain('factur-x.xml');
        expect(content).to.equal(xmls[k]);
      }
      const raw = pdfs.dues.toString('latin1');
      expect(raw).to.contain('/AFRelationship /Alternative');
      expect(raw).to.match(/\/AF \[/);
      expect(raw).to.contain('<pdfaid:part>3</pdfaid:part>').and.to.contain('<pdfaid:conformance>B</pdfaid:conformance>');
      expect(raw).to.contain('<fx:DocumentType>INVOICE</fx:DocumentType>').and.to.contain('<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>');
      expect(raw).to.contain('<fx:Version>1.0</fx:Version>').and.to.contain('<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>');
      expect(raw).to.contain('/OutputIntents').and.to.contain('GTS_PDFA1');
      expect(raw).to.contain('/FontFile2');
    });
    it('the visible invoice says what the XML says: number, dates, amount (dues, Stornorechnung, English)', () => {
      const de = pdfText(pdfs.dues);
      expect(de).to.contain('2027-0001').and.to.contain('05.01.2027').and.to.contain('04.02.2027').and.to.contain('1.200,00 €');
      const x = parse(detach(pdfs.dues, 'factur-x.xml').content).SupplyChainTradeTransaction.ApplicableHeaderTradeSettlement;
      expect(x.SpecifiedTradeSettlementHeaderMonetarySummation.DuePayableAmount).to.equal('1200.00');
      const storno = pdfText(pdfs.cancellation);
      expect(storno).to.contain('2027-0003').and.to.contain('2027-0001').and.to.contain('-1.200,00 €');
      const en = pdfText(pdfs.english);
      expect(en).to.contain('2027-0005').and.to.contain('€1,200.00');
    });
    it('a taxable line: net, VAT rate, VAT amount and gross on the visible invoice (§ 14 Abs. 4 UStG), as in the XML', () => {
      const s = pdfText(pdfs.taxable);
      expect(s).to.contain('Nettobetrag').and.to.contain('250,00 €');
      expect(s).to.match(/Umsatzsteuer 19 % auf 250,00 €\s+47,50 €/);
      expect(s).to.match(/Gesamtbetrag \(brutto\)\s+297,50 €/);
      expect(s).to.contain('USt-IdNr.: DE811128135');
      expect(s).not.to.contain('nicht umsatzsteuerbar');
    });
  });
});
