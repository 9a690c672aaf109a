import { z } from 'zod';
import { ROLES, isRole } from '../auth/roles.ts';
import { compactCode, isValidBic, isValidCreditorId, isValidIban } from '../settings/bank.ts';
import { parseEuroToCents } from '../settings/money.ts';
import { AUTHORITY_CODES, STRIPE_PAYMENT_METHODS, type StripeSettings, type AssociationSettings, type AuthorityCode, type BylawsRules, type FeeRule, type PrivacySettings } from '../settings/settings.schemas.ts';
import { parseRuleCode, VOTING_KINDS, type MajorityRule, type VotingKind } from '../assemblies/majority.ts';
import { WRITTEN_MODES } from '../assemblies/written-rule.ts';
import { RUNOFF_RULES, TIE_RULES } from '../assemblies/election.ts'; // h/minutes

/** Form input as strings: anything else (missing field, array) counts as empty. */
const asString = (v: unknown) => (typeof v === 'string' ? v : '');

function text(max: number, min = 0) {
  let s = z.string().trim();
  if (min > 0) s = s.min(1, 'common.validation.required');
  if (min > 1) s = s.min(min, 'common.validation.tooShort');
  return z.preprocess(asString, s.max(max, 'common.validation.tooLong'));
}

/** A whole number in a range; empty is "required", "-3" is "at least 0". */
function int(min: number, max: number) {
  return z.preprocess(
    asString,
    z
      .string()
      .trim()
      .min(1, 'common.validation.required')
      .regex(/^[+-]?\d{1,9}$/, 'admin.validation.wholeNumber')
      .transform(Number)
      .pipe(z.number().int().min(min, 'admin.validation.numberMin').max(max, 'admin.validation.numberMax')),
  );
}

/** A checkbox: present with a value ("1", "on", "true") is true, missing is false. */
const checkbox = z.preprocess((v) => {
  const list = Array.isArray(v) ? v : [v];
  return list.some((x) => x === '1' || x === 'on' || x === 'true' || x === true);
}, z.boolean());

const email = z.preprocess(
  asString,
  z.string().trim().min(1, 'common.validation.required').max(254, 'common.validation.email').pipe(z.email('common.validation.email')),
);

/** A web address; "www.firma.de" gets https:// in front. Empty is allowed. */
const website = z.preprocess(
  (v) => {
    const s = asString(v).trim();
    return s && !/^[a-z][a-z0-9+.-]*:/i.test(s) ? `https://${s}` : s;
  },
  z.string().max(300, 'common.validation.tooLong').refine((s) => s === '' || isHttpUrl(s), 'common.validation.url'),
);

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.includes('.');
  } catch {
    return false;
  }
}

/** Optional bank code, stored without spaces and upper-case, checked when given. */
function bankCode(max: number, check: (s: string) => boolean, message: string) {
  return z.preprocess((v) => compactCode(asString(v)), z.string().max(max, message).refine((s) => s === '' || check(s), message));
}

export const associationFormSchema = z.object({
  name: text(200, 2),
  street: text(200),
  postcode: text(20),
  city: text(100),
  country: z.preprocess((v) => asString(v).trim().toUpperCase(), z.string().regex(/^[A-Z]{2}$/, 'common.validation.choice')),
  registerCourt: text(100),
  registerNumber: text(50),
  taxNumber: text(50),
  boardMembers: text(1000),
  contactEmail: email,
  website,
  bankHolder: text(200),
  iban: bankCode(34, isValidIban, 'common.validation.iban'),
  bic: bankCode(11, isValidBic, 'admin.validation.bic'),
  bankName: text(100),
  sepaCreditorId: bankCode(35, isValidCreditorId, 'admin.validation.creditorId'),
  /** set by the privacy notice's page (a new version on every change), not by this form */
  privacyNoticeVersion: text(40),
  bylawsUrl: z.preprocess(
    (v) => asString(v).trim(),
    z.string().max(300, 'common.validation.tooLong').refine((s) => s === '' || (s.startsWith('/') && !s.startsWith('//')) || isHttpUrl(s), 'admin.validation.bylawsUrl'),
  ),
}) satisfies z.ZodType<AssociationSettings>;

