import { z } from 'zod';
import { BGB_MAJORITIES, majorityRuleSchema } from '../assemblies/majority.ts';
import { WRITTEN_MODES } from '../assemblies/written-rule.ts';
import { BGB_ELECTION, electionRulesSchema } from '../assemblies/election.ts'; // h/minutes

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
  // h/lead: retention (the daily run applies these; the mails and the privacy notice quote them)
  /** unconfirmed applications are deleted this many days after they were submitted */
  unconfirmedApplicationDays: z.coerce.number().int().min(7).max(365),
  /** bodies and attachments of sent mails (not invoices) are removed after this many days */
  mailBodyRetentionDays: z.coerce.number().int().min(7).max(3650),
  /** the audit log's before/after values are emptied after this many years (books: 10, § 147 AO) */
  auditDetailRetentionYears: z.coerce.number().int().min(1).max(30),
  /** the majority each kind of agenda item needs (§§ 32, 33, 41 BGB; the bylaws may deviate, § 40) */
  majorities: z.object({
    resolution: majorityRuleSchema,
    election: majorityRuleSchema,
    bylaws_change: majorityRuleSchema,
    purpose_change: majorityRuleSchema,
    dissolution: majorityRuleSchema,
  }),
  // h/notice: the period for a supplementary agenda and new agenda items after the invitation
  /** whether the bylaws set a period of their own; if not, the invitation notice applies (BGB: a subject is named when the assembly is called, § 32 Abs. 1 S. 2) */
  supplementNoticeOwn: z.boolean(),
  /** that period in days, counted like the invitation notice (used only with supplementNoticeOwn) */
  supplementNoticeDays: z.coerce.number().int().min(0).max(365),
  // h/written: resolutions without an assembly (§ 32 Abs. 3 BGB): all members consent, or (bylaws) a majority with a minimum participation
  writtenResolutionMode: z.enum(WRITTEN_MODES),
  writtenMinParticipationPercent: z.coerce.number().int().min(1).max(100),
  // h/attend: who is invited and votes, and remote participation (§§ 32 Abs. 2, 38, 40 BGB)
  /** who has the right to attend: every member (BGB), or only the members with a vote */
  attendanceRight: z.enum(['all_members', 'voting_members']),
  /** who votes: the members whose category has a vote (supporting members: none), or every member */
  votingRight: z.enum(['category', 'all_members']),
  /** remote participation: hybrid by the board's decision (§ 32 Abs. 2 S. 1), also purely virtual (bylaws or members' resolution, S. 2), or neither */
  remoteParticipation: z.enum(['hybrid', 'hybrid_virtual', 'none']),
  // h/attend: end
  // h/minutes: elections without the required majority (run-off) and ties (§ 40 BGB: the bylaws decide; BGB default: repeat)
  elections: electionRulesSchema,
  // h/demand: the minority that may demand an assembly (§ 37 Abs. 1 BGB: the tenth part of the members, unless the bylaws say otherwise)
  minorityDemandBasis: z.enum(['share', 'count']),
  minorityDemandPercent: z.coerce.number().int().min(1).max(100),
  minorityDemandCount: z.coerce.number().int().min(1).max(100_000),
  // h/evote: whether electronic ballots are secret unless the chair says otherwise (the BGB says nothing: open)
  ballotSecrecy: z.enum(['open', 'secret', 'secret_elections']).default('open'),
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
  unconfirmedApplicationDays: 30,
  mailBodyRetentionDays: 180,
  auditDetailRetentionYears: 3,
  majorities: BGB_MAJORITIES,
  // h/notice: supplements keep the invitation notice unless the bylaws say otherwise
  supplementNoticeOwn: false,
  supplementNoticeDays: 14,
  // h/written: § 32 Abs. 3 BGB: valid only if all members consent in Textform
  writtenResolutionMode: 'all_consent',
  writtenMinParticipationPercent: 50,
  // h/attend: every member attends, the categories with a vote vote, hybrid allowed (§ 32 Abs. 2 S. 1 BGB), virtual only by the bylaws or a members' resolution
  attendanceRight: 'all_members',
  votingRight: 'category',
  remoteParticipation: 'hybrid',
  // h/attend: end
  // h/minutes
  elections: BGB_ELECTION,
  // h/demand: § 37 Abs. 1 BGB, the tenth part of the members
  minorityDemandBasis: 'share',
  minorityDemandPercent: 10,
  minorityDemandCount: 10,
  // h/evote: open ballots unless the bylaws say otherwise
  ballotSecrecy: 'open',
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

