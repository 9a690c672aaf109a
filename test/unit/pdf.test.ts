import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderInvoicePdf } from '../../server/dues/invoice-pdf.ts';
import type { Invoice } from '../../server/dues/invoice.ts';
import { cjkFonts } from '../../server/pdf/fonts.ts'; // h/harden2

const hasPdftotext = spawnSync('pdftotext', ['-v']).error === undefined;
const hasZbar = spawnSync('zbarimg', ['--version']).error === undefined && spawnSync('pdftoppm', ['-v']).error === undefined;

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
    },
    description: 'Mitgliedsbeitrag 2027', proRataNote: '', taxNote: 'Echter Mitgliedsbeitrag, nicht umsatzsteuerbar.',
    periodStart: '2027-01-01', periodEnd: '2027-12-31', amountCents: 120000, issueDate: '2027-01-05', dueDate: '2027-02-04',
    status: 'open', paidCents: 0, openCents: 120000, locale: 'de', stripeCustomerId: null, stripeInvoiceId: null, hostedInvoiceUrl: null,
    stripeState: null, reminderLevel: 0, lastReminderAt: null, remindersStopped: false, mailedAt: null, createdAt: '2027-01-05T08:00:00.000Z',
    stripeDispute: null, stripeProblem: null, stripeAmountCents: null, pushError: null, pushErrorPermanent: false, payUrl: null, payMethods: [], // h/stripe (payMethods: h/money2)
    ...over,
  };
}

function pdfText(pdf: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdf-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.pdf'), pdf);
    return execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', path.join(dir, 'a.pdf'), '-'], { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('pdf: the invoice PDF', () => {
  it('is a PDF, and the same invoice always gives the same bytes (regenerable, nothing to store)', async () => {
    const a = await renderInvoicePdf(invoice());
    const b = await renderInvoicePdf(invoice());
    expect(a.subarray(0, 5).toString()).to.equal('%PDF-');
    expect(a.equals(b)).to.equal(true);
    const c = await renderInvoicePdf(invoice({ amountCents: 120001 }));
    expect(a.equals(c)).to.equal(false);
  });

  it('carries every field § 14 Abs. 4 UStG asks for, in German', async function () {
    if (!hasPdftotext) this.skip(); // poppler-utils (pdftotext) not installed: cannot read the PDF's text
    const text = pdfText(await renderInvoicePdf(invoice()));
    for (const s of [
      'ChemieNetzwerk Harz e.V.', 'Adolph-Roemer-Straße 2A', '38678 Clausthal-Zellerfeld', // issuer
      'Harzer Spezialchemie GmbH', 'Am Rammelsberg 12', '38640 Goslar', // recipient
      'Steuernummer', '21/270/12345', // tax number
      'Rechnungsdatum', '05.01.2027', 'Rechnungsnummer', '2027-0001', // date, number
      'Mitgliedsbeitrag 2027, 01.01.2027–31.12.2027', // what and period
      '1.200,00 €', // amount
      'Echter Mitgliedsbeitrag, nicht umsatzsteuerbar.', // tax note
      'Fällig am', '04.02.2027',
      'DE89 3704 0044 0532 0130 00', 'COBADEFFXXX', 'Commerzbank', // bank details
      'GiroCode',
    ]) expect(text, s).to.contain(s);
  });

  it('prints names beyond Latin-1 (Ł, ő) correctly through the embedded font', async function () {
    if (!hasPdftotext) this.skip(); // poppler-utils (pdftotext) not installed
    const text = pdfText(await renderInvoicePdf(invoice()));
    expect(text).to.contain('Anna Łukasiewicz-Szőke');
  });

  // h/harden2: characters the Latin font lacks print through Noto Sans CJK (Debian's fonts-noto-cjk)
  it('prints a Japanese or Chinese organisation and contact name (株式会社), not empty boxes', async function () {
    if (!hasPdftotext) this.skip(); // poppler-utils (pdftotext) not installed
    if (!cjkFonts()) this.skip(); // fonts-noto-cjk not installed: such names print as boxes (README: prerequisites)
    const text = pdfText(await renderInvoicePdf(invoice({
      recipient: { name: '株式会社ハルツ化学', street: '丸の内1-1-1', postcode: '38640', city: 'Goslar', country: 'DE', vatId: '' },
      contactName: '王小明 (Wang Xiaoming)',
    })));
    expect(text).to.contain('株式会社ハルツ化学');
    expect(text).to.contain('丸の内1-1-1');
    expect(text).to.contain('王小明 (Wang Xiaoming)');
    expect(text).to.contain('1.200,00 €'); // the rest of the invoice as before
  });

  it('is in English for English-speaking billing contacts', async function () {
    if (!hasPdftotext) this.skip(); // poppler-utils (pdftotext) not installed
    const text = pdfText(await renderInvoicePdf(invoice({ locale: 'en', description: 'Membership dues 2027' })));
    for (const s of ['Invoice 2027-0001', 'Invoice date', '05/01/2027', 'Tax number', 'Membership dues 2027, 01/01/2027–31/12/2027', '€1,200.00', 'Due date', '04/02/2027']) {
      expect(text, s).to.contain(s);
    }
    expect(text).not.to.contain('Rechnungsdatum');
  });

  it('marks a cancellation invoice, with its negative amount and the invoice it cancels, without a GiroCode', async function () {
    if (!hasPdftotext) this.skip(); // poppler-utils (pdftotext) not installed
    const text = pdfText(await renderInvoicePdf(invoice({ kind: 'cancellation', number: '2027-0009', cancelsNumber: '2027-0001', amountCents: -120000, description: 'Storno: Mitgliedsbeitrag 2027 (Rechnung 2027-0001)' })));
    expect(text).to.contain('Stornorechnung 2027-0009');
    expect(text).to.contain('hebt die Rechnung 2027-0001 vollständig auf');
    expect(text).to.contain('-1.200,00 €');
    expect(text).not.to.contain('GiroCode');
  });

  it('draws a GiroCode that decodes to the EPC payload', async function () {
    if (!hasZbar) this.skip(); // zbar-tools (zbarimg) not installed: cannot decode the QR code
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdfqr-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.pdf'), await renderInvoicePdf(invoice()));
      execFileSync('pdftoppm', ['-r', '200', '-png', '-f', '1', '-l', '1', path.join(dir, 'a.pdf'), path.join(dir, 'p')]);
      const png = fs.readdirSync(dir).find((f) => f.endsWith('.png'))!;
      const out = execFileSync('zbarimg', ['--raw', '-q', '-Sbinary', path.join(dir, png)]);
      expect(out.toString('utf8').replace(/\n$/, '')).to.equal('BCD\n002\n1\nSCT\nCOBADEFFXXX\nChemieNetzwerk Harz e.V.\nDE89370400440532013000\nEUR1200.00\n\n\n2027-0001');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
