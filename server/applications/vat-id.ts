/**
 * VAT identification numbers (USt-IdNr.): the format per EU member state (as listed for
 * VIES), Northern Ireland (XI) and the Swiss UID (CHE), plus the check digit of German
 * numbers (ISO 7064 MOD 11,10, as the Bundeszentralamt für Steuern computes it).
 * This is a plausibility check only; whether the number is actually assigned is a VIES query.
 */

/** Formats after the two-letter prefix, once spaces, dots and hyphens are removed. */
const FORMATS: Record<string, RegExp> = {
  AT: /^U\d{8}$/,
  BE: /^[01]\d{9}$/,
  BG: /^\d{9,10}$/,
  CY: /^\d{8}[A-Z]$/,
  CZ: /^\d{8,10}$/,
  DE: /^\d{9}$/,
  DK: /^\d{8}$/,
  EE: /^\d{9}$/,
  EL: /^\d{9}$/, // Greece uses EL, not GR
  ES: /^[A-Z0-9]\d{7}[A-Z0-9]$/,
  FI: /^\d{8}$/,
  FR: /^[A-HJ-NP-Z0-9]{2}\d{9}$/,
  HR: /^\d{11}$/,
  HU: /^\d{8}$/,
  IE: /^(\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W])$/,
  IT: /^\d{11}$/,
  LT: /^(\d{9}|\d{12})$/,
  LU: /^\d{8}$/,
  LV: /^\d{11}$/,
  MT: /^\d{8}$/,
  NL: /^\d{9}B\d{2}$/,
  PL: /^\d{10}$/,
  PT: /^\d{9}$/,
  RO: /^\d{2,10}$/,
  SE: /^\d{10}01$/,
  SI: /^\d{8}$/,
  SK: /^\d{10}$/,
  XI: /^(\d{9}|\d{12}|GD\d{3}|HA\d{3})$/,
};

/** Upper case without spaces, dots and hyphens: "de 626 018 158" → "DE626018158". */
export function normaliseVatId(input: string): string {
  return input.toUpperCase().replace(/[\s.-]/g, '');
}

/** ISO 7064 MOD 11,10 check of a 9-digit German VAT number (without the "DE"). */
export function germanCheckDigitOk(digits: string): boolean {
  if (!/^\d{9}$/.test(digits)) return false;
  let product = 10;
  for (let i = 0; i < 8; i++) {
    let sum = (Number(digits[i]) + product) % 10;
    if (sum === 0) sum = 10;
    product = (2 * sum) % 11;
  }
  let check = 11 - product;
  if (check === 10) check = 0;
  return check === Number(digits[8]);
}

export type VatCheck = { ok: true; value: string } | { ok: false; reason: 'format' | 'checksum' };

/** Checks a VAT ID; `value` is the normalised form to store. */
export function checkVatId(input: string): VatCheck {
  const v = normaliseVatId(input);
  if (/^CHE\d{9}(MWST|TVA|IVA)?$/.test(v)) return { ok: true, value: v };
  const prefix = v.slice(0, 2);
  const rest = v.slice(2);
  const format = FORMATS[prefix];
  if (!format || !format.test(rest)) return { ok: false, reason: 'format' };
  if (prefix === 'DE' && !germanCheckDigitOk(rest)) return { ok: false, reason: 'checksum' };
  return { ok: true, value: v };
}