// h/lead: the privacy notice (Art. 13 GDPR) from the settings
/**
 * The German data-protection supervisory authorities for non-public bodies such as a Verein
 * (Art. 51 GDPR, § 40 BDSG): the one of the Land where the association has its seat.
 */
export const DATA_PROTECTION_AUTHORITIES = {
  bw: { land: 'Baden-Württemberg', name: 'Landesbeauftragte(r) für den Datenschutz und die Informationsfreiheit Baden-Württemberg', web: 'https://www.baden-wuerttemberg.datenschutz.de' },
  by: { land: 'Bayern', name: 'Bayerisches Landesamt für Datenschutzaufsicht (BayLDA)', web: 'https://www.lda.bayern.de' },
  be: { land: 'Berlin', name: 'Berliner Beauftragte(r) für Datenschutz und Informationsfreiheit', web: 'https://www.datenschutz-berlin.de' },
  bb: { land: 'Brandenburg', name: 'Landesbeauftragte(r) für den Datenschutz und für das Recht auf Akteneinsicht Brandenburg', web: 'https://www.lda.brandenburg.de' },
  hb: { land: 'Bremen', name: 'Landesbeauftragte(r) für Datenschutz und Informationsfreiheit der Freien Hansestadt Bremen', web: 'https://www.datenschutz.bremen.de' },
  hh: { land: 'Hamburg', name: 'Hamburgische(r) Beauftragte(r) für Datenschutz und Informationsfreiheit', web: 'https://datenschutz-hamburg.de' },
  he: { land: 'Hessen', name: 'Hessische(r) Beauftragte(r) für Datenschutz und Informationsfreiheit', web: 'https://datenschutz.hessen.de' },
  mv: { land: 'Mecklenburg-Vorpommern', name: 'Landesbeauftragte(r) für Datenschutz und Informationsfreiheit Mecklenburg-Vorpommern', web: 'https://www.datenschutz-mv.de' },
  ni: { land: 'Niedersachsen', name: 'Landesbeauftragte(r) für den Datenschutz Niedersachsen', web: 'https://www.lfd.niedersachsen.de' },
  nw: { land: 'Nordrhein-Westfalen', name: 'Landesbeauftragte(r) für Datenschutz und Informationsfreiheit Nordrhein-Westfalen', web: 'https://www.ldi.nrw.de' },
  rp: { land: 'Rheinland-Pfalz', name: 'Landesbeauftragte(r) für den Datenschutz und die Informationsfreiheit Rheinland-Pfalz', web: 'https://www.datenschutz.rlp.de' },
  sl: { land: 'Saarland', name: 'Unabhängiges Datenschutzzentrum Saarland', web: 'https://www.datenschutz.saarland.de' },
  sn: { land: 'Sachsen', name: 'Sächsische(r) Datenschutz- und Transparenzbeauftragte(r)', web: 'https://www.datenschutz.sachsen.de' },
  st: { land: 'Sachsen-Anhalt', name: 'Landesbeauftragte(r) für den Datenschutz Sachsen-Anhalt', web: 'https://datenschutz.sachsen-anhalt.de' },
  sh: { land: 'Schleswig-Holstein', name: 'Unabhängiges Landeszentrum für Datenschutz Schleswig-Holstein (ULD)', web: 'https://www.datenschutzzentrum.de' },
  th: { land: 'Thüringen', name: 'Thüringer Landesbeauftragte(r) für den Datenschutz und die Informationsfreiheit', web: 'https://www.tlfdi.de' },
} as const;
export type AuthorityCode = keyof typeof DATA_PROTECTION_AUTHORITIES;
export const AUTHORITY_CODES = Object.keys(DATA_PROTECTION_AUTHORITIES) as AuthorityCode[]; // why: the keys of the object above

export const privacySchema = z.object({
  /** who represents the controller (§ 26 BGB: the board); empty: the board members of the association settings */
  representedBy: z.string().trim().max(1000),
  /** the data-protection contact or officer (Art. 13(1)(b)); empty: the association's contact e-mail */
  dataProtectionContact: z.string().trim().max(1000),
  /** one purpose per line: "purpose – legal basis" */
  purposes: z.string().trim().max(6000),
  /** one recipient or processor per line: "who – what for" */
  recipients: z.string().trim().max(6000),
  /** the rights of the data subject (Art. 15–21, 7(3), 77) */
  rights: z.string().trim().max(6000),
  authority: z.enum(AUTHORITY_CODES as [AuthorityCode, ...AuthorityCode[]]),
});
export type PrivacySettings = z.infer<typeof privacySchema>;

