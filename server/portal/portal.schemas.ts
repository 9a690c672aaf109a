import { z } from 'zod';
import { organisationEditSchema } from '../members/members.schemas.ts';

/** Form input of the member portal; messages are i18n keys (see server/web/forms.ts). */

/**
 * The organisation fields a member contact may ask to change (the register's own rules:
 * VAT ID check, website, country, employee band). The board's notes and the version are not
 * part of a request.
 */
export const REQUESTABLE_FIELDS = [
  'legalName', 'legalForm', 'street', 'postcode', 'city', 'country', 'website', 'registerEntry', 'vatId', 'fieldOfActivity', 'employeeBand',
] as const;
export type RequestableField = (typeof REQUESTABLE_FIELDS)[number];

export const changeRequestSchema = organisationEditSchema.omit({ notes: true, version: true });
export type ChangeRequestInput = z.infer<typeof changeRequestSchema>;

/** The board's decision: a note is optional when approving and required when rejecting. */
export const approveSchema = z.object({
  note: z.string().trim().max(2000, 'common.validation.tooLong').default(''),
});
export const rejectSchema = z.object({
  note: z.string().trim().min(1, 'portal.validation.rejectNote').max(2000, 'common.validation.tooLong'),
});

/** Moving the voting representative: the contact's version as shown on the page. */
export const representativeSchema = z.object({
  version: z.coerce.number({ message: 'common.validation.invalid' }).int('common.validation.invalid').min(1, 'common.validation.invalid'),
});

export const languageSchema = z.object({
  locale: z.enum(['de', 'en'], { message: 'common.validation.choice' }),
});
