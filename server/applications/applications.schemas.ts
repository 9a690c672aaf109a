import { z } from 'zod';
import { LENGTH, sepaIban, sepaText } from '../sepa/rules.ts'; // h/bank2: the SEPA rules for the mandate on the form
import { COUNTRIES, organisationFieldRules, postcodeError, type OrganisationFields as RegisterOrganisationFields } from '../members/organisation-fields.ts';
import type { TFunction } from 'i18next';
import type { FieldErrors } from '../errors.ts';
import { parseForm, str } from '../web/forms.ts';
import type { EmployeeBand } from '../settings/settings.schemas.ts';
import { dateField } from '../web/fields.ts'; // h/harden2

/**
 * Form input of the membership application: flat field names (the same names carry the
 * per-field errors), read as strings, validated with messages that are i18n keys.
 */

/** Countries offered in the form (the register's list: see members/organisation-fields.ts). */
export { COUNTRIES };

export const ORG_FIELDS = [
  'legal_name', 'legal_form', 'street', 'postcode', 'city', 'country', 'website', 'register_entry', 'vat_id',
  'field_of_activity', 'employee_band',
] as const;
export const OTHER_CONTACT_SLOTS = [1, 2, 3] as const;
const CONTACT_FIELDS = [
  'rep_name', 'rep_position', 'rep_email', 'rep_phone',
  'billing_name', 'billing_email', 'billing_phone',
  ...OTHER_CONTACT_SLOTS.flatMap((n) => [`other${n}_name`, `other${n}_position`, `other${n}_email`, `other${n}_phone`]),
];
export const APPLICATION_FIELDS = [
  ...ORG_FIELDS, 'category_id', 'contribution', ...CONTACT_FIELDS,
  'consent_bylaws', 'consent_privacy', 'consent_email', 'submission_key',
  'sepa_scheme', 'sepa_iban', 'sepa_holder', 'sepa_consent',
] as const;

/** The listed fields of a form body as strings (missing, arrays and objects become ''). */
export function pickStrings(body: unknown, fields: readonly string[]): Record<string, string> {
  const b = (body ?? {}) as Record<string, unknown>; // why: any value read from it goes through str(), which takes unknown
  return Object.fromEntries(fields.map((f) => [f, str(b[f])]));
}

const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:".]+(\.[^\s@<>()[\]\\,;:".]+)+$/u;
const PHONE_RE = /^\+?[0-9 ()/.\-–]{5,30}$/;

const nfc = (s: string) => s.normalize('NFC');
const required = (max: number) =>
  z.string().trim().min(1, 'common.validation.required').max(max, 'common.validation.tooLong').transform(nfc);
const optional = (max: number) => z.string().trim().max(max, 'common.validation.tooLong').transform(nfc);
const email = (isRequired: boolean) =>
  z.string().trim().max(254, 'common.validation.tooLong')
    .refine((v) => !isRequired || v.length > 0, 'common.validation.required')
    .refine((v) => v === '' || EMAIL_RE.test(v), 'common.validation.email')
    .transform((v) => v.toLowerCase());
const phone = (isRequired: boolean) =>
  z.string().trim().max(30, 'common.validation.tooLong')
    .refine((v) => !isRequired || v.length > 0, 'common.validation.required')
    .refine((v) => v === '' || PHONE_RE.test(v), 'applications.validation.phone');
const checkbox = z.string().transform((v) => v === 'yes');

/** The organisation fields: the register's rules (members/organisation-fields.ts), an applicant gives every field. */
const org = organisationFieldRules(['legalForm', 'street', 'postcode', 'fieldOfActivity', 'employeeBand']);
export const organisationSchema = z.object({
  legal_name: org.legalName,
  legal_form: org.legalForm,
  street: org.street,
  postcode: org.postcode,
  city: org.city,
  country: org.country,
  website: org.website,
  register_entry: org.registerEntry,
  vat_id: org.vatId,
  field_of_activity: org.fieldOfActivity,
  employee_band: org.employeeBand,
});

/** The register's organisation fields, with the employee band checked. */
export interface OrganisationFields extends RegisterOrganisationFields {
  employeeBand: EmployeeBand;
}

export interface ContactInput {
  role: 'representative' | 'billing' | 'other';
  name: string;
  position: string;
  email: string;
  phone: string;
}

