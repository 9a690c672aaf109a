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

// h/money: the accounts of the DATEV export (Buchungsstapel), a settings key of its own ('datev')
export const datevSchema = z.object({
  chart: z.enum(['SKR03', 'SKR04']),
  /** Beraternummer (1001–9999999) and Mandantennummer (1–99999) of the tax adviser's DATEV */
  consultantNumber: z.coerce.number().int().min(1001).max(9_999_999),
  clientNumber: z.coerce.number().int().min(1).max(99_999),
  /** debtor account of member n: debtorBase + n (Personenkonten 10000–69999) */
  debtorBase: z.coerce.number().int().min(10000).max(69000),
  revenueAccount: z.string().trim().regex(/^\d{4}$/),
  bankAccount: z.string().trim().regex(/^\d{4}$/),
});
export type DatevSettings = z.infer<typeof datevSchema>;

/**
 * Defaults: genuine membership dues are not subject to VAT, so no automatic VAT account
 * (SKR03 8400 / SKR04 4400 would add 19 %) and no BU-Schlüssel: the neutral "Erlöse" account
 * (SKR03 8200, SKR04 4200), bank SKR03 1200 / SKR04 1800, debtors 10000 + member number. The
 * tax adviser may map a dedicated dues account (e.g. in SKR 49 for associations).
 */
export const DATEV_CHART_DEFAULTS: Record<'SKR03' | 'SKR04', { revenueAccount: string; bankAccount: string }> = {
  SKR03: { revenueAccount: '8200', bankAccount: '1200' },
  SKR04: { revenueAccount: '4200', bankAccount: '1800' },
};
export const DEFAULT_DATEV: DatevSettings = { chart: 'SKR03', consultantNumber: 1001, clientNumber: 1, debtorBase: 10000, ...DATEV_CHART_DEFAULTS.SKR03 };
