import { z } from 'zod';
import { checkVatId } from '../applications/vat-id.ts';
import { EMPLOYEE_BANDS } from '../settings/settings.schemas.ts';

/**
 * The fields that describe an organisation, the same in an application and in the register,
 * their mapping to and from the table columns (applications and organisations share them), and
 * the ONE set of rules for their values: the application form, the register's edit form, the
 * portal's change request and the CSV import all check with these, so a value is accepted or
 * refused the same way everywhere. What differs per form is only which fields may be left
 * empty (an applicant gives everything; the register keeps what it has): `required`.
 * Messages are i18n keys under common.validation.
 */
export interface OrganisationFields {
  legalName: string;
  legalForm: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  website: string;
  registerEntry: string;
  vatId: string;
  fieldOfActivity: string;
  employeeBand: string;
}

/** The columns shared by `organisations` and `applications`. */
export interface OrganisationFieldColumns {
  legal_name: string;
  legal_form: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  website: string;
  register_entry: string;
  vat_id: string;
  field_of_activity: string;
  employee_band: string;
}

/** A text column as read (NOT NULL columns: a string; SQLite and PostgreSQL alike). */
const col = (v: unknown): string => (v == null ? '' : String(v));

/** Reads the shared columns of an organisations or applications row. */
export function organisationFieldsFromRow(r: Partial<Record<keyof OrganisationFieldColumns, unknown>>): OrganisationFields {
  return {
    legalName: col(r.legal_name),
    legalForm: col(r.legal_form),
    street: col(r.street),
    postcode: col(r.postcode),
    city: col(r.city),
    country: col(r.country),
    website: col(r.website),
    registerEntry: col(r.register_entry),
    vatId: col(r.vat_id),
    fieldOfActivity: col(r.field_of_activity),
    employeeBand: col(r.employee_band),
  };
}

export function organisationFieldsToRow(o: OrganisationFields): OrganisationFieldColumns {
  return {
    legal_name: o.legalName,
    legal_form: o.legalForm,
    street: o.street,
    postcode: o.postcode,
    city: o.city,
    country: o.country,
    website: o.website,
    register_entry: o.registerEntry,
    vat_id: o.vatId,
    field_of_activity: o.fieldOfActivity,
    employee_band: o.employeeBand,
  };
}

/** Countries an organisation may be in: Germany first, then the EU, the neighbours and the usual others. */
export const COUNTRIES = [
  'DE', 'AT', 'BE', 'BG', 'CH', 'CY', 'CZ', 'DK', 'EE', 'ES', 'FI', 'FR', 'GB', 'GR', 'HR', 'HU', 'IE', 'IS', 'IT',
  'LI', 'LT', 'LU', 'LV', 'MT', 'NL', 'NO', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK', 'US', 'CA', 'CN', 'JP', 'KR', 'IN',
] as const;

export function isCountry(v: unknown): boolean {
  return typeof v === 'string' && (COUNTRIES as readonly string[]).includes(v); // why: widening a const tuple to test membership
}

/** The longest value each text field holds (characters, after trimming). */
export const ORGANISATION_MAX = {
  legalName: 200, legalForm: 60, street: 200, city: 100, website: 300, registerEntry: 200, vatId: 30, fieldOfActivity: 500,
} as const;

/**
 * The postcode's format by country: five digits in Germany; elsewhere 2–10 letters, digits,
 * spaces or hyphens, starting and ending with a letter or digit ("1012 AB", "90-001", "SW1A 1AA";
 * not "-AB"). Compared in upper case (stored so). An i18n key, or undefined when it is fine;
 * empty is refused only when `required`.
 */
export function postcodeError(postcode: unknown, country: unknown, required = false): string | undefined {
  const p = typeof postcode === 'string' ? postcode.trim().toUpperCase() : '';
  if (!p) return required ? 'common.validation.required' : undefined;
  if (country === 'DE') return /^\d{5}$/.test(p) ? undefined : 'common.validation.postcodeDE';
  return /^[A-Z0-9][A-Z0-9 -]{0,8}[A-Z0-9]$/.test(p) ? undefined : 'common.validation.postcode';
}

/** A web address; "www.firma.de" becomes "https://www.firma.de". */
export function websiteValue(input: string): string | undefined {
  const v = input.trim();
  if (!v) return '';
  const withScheme = /^https?:\/\//i.test(v) ? v : `https://${v}`;
  try {
    const u = new URL(withScheme);
    if (!u.hostname.includes('.') || /\s/.test(v)) return undefined;
    return withScheme;
  } catch {
    return undefined;
  }
}

const nfc = (s: string) => s.normalize('NFC');
const text = (max: number, isRequired: boolean) =>
  z.string().trim().default('')
    .refine((v) => !isRequired || v.length > 0, 'common.validation.required')
    .refine((v) => v.length <= max, 'common.validation.tooLong')
    .transform(nfc);

/** Which fields a form requires (legal name and town always; the rest per form). */
export type RequiredField = 'legalForm' | 'street' | 'postcode' | 'fieldOfActivity' | 'employeeBand';

/**
 * The zod rules of every organisation field, keyed by field name. The postcode is only
 * trimmed and upper-cased here: its format depends on the country and is checked with
 * postcodeError() apart, so that its error shows even when other fields fail.
 */
export function organisationFieldRules(required: readonly RequiredField[] = []) {
  const req = (f: RequiredField) => required.includes(f);
  return {
    legalName: text(ORGANISATION_MAX.legalName, true),
    legalForm: text(ORGANISATION_MAX.legalForm, req('legalForm')),
    street: text(ORGANISATION_MAX.street, req('street')),
    postcode: z.string().trim().default('').transform((v) => v.toUpperCase()),
    city: text(ORGANISATION_MAX.city, true),
    country: z.string().default('').refine(isCountry, 'common.validation.choice'),
    website: z.string().trim().default('').refine((v) => v.length <= ORGANISATION_MAX.website, 'common.validation.tooLong').transform((v, ctx) => {
      const w = websiteValue(v);
      if (w !== undefined) return w;
      ctx.addIssue({ code: 'custom', message: 'common.validation.url' });
      return z.NEVER;
    }),
    registerEntry: text(ORGANISATION_MAX.registerEntry, false),
    vatId: z.string().trim().default('').refine((v) => v.length <= ORGANISATION_MAX.vatId, 'common.validation.tooLong').transform((v, ctx) => {
      if (!v) return '';
      const c = checkVatId(v);
      if (c.ok) return c.value;
      ctx.addIssue({ code: 'custom', message: c.reason === 'checksum' ? 'common.validation.vatIdChecksum' : 'common.validation.vatId' });
      return z.NEVER;
    }),
    fieldOfActivity: text(ORGANISATION_MAX.fieldOfActivity, req('fieldOfActivity')),
    employeeBand: z.string().default('').refine((v) => (v === '' && !req('employeeBand')) || (EMPLOYEE_BANDS as readonly string[]).includes(v), 'common.validation.choice'), // why: widening a const tuple
  };
}

/** The organisation fields as one object schema (the import checks its rows with it). */
export function organisationFieldsSchema(required: readonly RequiredField[] = []) {
  return z.object(organisationFieldRules(required));
}
