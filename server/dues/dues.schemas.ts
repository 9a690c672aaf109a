import { z } from 'zod';
import { dateField as boundedDate, moneyField as boundedMoney, yearField as boundedYear } from '../web/fields.ts';
import { INVOICE_STATUSES } from './invoice.ts';

/** Form input of the treasurer's pages; messages are i18n keys. */

// h/harden2: the year, date and money fields with their bounds (server/web/fields.ts)
/** A dues year: from 2000 to next year (the schedule of next year is prepared in December). */
const yearField = boundedYear(1);

export const yearFormSchema = z.object({ year: yearField });

/** The day a payment, refund or reversal was booked: 2027-03-15 or 15.03.2027, from 2000; returned as YYYY-MM-DD (a day after today: the payments service says so). */
export const dateField = boundedDate({ earliestYear: 2000 });

/** An amount paid, refunded or reversed: more than 0 €, two decimals (its upper bound, twice the invoice or what was paid: the payments service). */
export const moneyField = boundedMoney({ unbounded: true });

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
