import crypto from 'node:crypto';
import sharp, { type Metadata, type OutputInfo } from 'sharp';

/**
 * A member's logo as uploaded (PNG, JPEG or SVG), checked and re-encoded as a PNG of at most
 * 400 × 400 pixels: the public pages never serve the uploaded bytes, so a script in an SVG or a
 * payload behind an image header goes nowhere. Refused: anything that is not one of the three
 * formats by its content (not by its name), more than 2 MB, more than 40 megapixels when decoded
 * (a decompression bomb: a small file that unpacks to gigabytes), an SVG that refers to anything
 * outside itself or declares entities.
 */
export const LOGO_MAX_BYTES = 2 * 1024 * 1024;
const MAX_PIXELS = 40_000_000;
const OUT = 400;

export type LogoProblem = 'too_large' | 'not_image' | 'too_many_pixels' | 'svg_unsafe' | 'unreadable';

export class LogoError extends Error {
  constructor(readonly code: LogoProblem) {
    super(code);
  }
}

export interface Logo { content: Buffer; width: number; height: number; bytes: number; sha256: string }

function kindOf(b: Buffer): 'png' | 'jpeg' | 'svg' | undefined {
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  const head = b.subarray(0, 2048).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('<') && /<svg[\s>]/i.test(head)) return 'svg'; // then checked by svgSafe and parsed by librsvg
  return undefined;
}

/** An SVG may draw only with what it contains: no entities, no scripts, no links to files or the net. */
function svgSafe(b: Buffer): boolean {
  const s = b.toString('utf8');
  if (/<!ENTITY/i.test(s) || /<script/i.test(s) || /<foreignObject/i.test(s)) return false;
  for (const m of s.matchAll(/\b(?:xlink:)?href\s*=\s*["']([^"']*)["']/gi)) {
    const v = m[1].trim();
    if (!v.startsWith('#') && !/^data:image\/(png|jpeg);base64,/i.test(v)) return false;
  }
  if (/url\(\s*['"]?(?!#)/i.test(s)) return false;
  return true;
}

export async function processLogo(input: Buffer): Promise<Logo> {
  if (input.length > LOGO_MAX_BYTES) throw new LogoError('too_large');
  const kind = kindOf(input);
  if (!kind) throw new LogoError('not_image');
  if (kind === 'svg' && !svgSafe(input)) throw new LogoError('svg_unsafe');
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: MAX_PIXELS, failOn: 'error' }).metadata();
  } catch (e) {
    if (e instanceof Error && /pixel limit/i.test(e.message)) throw new LogoError('too_many_pixels');
    throw new LogoError('unreadable');
  }
  if (meta.format !== kind && !(kind === 'jpeg' && meta.format === 'jpeg')) throw new LogoError('not_image');
  if (!meta.width || !meta.height) throw new LogoError('unreadable');
  if (meta.width * meta.height > MAX_PIXELS) throw new LogoError('too_many_pixels');
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(input, { limitInputPixels: MAX_PIXELS, failOn: 'error', density: kind === 'svg' ? 144 : undefined })
      .resize({ width: OUT, height: OUT, fit: 'inside', withoutEnlargement: true })
      .png({ compressionLevel: 9 })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    if (e instanceof Error && /pixel limit/i.test(e.message)) throw new LogoError('too_many_pixels');
    throw new LogoError('unreadable');
  }
  return { content: out.data, width: out.info.width, height: out.info.height, bytes: out.data.length, sha256: crypto.createHash('sha256').update(out.data).digest('hex') };
}
