import { z } from 'zod';
import { checkVatId } from '../applications/vat-id.ts';
import { EMPLOYEE_BANDS } from '../settings/settings.schemas.ts';
import { isCalendarDate } from './exit-rules.ts';

/** Form input of the member register; messages are i18n keys (see server/web/forms.ts). */

export const COUNTRY_CODES = ['DE', 'AT', 'CH', 'NL', 'BE', 'FR', 'PL', 'CZ', 'DK', 'LU', 'IT', 'ES', 'SE', 'GB', 'US', 'JP', 'CN'] as const;

const text = (max: number) => z.string().trim().max(max, 'common.validation.tooLong').default('');
const required = (max: number) => z.string().trim().min(1, 'common.validation.required').max(max, 'common.validation.tooLong');
const version = z.coerce.number({ message: 'common.validation.invalid' }).int('common.validation.invalid').min(1, 'common.validation.invalid');
const checkbox = z.unknown().optional().transform((v) => v === 'yes' || v === 'on' || v === '1' || v === 'true' || v === true);
const date = z.string().trim().refine((v) => v.length > 0, 'common.validation.required').refine((v) => v === '' || isCalendarDate(v), 'members.validation.date');
const id = z.coerce.number({ message: 'common.validation.choice' }).int('common.validation.choice').positive('common.validation.choice');

const website = text(300).transform((v, ctx) => {
  if (!v) return '';
  const withScheme = /^https?:\/\//i.test(v) ? v : `https://${v}`;
  try {
    const u = new URL(withScheme);
    if (!u.hostname.includes('.') || /\s/.test(v)) throw new Error('no host');
    return withScheme;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'common.validation.url' });
    return z.NEVER;
  }
});

const vatId = z.string().trim().max(30, 'common.validation.tooLong').default('').transform((v, ctx) => {
  if (!v) return '';
  const c = checkVatId(v);
  if (c.ok) return c.value;
  ctx.addIssue({ code: 'custom', message: c.reason === 'checksum' ? 'common.validation.vatIdChecksum' : 'common.validation.vatId' });
  return z.NEVER;
});

export const organisationEditSchema = z
  .object({
    legalName: required(200),
    legalForm: text(60),
    street: text(200),
    postcode: text(20).transform((v) => v.toUpperCase()),
    city: required(100),
    country: z.string().refine((v) => (COUNTRY_CODES as readonly string[]).includes(v), 'common.validation.choice'),
    website,
    registerEntry: text(200),
    vatId,
    fieldOfActivity: text(500),
    employeeBand: z.string().default('').refine((v) => v === '' || (EMPLOYEE_BANDS as readonly string[]).includes(v), 'common.validation.choice'),
    notes: z.string().max(10_000, 'common.validation.tooLong').default('').transform((v) => v.replace(/\r\n/g, '\n').trim()),
    version,
  });
export type OrganisationEdit = z.infer<typeof organisationEditSchema>;

/** The postcode's format depends on the country; checked apart so it shows even when other fields fail. */
export function postcodeError(postcode: unknown, country: unknown): string | undefined {
  const p = typeof postcode === 'string' ? postcode.trim().toUpperCase() : '';
  if (!p) return undefined;
  const ok = country === 'DE' ? /^\d{5}$/.test(p) : /^[A-Z0-9][A-Z0-9 -]{0,8}[A-Z0-9]$/.test(p);
  return ok ? undefined : country === 'DE' ? 'common.validation.postcodeDE' : 'common.validation.postcode';
}

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

export const noticeSchema = z.object({ receivedDate: date, note: text(1000), version });
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
  sort: z.enum(SORTS).catch('number').default('number'),
  dir: z.enum(['asc', 'desc']).catch('asc').default('asc'),
  after: z.string().max(2000).optional().catch(undefined).optional(),
  before: z.string().max(2000).optional().catch(undefined).optional(),
});
export type ListQuery = z.infer<typeof listQuerySchema>;
