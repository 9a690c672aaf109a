import { z } from 'zod';
import { ITEM_KINDS } from './majority.ts';
import { readBerlinTime } from './berlin-time.ts';
import { dateField } from '../web/fields.ts'; // h/harden2

/** Form input of the assemblies module; messages are i18n keys (see server/web/forms.ts). */

export const ASSEMBLY_KINDS = ['ordinary', 'extraordinary'] as const;
export const FORMATS = ['in_person', 'hybrid', 'virtual'] as const;
/** report | resolution | election | bylaws_change | purpose_change | dissolution; each voting kind has its majority in the settings */
export const AGENDA_KINDS = ITEM_KINDS;
export type AssemblyKind = (typeof ASSEMBLY_KINDS)[number];
export type AssemblyFormat = (typeof FORMATS)[number];
export type AgendaKind = (typeof AGENDA_KINDS)[number];

const text = (max: number) => z.string().trim().max(max, 'common.validation.tooLong');
const required = (max: number) => z.string().trim().min(1, 'common.validation.required').max(max, 'common.validation.tooLong');
const checkbox = z.unknown().optional().transform((v) => v === 'yes' || v === 'on' || v === '1' || v === 'true' || v === true);
const count = (max: number) => z.preprocess(
  (v) => (v === '' || v === undefined ? 0 : v),
  z.coerce.number({ message: 'common.validation.number' }).int('common.validation.number').min(0, 'common.validation.number').max(max, 'common.validation.number'),
);

export const assemblySchema = z
  .object({
    title: z.string().trim().min(3, 'common.validation.tooShort').max(200, 'common.validation.tooLong'),
    kind: z.enum(ASSEMBLY_KINDS, { message: 'common.validation.choice' }),
    date: dateField({ earliestYear: 2000, yearsAhead: 5 }, 'assemblies.validation.date'), // h/harden2: a real day, at most five years ahead
    time: z.string().trim().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'assemblies.validation.time'),
    durationMinutes: z.preprocess(
      (v) => (v === '' || v === undefined ? 120 : v),
      z.coerce.number({ message: 'common.validation.number' }).int('common.validation.number').min(15, 'assemblies.validation.duration').max(24 * 60, 'assemblies.validation.duration'),
    ),
    format: z.enum(FORMATS, { message: 'common.validation.choice' }),
    location: text(1000),
    participationInfo: text(4000),
    copyAllContacts: checkbox,
    /** for a time in the doubled hour of the last Sunday in October: which of the two (summer: UTC+2, winter: UTC+1) */
    timeOffset: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['summer', 'winter'], { message: 'common.validation.choice' }).optional()),
    // h/attend: access data for online participants, sent separately (not in the invitation)
    onlineLink: text(500).refine((s) => s === '' || /^https?:\/\/\S+$/i.test(s), 'attend.validation.onlineLink').optional(),
    onlineMeetingId: text(100).optional(),
    onlineAccessCode: text(100).optional(),
  })
  .superRefine((v, ctx) => {
    // a wall-clock time in Europe/Berlin that does not exist (spring gap) or exists twice (autumn) is not guessed
    const t = readBerlinTime(v.date, v.time);
    if (t.kind === 'gap') ctx.addIssue({ code: 'custom', path: ['time'], message: 'assemblies.validation.timeGap' });
    if (t.kind === 'ambiguous' && !v.timeOffset) ctx.addIssue({ code: 'custom', path: ['timeOffset'], message: 'assemblies.validation.timeAmbiguous' });
    if ((v.format === 'in_person' || v.format === 'hybrid') && !v.location) {
      ctx.addIssue({ code: 'custom', path: ['location'], message: 'assemblies.validation.locationRequired' });
    }
    // § 32 Abs. 2 BGB: the invitation must say how members take part and exercise their rights electronically
    if ((v.format === 'hybrid' || v.format === 'virtual') && !v.participationInfo) {
      ctx.addIssue({ code: 'custom', path: ['participationInfo'], message: 'assemblies.validation.participationRequired' });
    }
  });
export type AssemblyInput = z.infer<typeof assemblySchema>;

