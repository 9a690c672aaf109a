import { z } from 'zod';

/** Form input of the minority's demand; messages are i18n keys (see server/web/forms.ts). */

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_MULTILINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_LINE = /[\u0000-\u001F\u007F-\u009F]/;

const asString = (v: unknown) => (typeof v === 'string' ? v : v == null ? '' : String(Array.isArray(v) ? '' : v));

/** A text a person typed: trimmed, line ends as \n, required, at most `max` characters, no control characters. */
function text(max: number, multiline: boolean, requiredKey: string) {
  return z.preprocess(
    (v) => asString(v).replace(/\r\n?/g, '\n').trim(),
    z.string()
      .min(1, requiredKey)
      .max(max, 'common.validation.tooLong')
      .refine((s) => !(multiline ? CONTROL_MULTILINE : CONTROL_LINE).test(s), 'demands.validation.control'),
  );
}

export const PURPOSE_MAX = 300;
export const REASONS_MAX = 10_000;

/** § 37 Abs. 1 BGB: the demand states its purpose (what the assembly shall decide) and the reasons. */
export const demandSchema = z.object({
  purpose: text(PURPOSE_MAX, false, 'demands.validation.purpose'),
  reasons: text(REASONS_MAX, true, 'demands.validation.reasons'),
});
export type DemandInput = z.infer<typeof demandSchema>;

const version = z.coerce.number({ message: 'common.validation.invalid' }).int('common.validation.invalid').min(1, 'common.validation.invalid');

/** The board ties the demand to an assembly and the agenda items that carry its purpose. */
export const linkSchema = z.object({
  assemblyId: z.coerce.number({ message: 'demands.validation.assembly' }).int('demands.validation.assembly').min(1, 'demands.validation.assembly'),
  items: z.preprocess(
    (v) => (Array.isArray(v) ? v : v == null || v === '' ? [] : [v]).map((x) => Number(x)),
    z.array(z.number().int().min(1)).min(1, 'demands.validation.items').max(100, 'demands.validation.items'),
  ),
  version,
});
export type LinkInput = z.infer<typeof linkSchema>;

export const rejectSchema = z.object({
  reason: text(2000, true, 'demands.validation.rejectReason'),
  version,
});
export type RejectInput = z.infer<typeof rejectSchema>;
