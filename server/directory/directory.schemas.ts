import { z } from 'zod';

/** Form input of the directory (profile, enquiry, the board's settings); messages are i18n keys. */

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_MULTILINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_LINE = /[\u0000-\u001F\u007F-\u009F]/;
/** Markup of any kind (<b>, </p>, <!--, <?php, <script …): the directory's texts are plain text. */
const MARKUP = /<\s*[a-zA-Z!/?]/;
const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:".]+(\.[^\s@<>()[\]\\,;:".]+)+$/u;

const asString = (v: unknown) => (typeof v === 'string' ? v : v == null || Array.isArray(v) ? '' : String(v));

/** A plain text a person typed: trimmed, \n line ends, at most `max` characters, no control characters, no markup. */
export function plainText(max: number, multiline: boolean, requiredKey?: string) {
  return z.preprocess(
    (v) => asString(v).replace(/\r\n?/g, '\n').trim(),
    (requiredKey ? z.string().min(1, requiredKey) : z.string())
      .max(max, 'common.validation.tooLong')
      .refine((s) => !(multiline ? CONTROL_MULTILINE : CONTROL_LINE).test(s), 'directory.validation.control')
      .refine((s) => !MARKUP.test(s), 'directory.validation.markup'),
  );
}

/** A website: https:// added when typed without a scheme; only http(s) addresses with a host. */
const website = z.preprocess(
  (v) => {
    const s = asString(v).trim();
    return s && !/^[a-z][a-z0-9+.-]*:/i.test(s) ? `https://${s}` : s;
  },
  z.string().max(300, 'directory.validation.website').refine((s) => {
    if (!s) return true;
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && /\./.test(u.hostname) && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'directory.validation.website'),
);

const keys = z.preprocess(
  (v) => (Array.isArray(v) ? v : v == null || v === '' ? [] : [v]).map((x) => asString(x)),
  z.array(z.string().max(40)).max(40, 'common.validation.invalid'),
);

const optionalId = z.preprocess(
  (v) => (v === '' || v == null ? null : Number(v)),
  z.number().int().min(1).nullable(),
);

/** The profile as edited in the portal (the description's limit is the settings'; the service checks it and the fields). */
export const profileSchema = z.object({
  descriptionDe: plainText(5000, true, 'directory.validation.descriptionDe'),
  descriptionEn: plainText(5000, true),
  fields: keys,
  town: plainText(100, false, 'directory.validation.town'),
  website,
  contactId: optionalId,
  removeLogo: z.preprocess((v) => v === 'on' || v === '1' || v === 'true', z.boolean()),
  version: z.coerce.number().int().min(0).default(0),
});
export type ProfileInput = z.infer<typeof profileSchema>;

export const ENQUIRY_MESSAGE_MAX = 3000;

/** A visitor's enquiry to a listed member; `homepage` is the honeypot (a field people never see). */
export const enquirySchema = z.object({
  name: plainText(100, false, 'directory.validation.name'),
  email: z.preprocess((v) => asString(v).trim(), z.string().max(254, 'common.validation.email').refine((s) => EMAIL_RE.test(s), 'common.validation.email')),
  organisation: plainText(200, false),
  message: plainText(ENQUIRY_MESSAGE_MAX, true, 'directory.validation.message'),
  homepage: z.preprocess((v) => asString(v), z.string().max(500)),
});
export type EnquiryInput = z.infer<typeof enquirySchema>;

/** The board's list of fields: one per line, "key | Deutsch | English". */
export const fieldsTextSchema = z.object({
  fieldsText: z.preprocess((v) => asString(v).replace(/\r\n?/g, '\n'), z.string().max(5000, 'common.validation.tooLong')),
  descriptionMax: z.coerce.number({ message: 'common.validation.wholeNumber' }).int('common.validation.wholeNumber').min(100, 'directory.validation.descriptionMax').max(5000, 'directory.validation.descriptionMax'),
});

/** The board's note when it returns a profile. */
export const rejectSchema = z.object({
  note: plainText(2000, true, 'directory.errors.note_required'),
  version: z.coerce.number().int().min(0).default(0),
});
