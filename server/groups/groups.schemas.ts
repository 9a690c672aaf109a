import { z } from 'zod';

/** Form input of the working groups; messages are i18n keys (see server/web/forms.ts). */

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_MULTILINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_LINE = /[\u0000-\u001F\u007F-\u009F]/;

const asString = (v: unknown) => (typeof v === 'string' ? v : '');

/** A text a person typed: trimmed, line ends as \n, at most `max` characters, no control characters; required unless `requiredKey` is null. */
function text(max: number, multiline: boolean, requiredKey: string | null) {
  const base = z.string().max(max, 'common.validation.tooLong').refine((s) => !(multiline ? CONTROL_MULTILINE : CONTROL_LINE).test(s), 'input.controlCharacters');
  return z.preprocess(
    (v) => asString(v).replace(/\r\n?/g, '\n').trim(),
    requiredKey ? base.refine((s) => s.length > 0, requiredKey) : base,
  );
}

const email = z.preprocess((v) => asString(v).trim().toLowerCase(), z.string().min(1, 'groups.validation.email').max(320, 'common.validation.tooLong').email('groups.validation.email'));
const version = z.coerce.number({ message: 'common.validation.invalid' }).int('common.validation.invalid').min(1, 'common.validation.invalid');

export const NAME_MAX = 200;
export const PURPOSE_MAX = 4000;

export const groupSchema = z.object({
  nameDe: text(NAME_MAX, false, 'groups.validation.name'),
  nameEn: text(NAME_MAX, false, 'groups.validation.name'),
  purposeDe: text(PURPOSE_MAX, true, 'groups.validation.purpose'),
  purposeEn: text(PURPOSE_MAX, true, 'groups.validation.purpose'),
  leadEmail: email,
  sponsorUserId: z.preprocess((v) => (v === '' || v == null ? null : Number(v)), z.number().int().min(1).nullable()),
  access: z.enum(['open', 'invitation'], { message: 'groups.validation.access' }),
});
export type GroupInput = z.infer<typeof groupSchema>;
export const groupEditSchema = groupSchema.extend({ version });
export type GroupEditInput = z.infer<typeof groupEditSchema>;

export const requestSchema = z.object({ message: text(1000, true, null) });
export const addMemberSchema = z.object({ email });

export const MEETING_FORMATS = ['in_person', 'online', 'hybrid'] as const;

export const meetingSchema = z.object({
  title: text(200, false, 'groups.validation.title'),
  date: z.preprocess((v) => asString(v).trim(), z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'groups.validation.date')),
  time: z.preprocess((v) => asString(v).trim(), z.string().regex(/^\d{2}:\d{2}$/, 'groups.validation.time')),
  durationMinutes: z.coerce.number({ message: 'groups.validation.duration' }).int('groups.validation.duration').min(15, 'groups.validation.duration').max(24 * 60, 'groups.validation.duration'),
  format: z.enum(MEETING_FORMATS, { message: 'groups.validation.format' }),
  location: text(500, false, null),
  onlineLink: text(500, false, null).refine((s) => s === '' || /^https:\/\/[^\s<>"]+$/i.test(s), 'groups.validation.link'),
  agenda: text(10_000, true, 'groups.validation.agenda'),
  /** which of the two 02:xx of the October night is meant (only asked when the time is ambiguous) */
  dst: z.preprocess((v) => asString(v), z.enum(['', 'earlier', 'later'])).optional(),
}).superRefine((m, c) => {
  if (m.format !== 'online' && !m.location) c.addIssue({ code: 'custom', path: ['location'], message: 'groups.validation.location' });
  if (m.format !== 'in_person' && !m.onlineLink) c.addIssue({ code: 'custom', path: ['onlineLink'], message: 'groups.validation.linkRequired' });
});
export type MeetingInput = z.infer<typeof meetingSchema>;

export const rsvpSchema = z.object({ answer: z.enum(['yes', 'no', 'maybe'], { message: 'groups.validation.answer' }) });

export const messageSchema = z.object({
  subject: text(200, false, 'groups.validation.subject'),
  body: text(20_000, true, 'groups.validation.body'),
});
export type MessageInput = z.infer<typeof messageSchema>;

export const documentSchema = z.object({
  title: text(200, false, 'groups.validation.docTitle'),
  kind: z.enum(['minutes', 'document'], { message: 'groups.validation.kind' }),
  meetingId: z.preprocess((v) => (v === '' || v == null ? null : Number(v)), z.number().int().min(1).nullable()),
});
export type DocumentInput = z.infer<typeof documentSchema>;

/** The largest PDF a group may keep (minutes and documents). */
export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;
