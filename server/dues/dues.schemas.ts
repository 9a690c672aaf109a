import { z } from 'zod';
import { DateTime } from 'luxon';
import { parseEuroToCents } from '../settings/money.ts';
import { INVOICE_STATUSES } from './invoice.ts';

/** Form input of the treasurer's pages; messages are i18n keys. */

const yearField = z.coerce.number({ message: 'dues.validation.year' }).int('dues.validation.year').min(2000, 'dues.validation.year').max(2100, 'dues.validation.year');

export const yearFormSchema = z.object({ year: yearField });

/** A calendar date as typed: 2027-03-15 (date input) or 15.03.2027; returned as YYYY-MM-DD. */
export const dateField = z.string().trim().min(1, 'common.validation.required').transform((s, ctx) => {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(s) ? DateTime.fromISO(s) : DateTime.fromFormat(s, 'd.M.yyyy');
  if (!iso.isValid || iso.year < 2000 || iso.year > 2100) {
    ctx.addIssue({ code: 'custom', message: 'dues.validation.date' });
    return z.NEVER;
  }
  return iso.toISODate()!;
});

export const moneyField = z.string().trim().min(1, 'common.validation.required').transform((s, ctx) => {
  // h/money: a third decimal is a typing error, said so (not "not an amount")
  if (/^[\d.]*\d,\d{3,}\s*€?$/.test(s) || /^\d+\.\d{3,}\s*€?$/.test(s) && !/^\d{1,3}(\.\d{3})+$/.test(s)) {
    ctx.addIssue({ code: 'custom', message: 'money.errors.cents' });
    return z.NEVER;
  }
  const cents = parseEuroToCents(s);
  if (cents == null || cents <= 0) {
    ctx.addIssue({ code: 'custom', message: 'common.validation.money' });
    return z.NEVER;
  }
  return cents;
});

export const paymentSchema = z.object({
  date: dateField,
  amount: moneyField,
  reference: z.string().trim().max(300, 'common.validation.tooLong').default(''),
});

export const cancelSchema = z.object({
  reason: z.string().trim().min(1, 'common.validation.required').max(200, 'common.validation.tooLong'),
});

export const remindersStopSchema = z.object({
  stopped: z.enum(['1', '0'], { message: 'common.validation.choice' }),
});

export const listFilterSchema = z.object({
  year: z.coerce.number().int().min(2000).max(2100).optional().catch(undefined),
  status: z.enum(INVOICE_STATUSES as [string, ...string[]]).optional().catch(undefined), // why: INVOICE_STATUSES is a non-empty literal list
  q: z.string().trim().max(200).optional().catch(undefined),
  overdue: z.enum(['1']).optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(100_000).optional().catch(undefined),
});

// h/money: corrections of payments (reversal, refund of an overpayment, credit carried over)
export const reversalSchema = z.object({
  date: dateField,
  amount: moneyField,
  reason: z.string().trim().min(1, 'common.validation.required').max(300, 'common.validation.tooLong'),
});

export const refundSchema = reversalSchema;

export const creditSchema = z.object({
  reason: z.string().trim().max(300, 'common.validation.tooLong').default(''),
});
