import { expect } from 'chai';
import { Matcher, nameSimilarity, numberCandidates, split, type OpenInvoice } from '../../server/bank/matching.ts';

const inv = (id: number, number: string, organisationId: number, recipientName: string, openCents: number, dueDate = '2027-03-31'): OpenInvoice =>
  ({ id, number, organisationId, recipientName, openCents, dueDate });

const INVOICES = [
  inv(1, '2027-0001', 10, 'Harzer Spezialchemie GmbH', 250000),
  inv(2, '2027-0012', 20, 'Okertal Pigmente GmbH', 120000),
  inv(3, '2027-0013', 30, 'Goslarer Labor GmbH', 50000),
  inv(4, '2027-0014', 40, 'Brockenblick Analytik GmbH', 50000),
  inv(5, '2027-0015', 50, 'Müller & Söhne Chemie KG', 50000),
  inv(6, '2027-0016', 40, 'Brockenblick Analytik GmbH', 30000, '2027-06-30'),
];

const line = (amountCents: number, remittance: string, counterpartyName = '', counterpartyIban = '') => ({ id: 1, amountCents, remittance, counterpartyName, counterpartyIban });

describe('bank matching: invoice numbers in the remittance text', () => {
  it('reads the loosely written numbers a payer types', () => {
    expect(numberCandidates('Beitrag 2027 0012')).to.include('2027-0012');
    expect(numberCandidates('RE2027-12')).to.include('2027-0012');
    expect(numberCandidates('Rg. Nr. 2027/0012')).to.include('2027-0012');
    expect(numberCandidates('20270012 Okertal')).to.include('2027-0012');
    expect(numberCandidates('RE 2O27-0012')).to.include('2027-0012');
    expect(numberCandidates('Rechnungen 2027-0013 und 2027-0014')).to.include.members(['2027-0013', '2027-0014']);
    expect(numberCandidates('Kundennummer 12345')).to.deep.equal([]);
  });

  const m = new Matcher(INVOICES, new Map());

  for (const text of ['Mitgliedsbeitrag 2027 0012', 'RE2027-12 Beitrag', 'Rechnung 2027/0012', 'Okertal 20270012']) {
    it(`"${text}" is a sure match for 2027-0012 when the amount fits`, () => {
      const p = m.match(line(120000, text, 'OKERTAL PIGMENTE'))!;
      expect(p.confidence).to.equal('sure');
      expect(p.allocations).to.deep.equal([{ invoiceId: 2, number: '2027-0012', organisationId: 20, amountCents: 120000, openCents: 120000 }]);
      expect(p.reasons.map((r) => r.key)).to.deep.equal(['number', 'amountFits']);
    });
  }

  it('one transfer for two invoices is split onto both (combined), sure when the sum fits', () => {
    const p = m.match(line(80000, 'Rechnungen 2027-0014 und 2027-0016'))!;
    expect(p.confidence).to.equal('sure');
    expect(p.allocations.map((a) => [a.number, a.amountCents])).to.deep.equal([['2027-0014', 50000], ['2027-0016', 30000]]);
    expect(p.reasons.map((r) => r.key)).to.include('combined');
  });

  it('a partial payment is only likely, booked as far as it goes, the rest stays open', () => {
    const p = m.match(line(25000, 'Beitrag 2027-0015 erste Rate'))!;
    expect(p.confidence).to.equal('likely');
    expect(p.allocations.map((a) => a.amountCents)).to.deep.equal([25000]);
    expect(p.shortCents).to.equal(25000);
    expect(p.reasons.map((r) => r.key)).to.include('partial');
  });

  it('an overpayment goes onto the invoice and is named', () => {
    const p = m.match(line(60000, 'RE 2027-0013'))!;
    expect(p.confidence).to.equal('likely');
    expect(p.allocations.map((a) => a.amountCents)).to.deep.equal([60000]);
    expect(p.overCents).to.equal(10000);
  });

  it('two numbers, one of them paid for, and an amount for both: oldest first, the rest on the last', () => {
    const s = split(100000, [INVOICES[5], INVOICES[3]]);
    expect(s.allocations.map((a) => [a.number, a.amountCents])).to.deep.equal([['2027-0014', 50000], ['2027-0016', 50000]]);
    expect(s.overCents).to.equal(20000);
  });

  it('a number one digit off is likely when the amount fits that invoice exactly, and nothing when it does not', () => {
    const p = m.match(line(120000, 'Beitrag 2027-0021'))!;
    expect(p.confidence).to.equal('likely');
    expect(p.allocations[0].number).to.equal('2027-0012');
    expect(p.reasons[0].key).to.equal('numberNear');
    expect(m.match(line(99900, 'Beitrag 2027-0021'))).to.equal(null);
  });
});

describe('bank matching: the payer\'s IBAN and the name', () => {
  it('a known IBAN and a fitting amount make a sure match without any number', () => {
    const m = new Matcher(INVOICES, new Map([['DE02120300000000202051', 20]]));
    const p = m.match(line(120000, 'Beitrag', 'Okertal', 'DE02120300000000202051'))!;
    expect(p.confidence).to.equal('sure');
    expect(p.reasons[0].key).to.equal('iban');
    expect(p.allocations[0].invoiceId).to.equal(2);
  });

  it('a known IBAN paying the sum of the member\'s two invoices is sure and split', () => {
    const m = new Matcher(INVOICES, new Map([['DE75512108001245126199', 40]]));
    const p = m.match(line(80000, 'Beiträge', 'Brockenblick', 'DE75512108001245126199'))!;
    expect(p.confidence).to.equal('sure');
    expect(p.allocations.map((a) => a.invoiceId)).to.deep.equal([4, 6]);
  });

  it('amount and a similar name: the best name among equal amounts, never sure', () => {
    const m = new Matcher(INVOICES, new Map());
    const p = m.match(line(50000, 'Beitrag', 'GOSLARER LABOR GMBH'))!;
    expect(p.allocations[0].invoiceId).to.equal(3);
    expect(p.confidence).to.equal('likely');
    expect(m.match(line(50000, 'Beitrag', 'Mueller und Soehne Chemie'))!.allocations[0].invoiceId).to.equal(5);
    expect(m.match(line(50000, 'Beitrag', 'Ganz Andere Firma AG'))).to.equal(null);
  });

  it('compares names without legal forms and with umlauts written out', () => {
    expect(nameSimilarity('Müller & Söhne Chemie KG', 'MUELLER UND SOEHNE CHEMIE')).to.equal(1);
    expect(nameSimilarity('Harzer Spezialchemie GmbH', 'Okertal Pigmente GmbH')).to.equal(0);
  });

  it('debits are never matched', () => {
    expect(new Matcher(INVOICES, new Map()).match(line(-120000, '2027-0012'))).to.equal(null);
  });
});
