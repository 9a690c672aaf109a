import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import type PDFDocumentType from 'pdfkit';

/**
 * What every PDF of the application shares: pdfkit, loaded on the first document and not at
 * start (it is large), and Noto Sans regular and bold (embedded, subset; covers Latin incl.
 * Ł, ő, Č, Greek and Cyrillic, which pdfkit's standard fonts would garble).
 */
const require = createRequire(import.meta.url);

let pdfkitModule: Promise<typeof PDFDocumentType> | undefined;
export const loadPdfKit = (): Promise<typeof PDFDocumentType> => (pdfkitModule ??= import('pdfkit').then((m) => m.default));

const fontDir = path.dirname(require.resolve('@expo-google-fonts/noto-sans/package.json'));
const FONT_REGULAR = path.join(fontDir, '400Regular/NotoSans_400Regular.ttf');
const FONT_BOLD = path.join(fontDir, '700Bold/NotoSans_700Bold.ttf');

/**
 * The two fonts parsed once per process (fontkit, which pdfkit depends on): pdfkit takes a
 * parsed font as well as a file, and parsing the 600 kB files again for every document was most
 * of the time a PDF took (a dues run renders thousands). Each document still embeds its own subset.
 */
export type ParsedFont = { layout: (...a: unknown[]) => unknown };
let parsedFonts: { regular: ParsedFont; bold: ParsedFont } | undefined;
export function fonts(): { regular: ParsedFont; bold: ParsedFont } {
  if (!parsedFonts) {
    const fontkit = createRequire(require.resolve('pdfkit'))('fontkit') as { create(buf: Buffer): ParsedFont }; // why: pdfkit bundles fontkit; create() is the one function used, typed here
    parsedFonts = { regular: fontkit.create(fs.readFileSync(FONT_REGULAR)), bold: fontkit.create(fs.readFileSync(FONT_BOLD)) };
  }
  return parsedFonts;
}

/** Registers the fonts as 'regular' and 'bold' on a document. */
export function registerFonts(doc: PDFKit.PDFDocument): void {
  const f = fonts();
  doc.registerFont('regular', f.regular as unknown as Buffer); // why: pdfkit's typings take a path or Buffer, but registerFont also accepts a fontkit font object (PDFFontFactory.open)
  doc.registerFont('bold', f.bold as unknown as Buffer); // why: as above
}

/** Collects a document's bytes; resolves when doc.end() has been called and everything is written. */
export function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  return new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

/** Millimetres in PDF points. */
export const MM = 72 / 25.4;
