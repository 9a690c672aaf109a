/**
 * The Leitweg-ID of a German public body (KoSIT, "Format und Prüfziffer der Leitweg-ID"):
 * Grobadressierung (2–12 digits), optionally "-" Feinadressierung (up to 30 letters/digits),
 * "-" two check digits, ISO/IEC 7064 MOD 97-10 over the ID without its separators (letters
 * counted as 10…35, as in an IBAN), the check digits chosen so the whole number mod 97 is 1.
 */
const FORMAT = /^(\d{2,12})(?:-([0-9A-Z]{1,30}))?-(\d{2})$/;

/** The ID as entered, trimmed and in upper case (the check is case-insensitive). */
export function normaliseLeitwegId(raw: string): string {
  return raw.trim().toUpperCase();
}

function mod97(digits: string): number {
  let r = 0;
  for (const ch of digits) r = (r * 10 + Number(ch)) % 97;
  return r;
}

function numeric(s: string): string {
  return [...s].map((c) => (/\d/.test(c) ? c : String(c.charCodeAt(0) - 55))).join('');
}

/** The two check digits for the ID's first parts (Grob- and Feinadressierung, without separators). */
export function leitwegCheckDigits(body: string): string {
  return String(98 - mod97(numeric(body.toUpperCase()) + '00')).padStart(2, '0');
}

/** 'format' when it does not look like a Leitweg-ID, 'checksum' when the check digits are wrong, null when valid. */
export function leitwegProblem(raw: string): 'format' | 'checksum' | null {
  const m = FORMAT.exec(normaliseLeitwegId(raw));
  if (!m) return 'format';
  const body = m[1] + (m[2] ?? '');
  return mod97(numeric(body + m[3])) === 1 ? null : 'checksum';
}