export interface ApplicationInput {
  organisation: OrganisationFields;
  categoryId: number;
  contribution: string;
  contacts: ContactInput[];
  consentEmailInvitations: boolean;
  submissionKey: string;
  /** h/bank2: the SEPA mandate granted on the form (IBAN electronic, checked), or null */
  mandate?: { scheme: 'CORE' | 'B2B'; iban: string; holder: string } | null;
}

const otherContact = z.object({
  name: optional(200),
  position: optional(200),
  email: email(false),
  phone: phone(false),
});

const applicationSchema = organisationSchema.extend({
  category_id: z.string().regex(/^\d{1,9}$/, 'common.validation.choice').transform(Number),
  contribution: required(5000),
  rep_name: required(200),
  rep_position: required(200),
  rep_email: email(true),
  rep_phone: phone(true),
  billing_name: optional(200),
  billing_email: email(false),
  billing_phone: phone(false),
  ...Object.fromEntries(
    OTHER_CONTACT_SLOTS.flatMap((n) => Object.entries(otherContact.shape).map(([k, s]) => [`other${n}_${k}`, s])),
  ) as Record<string, z.ZodType<string>>, // why: each entry is one of otherContact's string fields, renamed per slot
  consent_bylaws: z.string().refine((v) => v === 'yes', 'common.validation.consent'),
  consent_privacy: z.string().refine((v) => v === 'yes', 'common.validation.consent'),
  consent_email: checkbox,
  submission_key: z.string(),
  // h/bank2: the optional SEPA mandate (checked together below)
  sepa_scheme: optional(10),
  sepa_iban: optional(50),
  sepa_holder: optional(200),
  sepa_consent: checkbox,
});

function addError(errors: FieldErrors, key: string, msg: string, t: TFunction): void {
  if (!errors[key]) errors[key] = t(msg);
}

function toOrganisation(d: z.infer<typeof organisationSchema>): OrganisationFields {
  return {
    legalName: d.legal_name,
    legalForm: d.legal_form,
    street: d.street,
    postcode: d.postcode,
    city: d.city,
    country: d.country,
    website: d.website,
    registerEntry: d.register_entry,
    vatId: d.vat_id,
    fieldOfActivity: d.field_of_activity,
    employeeBand: d.employee_band as EmployeeBand, // why: the schema refused anything but EMPLOYEE_BANDS
  };
}

export const SUBMISSION_KEY_RE = /^[A-Za-z0-9_-]{20,64}$/;

/**
 * Validates the application form. Field checks come from the schema; the rules that
 * tie fields together (postcode by country, a contact given only in part, the category
 * offered) are checked even when other fields are wrong, so every error shows at once.
 */
