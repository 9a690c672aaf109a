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
export type ParsedFont = { layout: (...a: unknown[]) => unknown; hasGlyphForCodePoint(cp: number): boolean };
export type Fonts = { regular: ParsedFont; bold: ParsedFont };
let parsedFonts: Fonts | undefined;
export function fonts(): Fonts {
  parsedFonts ??= parseFonts();
  return parsedFonts;
}

/** Noto Sans regular and bold, parsed anew (fonts() keeps one pair per process). */
export function parseFonts(): Fonts {
  return { regular: parse(fs.readFileSync(FONT_REGULAR)), bold: parse(fs.readFileSync(FONT_BOLD)) };
}

type Glyph = { codePoints: number[] };
type FontkitFont = ParsedFont & { getGlyph(id: number, codePoints?: number[]): Glyph };

/**
 * A font parsed by fontkit, whose glyph cache keeps the characters of each glyph. fontkit caches
 * a glyph with the characters of its first use; a glyph first met as the part of a composite
 * ("U" inside "Ü", when a document's subset is written) is cached with none, and every later
 * document then wrote "U" without its character: the text looked right but read (copy, search,
 * screen readers, pdftotext) as "msatzsteuer". The characters of a later use are kept instead.
 */
function parse(buf: Buffer, postscriptName?: string): ParsedFont {
  const font = fontkit().create(buf, postscriptName) as FontkitFont;
  const getGlyph = font.getGlyph.bind(font);
  font.getGlyph = (id: number, codePoints: number[] = []): Glyph => {
    const glyph = getGlyph(id, codePoints);
    if (codePoints.length && !glyph.codePoints.length) glyph.codePoints = codePoints;
    return glyph;
  };
  return font;
}

/** fontkit as pdfkit bundles it. */
function fontkit(): { create(buf: Buffer, postscriptName?: string): ParsedFont } {
  return createRequire(require.resolve('pdfkit'))('fontkit') as { create(buf: Buffer, postscriptName?: string): ParsedFont }; // why: pdfkit bundles fontkit; create() is the one function used, typed here
}

// h/harden2: characters Noto Sans lacks (Chinese, Japanese, Korean: 株式会社) print in Noto Sans CJK
/**
 * Debian's fonts-noto-cjk (README: prerequisites); PDF_CJK_FONT_DIR points elsewhere. Loaded on the
 * first text that needs it (the files are 20 MB each). Without it such characters print as empty
 * boxes, as before, and everything else still works.
 */
const CJK_DIR = process.env.PDF_CJK_FONT_DIR || '/usr/share/fonts/opentype/noto';
let cjk: { regular: ParsedFont; bold: ParsedFont } | null | undefined;
export function cjkFonts(): { regular: ParsedFont; bold: ParsedFont } | null {
  if (cjk === undefined) {
    try {
      cjk = {
        regular: parse(fs.readFileSync(path.join(CJK_DIR, 'NotoSansCJK-Regular.ttc')), 'NotoSansCJKjp-Regular'),
        bold: parse(fs.readFileSync(path.join(CJK_DIR, 'NotoSansCJK-Bold.ttc')), 'NotoSansCJKjp-Bold'),
      };
    } catch {
      cjk = null;
    }
  }
  return cjk;
}

/** Latin (with all of Latin Extended), general punctuation and the euro sign: Noto Sans has them all. */
const SURELY_LATIN = /^[\t\n\r\u0020-\u024F\u2000-\u20CF]*$/;

/** Whether a text holds a character the font has no glyph for. */
export function lacksGlyphs(font: ParsedFont, s: string): boolean {
  if (SURELY_LATIN.test(s)) return false;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0x20 && !font.hasGlyphForCodePoint(cp)) return true;
  }
  return false;
}
// h/harden2: end

/**
 * Registers the fonts as 'regular' and 'bold' on a document. A text with characters these lack
 * (h/harden2) is written, and measured, in Noto Sans CJK of the same weight when it is installed.
 */
export function registerFonts(doc: PDFKit.PDFDocument, f: Fonts = fonts()): void {
  doc.registerFont('regular', f.regular as unknown as Buffer); // why: pdfkit's typings take a path or Buffer, but registerFont also accepts a fontkit font object (PDFFontFactory.open)
  doc.registerFont('bold', f.bold as unknown as Buffer); // why: as above
  // h/harden2: the fallback for characters Noto Sans lacks, per text call
  let current: string | undefined;
  const registered = new Set<string>();
  const setFont = doc.font.bind(doc);
  doc.font = ((src: unknown, ...rest: unknown[]) => {
    current = typeof src === 'string' ? src : undefined;
    return (setFont as (...a: unknown[]) => PDFKit.PDFDocument)(src, ...rest); // why: font() is overloaded; the arguments are passed on unchanged
  }) as typeof doc.font; // why: the wrapper takes font()'s arguments unchanged
  let inFallback = false; // text() measures its words with widthOfString(): those calls keep the font chosen
  const withFallback = <T>(s: unknown, run: () => T): T => {
    const name = current;
    if (inFallback || (name !== 'regular' && name !== 'bold') || typeof s !== 'string' || !lacksGlyphs(f[name], s)) return run();
    const fallback = cjkFonts();
    if (!fallback) return run();
    if (!registered.has(name)) {
      doc.registerFont(`cjk-${name}`, fallback[name] as unknown as Buffer); // why: as above
      registered.add(name);
    }
    setFont(`cjk-${name}`);
    inFallback = true;
    try {
      return run();
    } finally {
      inFallback = false;
      setFont(name);
    }
  };
  for (const method of ['text', 'widthOfString', 'heightOfString'] as const) {
    const original = (doc[method] as (...a: unknown[]) => unknown).bind(doc); // why: each is overloaded; the arguments are passed on unchanged
    (doc as unknown as Record<string, unknown>)[method] = (s: unknown, ...rest: unknown[]) => withFallback(s, () => original(s, ...rest)); // why: replaces the document's own method with the same signature
  }
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
