import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { collect, loadPdfKit, parseFonts, registerFonts, type Fonts } from '../../server/pdf/fonts.ts';
import { pdfText } from '../helpers/einvoice-standards.ts';

const hasPdftotext = spawnSync('pdftotext', ['-v']).error === undefined;

async function pdf(f: Fonts, lines: string[]): Promise<Buffer> {
  const PDF = await loadPdfKit();
  const doc = new PDF({ size: 'A4' });
  const done = collect(doc);
  registerFonts(doc, f);
  for (const l of lines) doc.font('regular').text(l);
  doc.end();
  return done;
}

/**
 * The fonts are parsed once per process and shared by every document. A document with "Ü" but
 * no "U" (the reminder's "Grund: Lastschrift statt Überweisung") once left "U" without its
 * character for every later document of the process: its invoices read "msatzsteuer", "St 19 %".
 */
describe('PDF fonts shared by the documents of a process', () => {
  before(function () {
    if (!hasPdftotext) this.skip();
  });

  it('a letter that a composite glyph carried into an earlier document still reads as itself in every later one', async () => {
    const f = parseFonts(); // fresh, as at the start of a process
    await pdf(f, ['Grund: Lastschrift statt Überweisung', 'Ärger, Öl']);
    const text = pdfText(await pdf(f, ['USt 19 % · Umsatzsteuer · Abgabe · Oktober']));
    expect(text).to.contain('USt 19 %');
    expect(text).to.contain('Umsatzsteuer');
    expect(text).to.contain('Abgabe');
    expect(text).to.contain('Oktober');
  });
});