export function parseApplication(
  raw: Record<string, string>,
  t: TFunction,
  categoryIds: number[],
  opts: { mandate?: boolean } = {},
): { ok: true; data: ApplicationInput } | { ok: false; errors: FieldErrors } {
  const parsed = parseForm(applicationSchema, raw, t);
  const errors: FieldErrors = parsed.ok ? {} : { ...parsed.errors };
  // h/bank2: a mandate is offered only with a creditor ID; given at all, every part of it is needed
  let mandate: ApplicationInput['mandate'] = null;
  const given = (k: string) => (raw[k] ?? '').trim() !== '';
  if (opts.mandate && (given('sepa_iban') || given('sepa_holder') || raw.sepa_consent === 'yes')) {
    const iban = sepaIban(raw.sepa_iban ?? '');
    if (!given('sepa_iban')) addError(errors, 'sepa_iban', 'sepa.errors.ibanMissing', t);
    else if (!iban) addError(errors, 'sepa_iban', 'sepa.errors.iban', t);
    const holder = sepaText(raw.sepa_holder ?? '', LENGTH.name);
    if (!given('sepa_holder') || !holder) addError(errors, 'sepa_holder', 'sepa.errors.holder', t);
    else if ((raw.sepa_holder ?? '').trim().length > LENGTH.name) addError(errors, 'sepa_holder', 'sepa.errors.holderLong', t);
    const scheme = raw.sepa_scheme === 'B2B' ? 'B2B' : raw.sepa_scheme === 'CORE' ? 'CORE' : null;
    if (!scheme) addError(errors, 'sepa_scheme', 'sepa.errors.scheme', t);
    if (raw.sepa_consent !== 'yes') addError(errors, 'sepa_consent', 'common.validation.consent', t);
    if (iban && holder && scheme) mandate = { scheme, iban, holder };
  }
  const pcErr = postcodeError(raw.postcode ?? '', raw.country ?? '', true);
  if (pcErr) addError(errors, 'postcode', pcErr, t);
  if (!errors.category_id && !categoryIds.includes(Number(raw.category_id))) addError(errors, 'category_id', 'common.validation.choice', t);
  const filled = (k: string) => (raw[k] ?? '').trim() !== '';
  if ((filled('billing_name') || filled('billing_phone')) && !filled('billing_email')) addError(errors, 'billing_email', 'common.validation.required', t);
  for (const n of OTHER_CONTACT_SLOTS) {
    const p = `other${n}_`;
    if (['name', 'position', 'email', 'phone'].some((f) => filled(p + f))) {
      if (!filled(p + 'name')) addError(errors, p + 'name', 'common.validation.required', t);
      if (!filled(p + 'email')) addError(errors, p + 'email', 'common.validation.required', t);
    }
  }
  if (!parsed.ok || Object.keys(errors).length) return { ok: false, errors };
  const d = parsed.data;
  const contacts: ContactInput[] = [{ role: 'representative', name: d.rep_name, position: d.rep_position, email: d.rep_email, phone: d.rep_phone }];
  if (d.billing_email) contacts.push({ role: 'billing', name: d.billing_name, position: '', email: d.billing_email, phone: d.billing_phone });
  // the further contacts' fields (other1_name …) by name: the schema built them from OTHER_CONTACT_SLOTS
  const strings = new Map(Object.entries(parsed.data).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const field = (k: string) => strings.get(k) ?? '';
  for (const n of OTHER_CONTACT_SLOTS) {
    const p = `other${n}_`;
    if (field(p + 'email')) contacts.push({ role: 'other', name: field(p + 'name'), position: field(p + 'position'), email: field(p + 'email'), phone: field(p + 'phone') });
  }
  return {
    ok: true,
    data: {
      organisation: toOrganisation(parsed.data),
      categoryId: d.category_id,
      contribution: d.contribution,
      contacts,
      consentEmailInvitations: d.consent_email === true,
      submissionKey: SUBMISSION_KEY_RE.test(d.submission_key) ? d.submission_key : '',
      mandate,
    },
  };
}

/** The applicant's answer to a question, with corrections to the organisation's data. */
export const ANSWER_FIELDS = [...ORG_FIELDS, 'answer'] as const;
const answerSchema = organisationSchema.extend({ answer: required(5000) });

export function parseAnswer(
  raw: Record<string, string>,
  t: TFunction,
): { ok: true; data: { answer: string; organisation: OrganisationFields } } | { ok: false; errors: FieldErrors } {
  const parsed = parseForm(answerSchema, raw, t);
  const errors: FieldErrors = parsed.ok ? {} : { ...parsed.errors };
  const pcErr = postcodeError(raw.postcode ?? '', raw.country ?? '', true);
  if (pcErr) addError(errors, 'postcode', pcErr, t);
  if (!parsed.ok || Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, data: { answer: parsed.data.answer, organisation: toOrganisation(parsed.data) } };
}

export const resendSchema = z.object({
  email: z.string().trim().max(254, 'common.validation.tooLong').refine((v) => EMAIL_RE.test(v), 'common.validation.email').transform((v) => v.toLowerCase()),
});

/* Board forms: field names are unique across the detail page, so errors land next to the right form. */
export const commentSchema = z.object({ comment_body: required(5000) });
export const questionSchema = z.object({ question_body: required(5000) });

const version = z.string().regex(/^\d{1,9}$/, 'common.validation.invalid').transform(Number);
// h/harden2: a join date within five years back and one ahead (server/web/fields.ts)
const isoDate = dateField({ yearsBack: 5, yearsAhead: 1 }, 'applications.validation.date');

export const approveSchema = z.object({
  version,
  approve_resolution_ref: required(200),
  approve_join_date: isoDate,
  approve_category_id: z.string().regex(/^\d{1,9}$/, 'common.validation.choice').transform(Number),
});
export const rejectSchema = z.object({
  version,
  reject_resolution_ref: required(200),
  reject_reason: optional(5000),
});
export const withdrawSchema = z.object({
  version,
  withdraw_note: optional(2000),
});
