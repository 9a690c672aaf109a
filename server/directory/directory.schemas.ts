import { z } from 'zod';

/** Form input of a member's directory profile; messages are i18n keys (see server/web/forms.ts). */

/**
 * The network's fields of activity (codes; names in directory.fields.<code>). To become a
 * setting the board edits (issue 16 item 2); until then this list is the network's.
 */
export const DIRECTORY_FIELDS = ['energy', 'mobility', 'chemistry', 'recycling', 'plant_engineering', 'research', 'services', 'logistics'] as const;
export type DirectoryField = (typeof DIRECTORY_FIELDS)[number];

export const DESCRIPTION_MAX = 800;
export const TOWN_MAX = 100;

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_MULTILINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** Markup or scripts: a public page never shows a tag, so a text with one is refused. */
const MARKUP = /[<>]|&#|javascript:/i;

const asString = (v: unknown) => (typeof v === 'string' ? v : '');

function text(max: number, requiredKey: string | null) {
  const base = z.string()
    .max(max, 'common.validation.tooLong')
    .refine((s) => !CONTROL_MULTILINE.test(s), 'input.controlCharacters')
    .refine((s) => !MARKUP.test(s), 'directory.validation.markup');
  return z.preprocess((v) => asString(v).replace(/\r\n?/g, '\n').trim(), requiredKey ? base.refine((s) => s.length > 0, requiredKey) : base);
}

export const profileSchema = z.object({
  descriptionDe: text(DESCRIPTION_MAX, 'directory.validation.description'),
  descriptionEn: text(DESCRIPTION_MAX, 'directory.validation.description'),
  fields: z.preprocess(
    (v) => (Array.isArray(v) ? v : v == null || v === '' ? [] : [v]).map(asString),
    z.array(z.enum(DIRECTORY_FIELDS, { message: 'directory.validation.fields' })).min(1, 'directory.validation.fields').max(DIRECTORY_FIELDS.length, 'directory.validation.fields'),
  ),
  town: text(TOWN_MAX, 'directory.validation.town'),
  website: text(300, null).refine((s) => s === '' || /^https?:\/\/[^\s<>"]+\.[^\s<>"]+$/i.test(s), 'directory.validation.website'),
  cooperationContactId: z.coerce.number({ message: 'directory.validation.contact' }).int('directory.validation.contact').min(1, 'directory.validation.contact'),
  version: z.preprocess((v) => (v === '' || v == null ? 0 : Number(v)), z.number().int().min(0)),
  action: z.enum(['save', 'submit'], { message: 'common.validation.invalid' }),
});
export type ProfileInput = z.infer<typeof profileSchema>;
