/**
 * Money as typed by people in Germany, turned into integer cents without floating point:
 * "1.200,00", "1200", "1200,5", "1.234.567,89", "250 €". A dot followed by one or two digits
 * (and no comma) is read as a decimal point ("1200.50"), since a thousands dot always
 * groups three digits. Anything else (negative amounts, "1,200.00", "12,345") gives null.
 */
const GERMAN = /^(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?$/;
const DOT_DECIMAL = /^(\d+)\.(\d{1,2})$/;
const MAX_INTEGER_DIGITS = 12; // up to 999.999.999.999 €, well inside Number.MAX_SAFE_INTEGER cents

export function parseEuroToCents(input: unknown): number | null {
  if (typeof input !== 'string') return null;
  const s = input
    .replace(/[\s\u00a0\u202f]+/g, '')
    .replace(/^€/, '')
    .replace(/(€|EUR)$/i, '');
  if (!s) return null;
  let whole: string;
  let fraction: string;
  const g = GERMAN.exec(s);
  if (g) {
    whole = g[1].replace(/\./g, '');
    fraction = g[2] ?? '';
  } else {
    const d = DOT_DECIMAL.exec(s);
    if (!d) return null;
    whole = d[1];
    fraction = d[2];
  }
  whole = whole.replace(/^0+(?=\d)/, '');
  if (whole.length > MAX_INTEGER_DIGITS) return null;
  const cents = fraction.padEnd(2, '0');
  return Number(whole) * 100 + Number(cents);
}

/** Cents as a German amount for an input field: 120000 → "1.200,00". */
export function centsToEuroInput(cents: number): string {
  if (!Number.isSafeInteger(cents)) return '';
  const neg = cents < 0;
  const abs = String(Math.abs(cents)).padStart(3, '0');
  const whole = abs.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${neg ? '-' : ''}${whole},${abs.slice(-2)}`;
}