export const agendaItemSchema = z
  .object({
    title: required(300),
    description: text(4000),
    kind: z.enum(AGENDA_KINDS, { message: 'common.validation.choice' }),
    proposedText: text(20000),
  })
  .superRefine((v, ctx) => {
    if ((v.kind === 'bylaws_change' || v.kind === 'purpose_change') && !v.proposedText) {
      ctx.addIssue({ code: 'custom', path: ['proposedText'], message: 'assemblies.validation.proposedTextRequired' });
    }
  });
export type AgendaItemInput = z.infer<typeof agendaItemSchema>;

export const sendSchema = z.object({ overrideReason: text(1000), formatConfirmed: checkbox /* h/attend */ });

export const rsvpSchema = z
  .object({
    attending: z.enum(['yes', 'no'], { message: 'assemblies.validation.attending' }),
    peopleCount: count(20),
    names: text(1000),
    /** h/attend: for a hybrid assembly, in the room or online (AnswersService requires it then) */
    mode: z.enum(['', 'room', 'online'], { message: 'common.validation.choice' }).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.attending === 'yes' && v.peopleCount < 1) ctx.addIssue({ code: 'custom', path: ['peopleCount'], message: 'assemblies.validation.peopleCount' });
  });
export type RsvpInput = z.infer<typeof rsvpSchema>;

export const proxySchema = z.object({
  holderOrganisationId: z.coerce.number({ message: 'common.validation.choice' }).int('common.validation.choice').positive('common.validation.choice'),
});

export const motionSchema = z.object({
  title: required(300),
  body: required(20000),
  submittedBy: text(200),
});
export type MotionInput = z.infer<typeof motionSchema>;

/** h/minutes: at most this many candidate rows in an election's result form */
export const ELECTION_ROWS_MAX = 12;

/** The counts stay as typed: DayService.recordResolution checks them against the votes present (checkCounts). */
const rawCount = z.preprocess((v) => (typeof v === 'number' ? String(v) : typeof v === 'string' ? v : ''), z.string().trim().max(12, 'common.validation.number'));
export const resolutionSchema = z.object({
  yes: rawCount,
  no: rawCount,
  abstain: rawCount,
  invalid: rawCount,
  absentConsents: rawCount,
  note: text(2000).optional().transform((v) => v ?? ''),
  /** the result's version the page showed (absent: not checked, e.g. from the CLI) */
  version: z.preprocess((v) => (v === '' || v === undefined ? undefined : v), z.coerce.number().int().min(0).optional()),
  /** once the minutes are sent: why the result is corrected */
  reason: text(1000).optional().transform((v) => v ?? ''),
  /** h/minutes: an election's votes per candidate (rows left empty do not count), its round, and who drew the lot on a tie */
  candidates: z.array(z.object({ name: text(200), votes: rawCount })).max(ELECTION_ROWS_MAX, 'common.validation.invalid').optional().transform((v) => v ?? []),
  round: z.preprocess((v) => (v === '' || v === undefined ? '1' : v), z.enum(['1', '2'], { message: 'common.validation.choice' })).optional().transform((v) => (v === '2' ? 2 : 1)),
  lotWinner: text(200).optional().transform((v) => v ?? ''),
});
/** The result as the service takes it; h/minutes: the election's fields are optional (the CLI and older callers leave them out). */
export type ResolutionInput = Omit<z.infer<typeof resolutionSchema>, 'candidates' | 'round' | 'lotWinner'> & Partial<Pick<z.infer<typeof resolutionSchema>, 'candidates' | 'round' | 'lotWinner'>>;

export const minutesSchema = z.object({
  body: text(200000),
  // h/minutes: chair and minute-taker chosen from the attendance, or typed (the typed name goes first); the day of signing
  chair: text(200).optional().transform((v) => v ?? ''),
  chairOther: text(200).optional().transform((v) => v ?? ''),
  minuteTaker: text(200).optional().transform((v) => v ?? ''),
  minuteTakerOther: text(200).optional().transform((v) => v ?? ''),
  signedOn: text(20).optional().transform((v) => v ?? ''),
  reason: text(1000).optional().transform((v) => v ?? ''),
});

export const attendanceSchema = z.object({
  action: z.enum(['in', 'out'], { message: 'common.validation.choice' }),
  personName: text(200).optional().transform((v) => v ?? ''),
  /** h/attend: for a hybrid assembly, in the room or online (DayService requires it then) */
  mode: z.enum(['', 'room', 'online'], { message: 'common.validation.choice' }).optional(),
});
