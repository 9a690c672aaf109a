import { z } from 'zod';
import { dateField as boundedDate, dateOutOfBounds, formsToday, moneyField as boundedMoney, readAmount, readCalendarDate, yearField as boundedYear } from '../web/fields.ts';
import { INVOICE_STATUSES } from './invoice.ts';
import { REQUEST_KEY } from './dues.service.ts'; // h/items: the service's own bound on the form's one-time key

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

// h/items: an invoice with further items (an event fee with 19 % VAT, a sponsoring package) from the member page
/** How many item rows the form offers (it works without JavaScript: empty rows are left out). */
export const ITEM_ROWS = 5;
export const ITEM_VAT = ['19', '7', 'O'] as const;

/** A quantity as Germans type it: 2, 1,5, 0,25 (or 1.5) (up to three decimals, at most 10.000); in thousandths, or the message. */
export function readQuantity(raw: string): { milli: number } | { message: string } {
  const s = raw.trim();
  if (!s) return { message: 'common.validation.required' };
  // a decimal comma with up to three decimals; a decimal point only with one or two (1.000 is a German thousand, refused rather than read as 1)
  const m = /^(\d{1,6})(?:,(\d{1,3}))?$/.exec(s) ?? /^(\d{1,6})\.(\d{1,2})$/.exec(s);
  if (!m) return { message: 'dues.items.quantityFormat' };
  const milli = Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0'));
  if (milli === 0) return { message: 'dues.items.quantityZero' };
  if (milli > 10_000_000) return { message: 'dues.items.quantityTooLarge' };
  return { milli };
}

/** The form's fields by row: item1Name, item1Qty, item1Price, item1Vat … */
export function itemField(row: number, f: 'Name' | 'Qty' | 'Price' | 'Vat'): string {
  return `item${row}${f}`;
}

const servicePeriodBounds = { yearsBack: 10, yearsAhead: 2 };

export const itemsFormSchema = z.record(z.string(), z.unknown()).transform((body, ctx) => {
  const s = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
  const items: { name: string; quantityMilli: number; unitNetCents: number; vat: (typeof ITEM_VAT)[number] }[] = [];
  for (let row = 1; row <= ITEM_ROWS; row++) {
    const name = s(itemField(row, 'Name')).trim();
    const qty = s(itemField(row, 'Qty'));
    const price = s(itemField(row, 'Price'));
    const vat = s(itemField(row, 'Vat'));
    if (!name && !qty.trim() && !price.trim()) continue; // an empty row
    if (!name) ctx.addIssue({ code: 'custom', path: [itemField(row, 'Name')], message: 'dues.items.nameRequired' });
    else if (name.length > 200) ctx.addIssue({ code: 'custom', path: [itemField(row, 'Name')], message: 'common.validation.tooLong', params: { max: 200 } });
    const q = readQuantity(qty);
    if ('message' in q) ctx.addIssue({ code: 'custom', path: [itemField(row, 'Qty')], message: q.message });
    const p = readAmount(price);
    if ('message' in p) ctx.addIssue({ code: 'custom', path: [itemField(row, 'Price')], message: p.message });
    if (!(ITEM_VAT as readonly string[]).includes(vat)) ctx.addIssue({ code: 'custom', path: [itemField(row, 'Vat')], message: 'dues.items.vatChoice' });
    if (name && name.length <= 200 && 'milli' in q && 'cents' in p && (ITEM_VAT as readonly string[]).includes(vat)) {
      items.push({ name, quantityMilli: q.milli, unitNetCents: p.cents, vat: vat as (typeof ITEM_VAT)[number] });
    }
  }
  const withDues = s('withDues') === '1';
  let duesYear: number | null = null;
  if (withDues) {
    const y = boundedYear(1).safeParse(s('year'));
    if (y.success) duesYear = y.data;
    else ctx.addIssue({ code: 'custom', path: ['year'], message: y.error.issues[0]?.message ?? 'input.year.range', params: { min: 2000, max: formsToday().year + 1 } });
  }
  const hasRows = Array.from({ length: ITEM_ROWS }, (_, i) => i + 1).some((row) => s(itemField(row, 'Name')).trim() || s(itemField(row, 'Qty')).trim() || s(itemField(row, 'Price')).trim());
  if (!hasRows && !withDues) ctx.addIssue({ code: 'custom', path: [itemField(1, 'Name')], message: 'dues.items.none' });
  let serviceStart = '';
  let serviceEnd = '';
  if (hasRows) {
    for (const [k, set] of [['serviceStart', (v: string) => { serviceStart = v; }], ['serviceEnd', (v: string) => { serviceEnd = v; }]] as const) {
      const raw = s(k).trim() || (k === 'serviceEnd' ? s('serviceStart').trim() : '');
      const dt = raw ? readCalendarDate(raw) : null;
      if (!raw) ctx.addIssue({ code: 'custom', path: [k], message: 'dues.items.serviceRequired' });
      else if (!dt) ctx.addIssue({ code: 'custom', path: [k], message: 'input.date.invalid' });
      else {
        const out = dateOutOfBounds(dt, servicePeriodBounds);
        if (out) ctx.addIssue({ code: 'custom', path: [k], message: out.message, params: out.params });
        else set(dt.toISODate()!);
      }
    }
    if (serviceStart && serviceEnd && serviceEnd < serviceStart) ctx.addIssue({ code: 'custom', path: ['serviceEnd'], message: 'dues.items.serviceOrder' });
  }
  const requestKey = s('requestKey');
  if (!REQUEST_KEY.test(requestKey)) ctx.addIssue({ code: 'custom', path: [itemField(1, 'Name')], message: 'dues.items.reload' });
  return { items, duesYear, serviceStart, serviceEnd, requestKey, preview: s('action') === 'preview' };
});