export const DEFAULT_PRIVACY: PrivacySettings = {
  representedBy: '',
  dataProtectionContact: '',
  purposes: [
    'Bearbeitung des Aufnahmeantrags und Verwaltung der Mitgliedschaft (Mitgliederverzeichnis, Kontaktpersonen, Mitgliederversammlungen) – Art. 6 Abs. 1 lit. b DSGVO (Mitgliedschaft nach der Satzung)',
    'Beitragsrechnungen, Zahlungen und Buchführung – Art. 6 Abs. 1 lit. b und c DSGVO (§ 14 UStG, § 147 AO)',
    'Einladungen zur Mitgliederversammlung per E-Mail – Art. 6 Abs. 1 lit. a DSGVO (Einwilligung, jederzeit widerrufbar; ohne sie laden wir per Brief ein)',
    'Mitgliederliste für Mitglieder, die ihre Mitgliedschaftsrechte wahrnehmen wollen – Art. 6 Abs. 1 lit. f DSGVO (berechtigtes Interesse; BGH II ZR 219/09)',
    'Änderungsprotokoll und Nachweise (wer hat wann was geändert) – Art. 6 Abs. 1 lit. c und f DSGVO',
  ].join('\n'),
  recipients: [
    'Stripe Payments Europe Ltd., Dublin (Irland) – Zahlungsabwicklung bei Kartenzahlung und SEPA-Lastschrift über Stripe (Name, Anschrift und Rechnungs-E-Mail der Organisation)',
    'E-Mail-Dienstleister des Vereins (Auftragsverarbeitung, Art. 28 DSGVO) – Versand der E-Mails',
    'Steuerberatung des Vereins – Buchführung und Jahresabschluss (Rechnungs- und Zahlungsdaten)',
  ].join('\n'),
  rights: 'Sie haben das Recht auf Auskunft (Art. 15 DSGVO), Berichtigung (Art. 16), Löschung (Art. 17), Einschränkung der Verarbeitung (Art. 18), Datenübertragbarkeit (Art. 20) und Widerspruch (Art. 21). Eine Einwilligung können Sie jederzeit mit Wirkung für die Zukunft widerrufen (Art. 7 Abs. 3), etwa im Mitgliederportal. Sie können sich bei einer Datenschutz-Aufsichtsbehörde beschweren (Art. 77 DSGVO).',
  authority: 'ni',
};
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
  /** h/money2: revenue of invoice lines with 19 % and 7 % VAT: DATEV's automatic accounts, which book the VAT themselves */
  vat19Account: z.string().trim().regex(/^\d{4}$/),
  vat7Account: z.string().trim().regex(/^\d{4}$/),
});
export type DatevSettings = z.infer<typeof datevSchema>;

/**
 * Defaults: genuine membership dues are not subject to VAT, so no automatic VAT account
 * (SKR03 8400 / SKR04 4400 would add 19 %) and no BU-Schlüssel: the neutral "Erlöse" account
 * (SKR03 8200, SKR04 4200), bank SKR03 1200 / SKR04 1800, debtors 10000 + member number. The
 * tax adviser may map a dedicated dues account (e.g. in SKR 49 for associations).
 */
export const DATEV_CHART_DEFAULTS: Record<'SKR03' | 'SKR04', { revenueAccount: string; bankAccount: string; vat19Account: string; vat7Account: string }> = {
  // h/money2: taxable lines (a sponsoring package, a paid event beside the dues) on the automatic accounts
  // "Erlöse 19 % USt" SKR03 8400 / SKR04 4400 and "Erlöse 7 % USt" SKR03 8300 / SKR04 4300, without a BU-Schlüssel
  SKR03: { revenueAccount: '8200', bankAccount: '1200', vat19Account: '8400', vat7Account: '8300' },
  SKR04: { revenueAccount: '4200', bankAccount: '1800', vat19Account: '4400', vat7Account: '4300' },
};
export const DEFAULT_DATEV: DatevSettings = { chart: 'SKR03', consultantNumber: 1001, clientNumber: 1, debtorBase: 10000, ...DATEV_CHART_DEFAULTS.SKR03 };

