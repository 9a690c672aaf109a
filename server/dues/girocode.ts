import { compactCode } from '../settings/bank.ts';

/**
 * The EPC QR code payload ("GiroCode", EPC069-12 version 002, UTF-8) for a SEPA credit
 * transfer: fixed line order, LF separators, no trailing newline, amount as EUR with a dot
 * and two decimals. The structured creditor reference stays empty and the invoice number goes
 * into the unstructured remittance line, which banking apps show as the purpose.
 */
export interface GiroCodeInput {
  bic: string; // optional in version 002 inside the EEA; '' allowed
  name: string; // beneficiary, at most 70 characters
  iban: string;
  amountCents: number; // 1 cent … 999,999,999.99 €
  purpose?: string; // 4-letter purpose code, e.g. 'GDDS'; usually empty
  remittance: string; // unstructured, at most 140 characters
}

function clean(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}

export function epcPayload(input: GiroCodeInput): string {
  const cents = input.amountCents;
  if (!Number.isSafeInteger(cents) || cents < 1 || cents > 99_999_999_999) throw new RangeError('GiroCode amount must be 0.01 to 999999999.99 EUR');
  const amount = `EUR${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  const lines = [
    'BCD',
    '002',
    '1', // UTF-8
    'SCT',
    compactCode(input.bic),
    clean(input.name).slice(0, 70),
    compactCode(input.iban),
    amount,
    clean(input.purpose ?? '').slice(0, 4),
    '', // structured reference (RF…) not used
    clean(input.remittance).slice(0, 140),
  ];
  return lines.join('\n');
}