export const rulesFormSchema = z.object({
  invitationNoticeDays: int(0, 365),
  motionDeadlineDays: int(0, 365),
  proxiesAllowed: checkbox,
  maxProxiesPerHolder: int(0, 100),
  quorumPercent: int(0, 100),
  terminationNoticeMonths: int(0, 24),
  terminationToYearEnd: checkbox,
  duesDueDays: int(0, 365),
  proRata: z.enum(['monthly', 'full_year'], { message: 'common.validation.choice' }),
  reminder1Days: int(1, 365),
  reminder2Days: int(1, 365),
  invoiceTaxNote: text(300),
  applicationRetentionMonths: int(1, 120),
  contactRetentionYears: int(0, 30),
  invoiceRetentionYears: int(8, 30),
  unconfirmedApplicationDays: int(7, 365),
  mailBodyRetentionDays: int(7, 3650),
  auditDetailRetentionYears: int(1, 30),
  // h/notice: unless the bylaws set their own period, supplements keep the invitation notice
  supplementNoticeOwn: checkbox,
  supplementNoticeDays: int(0, 365),
  // h/written: resolutions without an assembly
  writtenResolutionMode: z.enum(WRITTEN_MODES, { message: 'common.validation.choice' }),
  writtenMinParticipationPercent: int(1, 100),
  // h/attend: who is invited and votes, remote participation
  attendanceRight: z.enum(['all_members', 'voting_members'], { message: 'common.validation.choice' }),
  votingRight: z.enum(['category', 'all_members'], { message: 'common.validation.choice' }),
  remoteParticipation: z.enum(['hybrid', 'hybrid_virtual', 'none'], { message: 'common.validation.choice' }),
  // h/attend: end
  // h/demand: the minority for a demanded assembly (§ 37 BGB)
  minorityDemandBasis: z.enum(['share', 'count'], { message: 'common.validation.choice' }),
  minorityDemandPercent: int(1, 100),
  minorityDemandCount: int(1, 100_000),
  // h/evote: electronic ballots open or secret unless the chair says otherwise
  ballotSecrecy: z.enum(['open', 'secret', 'secret_elections'], { message: 'common.validation.choice' }),
}) satisfies z.ZodType<Omit<BylawsRules, 'majorities' | 'elections'>>;

// h/harden2: every rule field keeps its stored value when a form does not send it (a form from before
// the field existed, a field left out of the page), except checkboxes, whose absence means "off"
export function keptRuleValues(stored: BylawsRules): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(rulesFormSchema.shape)) {
    if (s === checkbox) continue;
    const v: unknown = (stored as Record<string, unknown>)[k]; // why: the keys are rulesFormSchema's, which match BylawsRules' fields
    if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  }
  return out;
}

/** The fields of the settings form that are checkboxes (absent: off). */
export const SETTINGS_CHECKBOXES = Object.entries(rulesFormSchema.shape).filter(([, s]) => s === checkbox).map(([k]) => k);
// h/harden2: end

/** The majority a kind of agenda item needs, chosen as one value (see ruleCode). */
const majority = z.preprocess((v) => parseRuleCode(asString(v)) ?? undefined, z.custom<MajorityRule>((v) => v != null, 'common.validation.choice'));

/** The form field of a kind's majority: majority_bylaws_change. */
export const majorityField = (kind: VotingKind) => `majority_${kind}` as const;

export const majoritiesFormSchema = z.object({
  majority_resolution: majority,
  majority_election: majority,
  majority_bylaws_change: majority,
  majority_purpose_change: majority,
  majority_dissolution: majority,
});

// h/minutes: the run-off and tie rules of elections
export const electionsFormSchema = z.object({
  election_runoff: z.enum(RUNOFF_RULES, { message: 'common.validation.choice' }),
  election_tie: z.enum(TIE_RULES, { message: 'common.validation.choice' }),
});

// h/money2: the methods the Stripe payment page offers (settings 'stripe'), a list of checkboxes
export const stripeFormSchema = z.object({
  paymentMethods: z.preprocess(
    (v) => [...new Set(Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v])],
    z.array(z.enum(STRIPE_PAYMENT_METHODS, { message: 'common.validation.choice' })).min(1, 'admin.validation.paymentMethods'),
  ),
});
/** A settings form from before the payment methods were on it sends no marker: the stored methods stay. */
export const PAYMENT_METHODS_MARKER = 'paymentMethodsOnForm';

/** The settings page: association data, bylaws rules and the Stripe payment methods in one form. */
export const settingsFormSchema = associationFormSchema.extend(rulesFormSchema.shape).extend(majoritiesFormSchema.shape).extend(electionsFormSchema.shape).extend(stripeFormSchema.shape).superRefine((v, ctx) => {
  if (v.reminder2Days <= v.reminder1Days) {
    ctx.addIssue({ code: 'custom', path: ['reminder2Days'], message: 'admin.validation.reminderOrder' });
  }
});