// h/lead2: the public directory's settings, a key of its own ('directory'): the network's fields
// of activity (the filter on /netzwerk) and the longest description a profile may have
export const directoryFieldSchema = z.object({
  key: z.string().regex(/^[a-z0-9-]{1,40}$/),
  de: z.string().trim().min(1).max(80),
  en: z.string().trim().min(1).max(80),
});
export const directorySettingsSchema = z.object({
  fields: z.array(directoryFieldSchema).min(1).max(40),
  descriptionMax: z.coerce.number().int().min(100).max(5000),
});
export type DirectoryField = z.infer<typeof directoryFieldSchema>;
export type DirectorySettings = z.infer<typeof directorySettingsSchema>;
export const DEFAULT_DIRECTORY: DirectorySettings = {
  fields: [
    { key: 'energie', de: 'Energie', en: 'Energy' },
    { key: 'mobilitaet', de: 'Mobilität', en: 'Mobility' },
    { key: 'chemie', de: 'Chemie und Grundstoffe', en: 'Chemicals and basic materials' },
    { key: 'recycling', de: 'Recycling und Rohstoffe', en: 'Recycling and raw materials' },
    { key: 'anlagentechnik', de: 'Anlagentechnik', en: 'Plant engineering' },
    { key: 'forschung', de: 'Forschung und Lehre', en: 'Research and teaching' },
    { key: 'digitalisierung', de: 'Digitalisierung', en: 'Digitalisation' },
    { key: 'dienstleistungen', de: 'Dienstleistungen', en: 'Services' },
  ],
  descriptionMax: 800,
};

// h/stripe: the payment methods the Stripe payment page offers (settings key 'stripe'); the PDF names them
export const STRIPE_PAYMENT_METHODS = ['card', 'sepa_debit'] as const;
export type StripePaymentMethod = (typeof STRIPE_PAYMENT_METHODS)[number];
export const stripeSettingsSchema = z.object({
  paymentMethods: z.array(z.enum(STRIPE_PAYMENT_METHODS)).min(1),
});
export type StripeSettings = z.infer<typeof stripeSettingsSchema>;
export const DEFAULT_STRIPE_SETTINGS: StripeSettings = { paymentMethods: ['card', 'sepa_debit'] };
// h/stripe: end
// h/sepa: SEPA direct debits (a settings key of its own, 'sepa')
export const sepaSchema = z.object({
  /** the pre-notification reaches the member at least this many days before the due date (SEPA rulebook: 14 unless agreed otherwise) */
  preNotificationDays: z.coerce.number().int().min(1).max(60),
  /** the file reaches the bank at least this many business days before the due date (interbank rules since 2016: 1 for CORE and B2B) */
  leadBusinessDaysCore: z.coerce.number().int().min(1).max(15),
  leadBusinessDaysB2b: z.coerce.number().int().min(1).max(15),
  /** the bank's fee for a returned debit, booked with each return (0 = none) */
  returnFeeCents: z.coerce.number().int().min(0).max(100_000),
  /** h/fee: a return's fee (above 0) is charged on to the member by an invoice of its own (outside VAT: damages, not a service) */
  chargeReturnFee: z.boolean(),
});
export type SepaSettings = z.infer<typeof sepaSchema>;
export const DEFAULT_SEPA: SepaSettings = { preNotificationDays: 14, leadBusinessDaysCore: 1, leadBusinessDaysB2b: 1, returnFeeCents: 0, chargeReturnFee: false };
// h/sepa: end

// h/einvoice: what EN 16931 / XRechnung need that the association does not record elsewhere (key 'einvoice')
export const EINVOICE_PAYMENT_MEANS = ['credit_transfer', 'direct_debit'] as const;
export const einvoiceSchema = z.object({
  /** BT-34 seller electronic address (e-mail); empty = the association's contact e-mail */
  electronicAddress: z.union([z.literal(''), z.email().max(254)]),
  /** BT-31 USt-IdNr, if the association has one (only on invoices with a taxable line) */
  vatId: z.string().trim().toUpperCase().regex(/^([A-Z]{2}[0-9A-Z]{2,13})?$/),
  /** BT-41/BT-42 seller contact (XRechnung requires name, telephone and e-mail) */
  contactName: z.string().trim().max(200),
  phone: z.string().trim().max(50),
  /** BT-120 the exemption reason on invoices outside the scope of VAT (category O) */
  exemptionReason: z.string().trim().min(3).max(300),
  /** the payment means offered on invoices (BG-16); direct debit only where a mandate exists */
  paymentMeans: z.array(z.enum(EINVOICE_PAYMENT_MEANS)).min(1),
});
export type EInvoiceSettings = z.infer<typeof einvoiceSchema>;
export const DEFAULT_EINVOICE: EInvoiceSettings = {
  electronicAddress: '',
  vatId: '',
  contactName: '',
  phone: '',
  exemptionReason: 'Mitgliedsbeitrag – nicht steuerbarer echter Mitgliedsbeitrag',
  paymentMeans: ['credit_transfer'],
};
