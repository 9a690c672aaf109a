import type { Knex } from 'knex';
import { nextValue } from '../db/counters.ts';

/**
 * Invoice numbers: one gapless sequence per year (2027-0001, 2027-0002, …), shared by
 * invoices and cancellation invoices. The counter moves inside the issuing transaction, so a
 * rolled-back issue gives its number back and a committed one is never used again.
 */
export function formatInvoiceNumber(year: number, n: number): string {
  return `${year}-${String(n).padStart(4, '0')}`;
}

export function counterName(year: number): string {
  return `invoice-${year}`;
}

export async function nextInvoiceNumber(trx: Knex.Transaction, year: number): Promise<string> {
  const n = await nextValue(trx, counterName(year), async () => 1);
  return formatInvoiceNumber(year, n);
}
