/** Checks for the association's bank details: IBAN (ISO 13616, mod 97), BIC (ISO 9362), SEPA creditor ID. */

/** Removes spaces and upper-cases, the form in which IBAN, BIC and creditor IDs are stored. */
export function compactCode(s: string): string {
  return s.replace(/[\s\u00a0-]+/g, '').toUpperCase();
}

/** Remainder mod 97 of a string of letters and digits, letters as 10..35 (A=10), digit by digit. */
function mod97(s: string): number {
  let r = 0;
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    const v = code >= 65 && code <= 90 ? String(code - 55) : ch;
    for (const d of v) r = (r * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return r;
}

// IBAN lengths of the SEPA countries (other countries are checked by format and checksum only).
const IBAN_LENGTH: Record<string, number> = {
  AD: 24, AT: 20, BE: 16, BG: 22, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18, EE: 20, ES: 24, FI: 18, FR: 27, GB: 22,
  GI: 23, GR: 27, HR: 21, HU: 28, IE: 22, IS: 26, IT: 27, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MT: 31, NL: 18,
  NO: 15, PL: 28, PT: 25, RO: 24, SE: 24, SI: 19, SK: 24, SM: 27, VA: 22,
};

export function isValidIban(input: string): boolean {
  const iban = compactCode(input);
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const len = IBAN_LENGTH[iban.slice(0, 2)];
  if (len !== undefined && iban.length !== len) return false;
  return mod97(iban.slice(4) + iban.slice(0, 4)) === 1;
}

/** 4 letters bank code, 2 letters country, 2 location characters, optionally 3 branch characters. */
export function isValidBic(input: string): boolean {
  return /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(compactCode(input));
}

/**
 * SEPA creditor identifier: country, two check digits, a three-character business code
 * (ignored by the checksum), the national identifier; checked with mod 97 like an IBAN.
 * German ones have 18 characters, e.g. DE98ZZZ09999999999.
 */
export function isValidCreditorId(input: string): boolean {
  const id = compactCode(input);
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{3}[A-Z0-9]{1,28}$/.test(id)) return false;
  if (id.startsWith('DE') && id.length !== 18) return false;
  return mod97(id.slice(7) + id.slice(0, 4)) === 1;
}

/** An IBAN in groups of four for reading: DE89 3704 0044 0532 0130 00. */
export function formatIban(input: string): string {
  return compactCode(input).replace(/(.{4})(?=.)/g, '$1 ');
}