export function splitSettings(v: z.infer<typeof settingsFormSchema>): { association: AssociationSettings; rules: BylawsRules; stripe: StripeSettings } {
  // why (both): the keys are exactly the form schema's, whose parsed values have the settings' types
  const association = Object.fromEntries(Object.keys(associationFormSchema.shape).map((k) => [k, v[k as keyof typeof v]])) as AssociationSettings;
  const rest = Object.fromEntries(Object.keys(rulesFormSchema.shape).map((k) => [k, v[k as keyof typeof v]])) as Omit<BylawsRules, 'majorities' | 'elections'>; // why: the keys are rulesFormSchema's, each parsed by it
  const majorities = Object.fromEntries(VOTING_KINDS.map((k) => [k, v[majorityField(k)]])) as BylawsRules['majorities']; // why: VOTING_KINDS lists every key, each parsed by majoritiesFormSchema
  const stripe: StripeSettings = { paymentMethods: STRIPE_PAYMENT_METHODS.filter((m) => v.paymentMethods.includes(m)) }; // h/money2: in the settings' order
  return { association, rules: { ...rest, majorities, elections: { runoff: v.election_runoff, tie: v.election_tie } }, stripe };
}

/** A German money amount; empty is "required" only where the fee rule needs it. */
const moneyInput = z.preprocess(asString, z.string().trim().max(30, 'admin.validation.money'));

export const categoryFormSchema = z
  .object({
    code: z.preprocess(
      (v) => asString(v).trim().toLowerCase(),
      z.string().min(1, 'common.validation.required').regex(/^[a-z0-9][a-z0-9_-]{1,39}$/, 'admin.validation.code'),
    ),
    nameDe: text(200, 1),
    nameEn: text(200, 1),
    hasVote: checkbox,
    feeType: z.enum(['fixed', 'tiers'], { message: 'common.validation.choice' }),
    amount: moneyInput,
    tierSmall: moneyInput,
    tierMedium: moneyInput,
    tierLarge: moneyInput,
    sortOrder: int(0, 9999),
    active: checkbox,
    openToApplicants: checkbox,
  })
  .superRefine((v, ctx) => {
    const fields = v.feeType === 'fixed' ? (['amount'] as const) : v.feeType === 'tiers' ? (['tierSmall', 'tierMedium', 'tierLarge'] as const) : [];
    for (const f of fields) {
      if (!v[f]) ctx.addIssue({ code: 'custom', path: [f], message: 'common.validation.required' });
      else {
        const cents = parseEuroToCents(v[f]);
        if (cents === null) ctx.addIssue({ code: 'custom', path: [f], message: 'admin.validation.money' });
        else if (cents > 100_000_000) ctx.addIssue({ code: 'custom', path: [f], message: 'admin.validation.moneyTooLarge' });
      }
    }
  })
  .transform((v) => {
    const feeRule: FeeRule =
      v.feeType === 'fixed'
        ? { type: 'fixed', amountCents: parseEuroToCents(v.amount)! }
        : {
            type: 'tiers',
            tiers: { '1-49': parseEuroToCents(v.tierSmall)!, '50-249': parseEuroToCents(v.tierMedium)!, '250+': parseEuroToCents(v.tierLarge)! },
          };
    return {
      code: v.code, nameDe: v.nameDe, nameEn: v.nameEn, hasVote: v.hasVote, feeRule,
      sortOrder: v.sortOrder, active: v.active, openToApplicants: v.openToApplicants,
    };
  });

/** Checkbox list of roles: one value, several, or none. */
const roles = z.preprocess(
  (v) => [...new Set((Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]).filter(isRole))],
  z.array(z.enum(ROLES, { message: 'admin.validation.roles' })).min(1, 'admin.validation.roles'),
);
const locale = z.enum(['de', 'en'], { message: 'common.validation.choice' });

export const userCreateSchema = z.object({
  email,
  displayName: text(200, 2),
  roles,
  locale,
});

export const userEditSchema = z.object({
  displayName: text(200, 2),
  roles,
  disabled: checkbox,
  locale,
});

export function toArray(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
}

// h/lead: the privacy notice's settings
/** Multi-line text as typed (line breaks normalised to \n). */
function lines(max: number, min = 0) {
  return z.preprocess((v) => asString(v).replace(/\r\n?/g, '\n'), min > 0 ? z.string().trim().min(min, 'common.validation.required').max(max, 'common.validation.tooLong') : z.string().trim().max(max, 'common.validation.tooLong'));
}

export const privacyFormSchema = z.object({
  representedBy: lines(1000),
  dataProtectionContact: lines(1000),
  purposes: lines(6000, 1),
  recipients: lines(6000),
  rights: lines(6000, 1),
  authority: z.enum(AUTHORITY_CODES as [AuthorityCode, ...AuthorityCode[]], { message: 'common.validation.choice' }), // why: AUTHORITY_CODES is non-empty
}) satisfies z.ZodType<PrivacySettings>;
