import { z } from 'zod';
import { dateField } from '../web/fields.ts';
import { isCountry, organisationFieldRules } from './organisation-fields.ts';

export { postcodeError } from './organisation-fields.ts';

/** Form input of the member register; messages are i18n keys (see server/web/forms.ts). */

/** The countries the register's and the portal's forms list (any of COUNTRIES is accepted; see organisation-fields.ts). */
export const COUNTRY_CODES = ['DE', 'AT', 'CH', 'NL', 'BE', 'FR', 'PL', 'CZ', 'DK', 'LU', 'IT', 'ES', 'SE', 'GB', 'US', 'JP', 'CN'] as const;

/**
 * The country choices of the edit forms (register, portal): the usual list, plus the organisation's
 * own country when it is another one the organisation fields accept (an application from Norway),
 * so that saving never silently switches it.
 */
export function countryOptions(t: (key: string) => string, locale: string, current?: unknown): { code: string; name: string }[] {
  const usual: readonly string[] = COUNTRY_CODES;
  return [
    ...COUNTRY_CODES.map((code) => ({ code, name: t(`common.countries.${code}`) })),
    ...(typeof current === 'string' && isCountry(current) && !usual.includes(current)
      ? [{ code: current, name: new Intl.DisplayNames([locale], { type: 'region' }).of(current) ?? current }] : []),
  ];
}

const text = (max: number) => z.string().trim().max(max, 'common.validation.tooLong').default('');
const required = (max: number) => z.string().trim().min(1, 'common.validation.required').max(max, 'common.validation.tooLong');
const version = z.coerce.number({ message: 'common.validation.invalid' }).int('common.validation.invalid').min(1, 'common.validation.invalid');
const checkbox = z.unknown().optional().transform((v) => v === 'yes' || v === 'on' || v === '1' || v === 'true' || v === true);
// h/harden2: dates with bounds (server/web/fields.ts): a change takes effect at most 5 years ahead; a notice received after today: the service says so
const date = dateField({ yearsAhead: 5 });
const receivedDate = dateField({});
const id = z.coerce.number({ message: 'common.validation.choice' }).int('common.validation.choice').positive('common.validation.choice');

export const organisationEditSchema = z
  .object({
    ...organisationFieldRules(),
    notes: z.string().max(10_000, 'common.validation.tooLong').default('').transform((v) => v.replace(/\r\n/g, '\n').trim()),
    version,
  });
export type OrganisationEdit = z.infer<typeof organisationEditSchema>;

export const contactSchema = z.object({
  name: required(200),
  email: z
    .string()
    .trim()
    .max(254, 'common.validation.tooLong')
    .refine((v) => v === '' || z.email().safeParse(v).success, 'common.validation.email')
    .transform((v) => v.toLowerCase()),
  phone: text(60).refine((v) => v === '' || /^[+0-9 ()/\-.]{3,60}$/.test(v), 'members.validation.phone'),
  position: text(200),
  isRepresentative: checkbox,
  isBilling: checkbox,
  locale: z.enum(['de', 'en'], { message: 'common.validation.choice' }),
  consentEmailInvitations: checkbox,
  invite: checkbox,
  version: z.coerce.number().int().min(0).default(0), // 0 for a new contact
});
export type ContactInput = z.infer<typeof contactSchema>;

export const categoryChangeSchema = z.object({
  categoryId: id,
  effectiveDate: date,
  note: text(1000),
  version,
});

export const noticeSchema = z.object({ receivedDate, note: text(1000), version });
export const exclusionSchema = z.object({
  reference: required(200),
  effectiveDate: date,
  note: text(1000),
  version,
});
export const dissolutionSchema = z.object({ effectiveDate: date, note: text(1000), version });
export const reactivationSchema = z.object({ effectiveDate: date, note: text(1000), version });
export const withdrawNoticeSchema = z.object({ note: text(1000), version });

/** The list's query string; anything unexpected falls back to the default instead of failing. */
export const SORTS = ['number', 'name', 'city', 'joined'] as const;
export type SortKey = (typeof SORTS)[number];
export const STATUSES = ['active', 'notice_given', 'former'] as const;

// Missing parameters take their default at once (`default` before `catch`): a caught error
// builds a message, which cost more than the rest of the parsing.
export const listQuerySchema = z.object({
  q: z.string().catch('').default('').transform((v) => v.slice(0, 1000)),
  status: z.enum(['', 'current', ...STATUSES]).catch('').default(''),
  category: z.coerce.number().int().positive().optional().catch(undefined).optional(),
  year: z.coerce.number().int().min(1800).max(2200).optional().catch(undefined).optional(),
  payment: z.enum(['', 'paid', 'open', 'overdue']).catch('').default(''), // h/stripe: the dues of the current year
  sort: z.enum(SORTS).catch('number').default('number'),
  dir: z.enum(['asc', 'desc']).catch('asc').default('asc'),
  after: z.string().max(2000).optional().catch(undefined).optional(),
  before: z.string().max(2000).optional().catch(undefined).optional(),
});
export type ListQuery = z.infer<typeof listQuerySchema>;
