import { expect } from 'chai';
import { datevBookings, datevBuchungsstapel, EXTF_COLUMNS, revenueParts, windows1252 } from '../../server/dues/datev-export.ts';
import { DATEV_CHART_DEFAULTS, DEFAULT_DATEV, type DatevSettings } from '../../server/settings/settings.schemas.ts';
import type { EInvoiceLine } from '../../server/einvoice/model.ts';

const SKR04: DatevSettings = { chart: 'SKR04', consultantNumber: 29098, clientNumber: 55003, debtorBase: 10000, ...DATEV_CHART_DEFAULTS.SKR04 };
const line = (netCents: number, category: 'O' | 'S', ratePercent: number | null): EInvoiceLine => ({ name: 'x', quantityMilli: 1000, unitCode: 'C62', unitNetCents: netCents, netCents, category, ratePercent });

/** Splits a DATEV line into its fields (quoted fields may hold semicolons only doubled-quote-escaped; ours hold none). */
const fields = (l: string) => l.split(';');

/**
 * h/money2: the Buchungsstapel as DATEV's Formatbeschreibung (DATEV-Format, Buchungsstapel,
 * format version 13) describes it: every header field, 125 columns, the field formats, the
 * encoding and line ends, and the revenue accounts per VAT rate.
 */
describe('datev: the EXTF Buchungsstapel, field by field', () => {
  const invoices = [
    { issueDate: '2027-01-05', number: '2027-0001', kind: 'invoice', amountCents: 120000, memberNumber: 7, recipient: { name: 'Müller – Chemie GmbH' }, description: 'Beitrag' },
    { issueDate: '2027-03-10', number: '2027-0002', kind: 'invoice', amountCents: 50000 + 11900 + 1070, memberNumber: 8, recipient: { name: 'Harz AG' }, description: 'Beitrag',
      lines: [line(50000, 'O', null), line(10000, 'S', 19), line(1000, 'S', 7)] },
    { issueDate: '2027-04-01', number: '2027-0003', kind: 'cancellation', amountCents: -120000, memberNumber: 7, recipient: { name: 'Müller – Chemie GmbH' }, description: 'Storno' },
  ];
  const payments = [{ date: '2027-02-01', amountCents: 120000, invoiceNumber: '2027-0001', memberNumber: 7, memberName: 'Müller – Chemie GmbH' }];
  const file = datevBuchungsstapel(datevBookings(2027, invoices, payments, SKR04), { year: 2027, settings: SKR04, createdAt: new Date('2027-01-05T23:30:00.123Z'), title: 'Mitgliedsbeiträge 2027' });
  const text = file.toString('latin1');
  const lines = text.split('\r\n');

  it('has the 31 header fields DATEV asks for, in order', () => {
    const h = fields(lines[0]);
    expect(h).to.have.length(31);
    expect(h).to.deep.equal([
      '"EXTF"', '700', '21', '"Buchungsstapel"', '13',
      '20270106003000123', // Erzeugt am, German time (00:30 on the 6th), YYYYMMDDHHMMSSFFF
      '', '"RE"', '""', '""',
      '29098', '55003', // Berater, Mandant
      '20270101', '4', // WJ-Beginn, Sachkontenlänge
      '20270101', '20271231', // Datum vom, bis
      '"Mitgliedsbeiträge 2027"', '""', // Bezeichnung, Diktatkürzel
      '1', '0', '0', // Buchungstyp Fibu, Rechnungslegungszweck, Festschreibung off
      '"EUR"', '', '', '', '',
      '"04"', '', '', '', '""',
    ]);
  });

  it('has DATEV\'s 125 column names and 125 fields in every booking line', () => {
    const cols = fields(lines[1]);
    expect(cols).to.have.length(125);
    expect(cols).to.deep.equal([...EXTF_COLUMNS]);
    expect(cols.slice(0, 14)).to.deep.equal(['Umsatz (ohne Soll/Haben-Kz)', 'Soll/Haben-Kennzeichen', 'WKZ Umsatz', 'Kurs', 'Basis-Umsatz', 'WKZ Basis-Umsatz', 'Konto',
      'Gegenkonto (ohne BU-Schlüssel)', 'BU-Schlüssel', 'Belegdatum', 'Belegfeld 1', 'Belegfeld 2', 'Skonto', 'Buchungstext']);
    expect(cols[113]).to.equal('Festschreibung');
    expect(cols[124]).to.equal('Abw. Skontokonto');
    const rows = lines.slice(2).filter((l) => l);
    expect(rows).to.have.length(6);
    for (const r of rows) expect(fields(r)).to.have.length(125);
  });

  it('writes amounts with a decimal comma, S/H, DDMM dates, the invoice number in Belegfeld 1, and accounts per VAT rate', () => {
    const rows = lines.slice(2).filter((l) => l).map(fields).map((r) => [r[0], r[1], r[2], r[6], r[7], r[8], r[9], r[10]]);
    expect(rows).to.deep.equal([
      ['1200,00', '"S"', '"EUR"', '10007', '4200', '', '0501', '"2027-0001"'],
      ['1200,00', '"S"', '"EUR"', '1800', '10007', '', '0102', '"2027-0001"'],
      ['500,00', '"S"', '"EUR"', '10008', '4200', '', '1003', '"2027-0002"'], // outside VAT
      ['119,00', '"S"', '"EUR"', '10008', '4400', '', '1003', '"2027-0002"'], // 19 %, gross on the automatic account, no BU-Schlüssel
      ['10,70', '"S"', '"EUR"', '10008', '4300', '', '1003', '"2027-0002"'], // 7 %
      ['1200,00', '"H"', '"EUR"', '10007', '4200', '', '0104', '"2027-0003"'], // the cancellation the other way
    ]);
    expect(text).not.to.match(/\d\.\d{3},/); // no thousands dots
  });

  it('is Windows-1252 with CRLF: ü, ä and the dash are one byte each, nothing is UTF-8', () => {
    expect(file.includes(Buffer.from([0xfc]))).to.equal(true); // ü
    expect(file.includes(Buffer.from([0x96]))).to.equal(true); // – (en dash, 0x96 in Windows-1252)
    expect(file.includes(Buffer.from('ü', 'utf8'))).to.equal(false);
    expect(text.endsWith('\r\n')).to.equal(true);
    expect(text.replace(/\r\n/g, '')).not.to.match(/[\r\n]/);
    expect([...windows1252('€ Łódź')]).to.deep.equal([0x80, 0x20, 0x3f, 0xf3, 0x64, 0x3f]);
  });

  it('splits an invoice by VAT rate so the parts add up to its amount; the defaults are DATEV\'s accounts', () => {
    const parts = revenueParts(-(1000 + 1190), [line(1000, 'O', null), line(1000, 'S', 19)], DATEV_CHART_DEFAULTS.SKR03);
    expect(parts).to.deep.equal([{ account: '8200', cents: 1000 }, { account: '8400', cents: 1190 }]);
    expect(revenueParts(5000, undefined, DATEV_CHART_DEFAULTS.SKR03)).to.deep.equal([{ account: '8200', cents: 5000 }]);
    expect(DEFAULT_DATEV).to.include({ chart: 'SKR03', revenueAccount: '8200', bankAccount: '1200', vat19Account: '8400', vat7Account: '8300' });
    expect(DATEV_CHART_DEFAULTS.SKR04).to.deep.equal({ revenueAccount: '4200', bankAccount: '1800', vat19Account: '4400', vat7Account: '4300' });
  });
});
