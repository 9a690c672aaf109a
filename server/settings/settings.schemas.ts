import { z } from 'zod';
import { BGB_MAJORITIES, majorityRuleSchema } from '../assemblies/majority.ts';

/** The association's settings (one place, edited by admins, audited). Every value has a default. */
export const associationSchema = z.object({
  name: z.string().trim().min(2).max(200),
  street: z.string().trim().max(200),
  postcode: z.string().trim().max(20),
  city: z.string().trim().max(100),
  country: z.string().trim().length(2),
  registerCourt: z.string().trim().max(100),
  registerNumber: z.string().trim().max(50),
  taxNumber: z.string().trim().max(50),
  boardMembers: z.string().trim().max(1000),
  contactEmail: z.email().max(254),
  website: z.string().trim().max(300),
  bankHolder: z.string().trim().max(200),
  iban: z.string().trim().max(40),
  bic: z.string().trim().max(11),
  bankName: z.string().trim().max(100),
  sepaCreditorId: z.string().trim().max(35),
  privacyNoticeVersion: z.string().trim().min(1).max(40),
  bylawsUrl: z.string().trim().max(300),
});
export type AssociationSettings = z.infer<typeof associationSchema>;

export const rulesSchema = z.object({
  invitationNoticeDays: z.coerce.number().int().min(0).max(365),
  motionDeadlineDays: z.coerce.number().int().min(0).max(365),
  proxiesAllowed: z.boolean(),
  maxProxiesPerHolder: z.coerce.number().int().min(0).max(100),
  quorumPercent: z.coerce.number().int().min(0).max(100), // 0 = no quorum
  terminationNoticeMonths: z.coerce.number().int().min(0).max(24),
  terminationToYearEnd: z.boolean(),
  duesDueDays: z.coerce.number().int().min(0).max(365),
  proRata: z.enum(['monthly', 'full_year']),
  reminder1Days: z.coerce.number().int().min(1).max(365),
  reminder2Days: z.coerce.number().int().min(1).max(365),
  invoiceTaxNote: z.string().trim().max(300),
  applicationRetentionMonths: z.coerce.number().int().min(1).max(120),
  contactRetentionYears: z.coerce.number().int().min(0).max(30),
  invoiceRetentionYears: z.coerce.number().int().min(8).max(30),
  /** the majority each kind of agenda item needs (§§ 32, 33, 41 BGB; the bylaws may deviate, § 40) */
  majorities: z.object({
    resolution: majorityRuleSchema,
    election: majorityRuleSchema,
    bylaws_change: majorityRuleSchema,
    purpose_change: majorityRuleSchema,
    dissolution: majorityRuleSchema,
  }),
  // h/demand: the minority that may demand an assembly (§ 37 Abs. 1 BGB: the tenth part of the members, unless the bylaws say otherwise)
  minorityDemandBasis: z.enum(['share', 'count']),
  minorityDemandPercent: z.coerce.number().int().min(1).max(100),
  minorityDemandCount: z.coerce.number().int().min(1).max(100_000),
});
export type BylawsRules = z.infer<typeof rulesSchema>;

export const DEFAULT_ASSOCIATION: AssociationSettings = {
  name: 'Mein Verein e.V.',
  street: '',
  postcode: '',
  city: '',
  country: 'DE',
  registerCourt: '',
  registerNumber: '',
  taxNumber: '',
  boardMembers: '',
  contactEmail: 'vorstand@example.org',
  website: '',
  bankHolder: '',
  iban: '',
  bic: '',
  bankName: '',
  sepaCreditorId: '',
  privacyNoticeVersion: '2026-01',
  bylawsUrl: '/documents/satzung',
};

export const DEFAULT_RULES: BylawsRules = {
  invitationNoticeDays: 14,
  motionDeadlineDays: 7,
  proxiesAllowed: true,
  maxProxiesPerHolder: 2,
  quorumPercent: 0,
  terminationNoticeMonths: 3,
  terminationToYearEnd: true,
  duesDueDays: 30,
  proRata: 'monthly',
  reminder1Days: 14,
  reminder2Days: 28,
  invoiceTaxNote: 'Echter Mitgliedsbeitrag, nicht umsatzsteuerbar.',
  applicationRetentionMonths: 6,
  contactRetentionYears: 1,
  invoiceRetentionYears: 8,
  majorities: BGB_MAJORITIES,
  // h/demand: § 37 Abs. 1 BGB, the tenth part of the members
  minorityDemandBasis: 'share',
  minorityDemandPercent: 10,
  minorityDemandCount: 10,
};

export const EMPLOYEE_BANDS = ['1-49', '50-249', '250+'] as const;
export type EmployeeBand = (typeof EMPLOYEE_BANDS)[number];

export const feeRuleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('fixed'), amountCents: z.number().int().min(0).max(100_000_000) }),
  z.object({
    type: z.literal('tiers'),
    tiers: z.object({ '1-49': z.number().int().min(0), '50-249': z.number().int().min(0), '250+': z.number().int().min(0) }),
  }),
]);
export type FeeRule = z.infer<typeof feeRuleSchema>;

export interface Category {
  id: number;
  code: string;
  nameDe: string;
  nameEn: string;
  hasVote: boolean;
  feeRule: FeeRule;
  sortOrder: number;
  active: boolean;
  openToApplicants: boolean;
}
