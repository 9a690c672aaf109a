import type { TableName } from '../db/ownership.ts';

/**
 * h/gdpr: THE list of where an organisation's and its contacts' data lives, for the Art. 15/20
 * export (GdprService.exportOrganisation) and the anonymisation. Every table of the database is
 * here, and typecheck fails when a table added to db/ownership.ts is missing;
 * test/integration/gdpr-complete.test.ts also reads the live schema, and checks that every
 * `export` path holds the seeded organisation's rows.
 *
 * - `export`: the path in the export's JSON where the table's rows about the subject appear;
 * - `coveredBy`: the table holds personal data only as a copy or a technical key of what the
 *   named export part already shows;
 * - `notPersonal`: the table holds no data about members' people (why).
 *
 * A new table with a contact or organisation reference: add it to the export (and to the
 * owner's anonymise…(trx, subject)), or say here why not.
 */
export type PersonalDataPlace = { export: string } | { coveredBy: string; why: string } | { notPersonal: string };

export const PERSONAL_DATA_TABLES: Record<TableName, PersonalDataPlace> = {
  users: { export: 'portalAccounts' },
  user_roles: { coveredBy: 'portalAccounts', why: 'the roles are listed with each account' },
  tokens: { coveredBy: 'portalAccounts', why: 'hashed single-use links of the account (set password, reset); no readable content' },
  sessions: { coveredBy: 'portalAccounts', why: 'the login cookie\'s server side; holds only the user id; ended on anonymisation' },
  audit_log: { export: 'auditEntries' },
  settings: { notPersonal: 'the association\'s own settings (its board members are not data subjects of this export)' },
  membership_categories: { notPersonal: 'categories and fees' },
  mail_messages: { export: 'mailMessages' },
  jobs: { notPersonal: 'background jobs: ids and counts (free text is redacted on anonymisation all the same)' },
  counters: { notPersonal: 'number ranges' },
  organisations: { export: 'organisation' },
  contacts: { export: 'contacts' },
  organisation_words: { coveredBy: 'organisation, contacts', why: 'search words derived from the name, city and contacts\' names; rebuilt on anonymisation' },
  membership_history: { export: 'membershipHistory' },
  import_batches: { coveredBy: 'organisation, contacts', why: 'the uploaded CSV rows that became the organisation and its contacts (redacted on anonymisation)' },
  export_log: { export: 'disclosures' },
  consent_records: { export: 'consentRecords' },
  gdpr_anonymisations: { coveredBy: 'anonymisedAt', why: 'the date of the anonymisation' },
  // h/bank2: with the SEPA mandate granted on the form (sepa_scheme, sepa_iban, sepa_holder, sepa_consent_at): deleted with a rejected or withdrawn application
  applications: { export: 'applications' },
  application_contacts: { export: 'applications[].contacts' },
  application_messages: { export: 'applications[].messages' },
  organisation_change_requests: { export: 'changeRequests' },
  fee_schedules: { notPersonal: 'the fee rules of a year' },
  dues_runs: { notPersonal: 'which year was invoiced when' },
  invoices: { export: 'invoices' },
  payments: { export: 'payments' },
  stripe_customers: { coveredBy: 'invoices', why: 'the Stripe customer number, also on each invoice (stripeCustomerId)' },
  stripe_events: { notPersonal: 'Stripe webhook ids and types' },
  assemblies: { notPersonal: 'the assembly itself (date, place, agenda)' },
  assembly_agenda_items: { coveredBy: 'assemblies.motions', why: 'a member\'s motion put on the agenda is exported as the motion' },
  assembly_attachments: { notPersonal: 'documents of the assembly' },
  assembly_attendance: { export: 'assemblies.attendance' },
  assembly_deliveries: { coveredBy: 'assemblies.invitations, mailMessages', why: 'which mail carried which invitation (ids)' },
  assembly_invitation_tokens: { coveredBy: 'assemblies.invitations', why: 'hashed personal links' },
  assembly_invitations: { export: 'assemblies.invitations' },
  assembly_minutes: { notPersonal: 'the minutes of the assembly (the association\'s record; contacts\' names are redacted on anonymisation)' },
  assembly_motions: { export: 'assemblies.motions' },
  assembly_overrides: { notPersonal: 'the board\'s confirmations of a short notice' },
  assembly_proxies: { export: 'assemblies.proxies' },
  assembly_resolutions: { notPersonal: 'vote counts of the assembly' },
  assembly_resolution_amendments: { notPersonal: 'corrections of vote counts' },
  assembly_rsvps: { export: 'assemblies.rsvps' },
  retention_runs: { notPersonal: 'counts of the retention runs' },
  assembly_written_resolutions: { notPersonal: 'the written resolution itself' },
  assembly_written_ballots: { export: 'assemblies.writtenBallots' },
  assembly_written_tokens: { export: 'assemblies.writtenLinks' },
  assembly_minutes_amendments: { notPersonal: 'corrections of the minutes' },
  minority_demands: { export: 'demands.demands' },
  minority_demand_supports: { export: 'demands.supports' },
  // the lead: this turn's tables (their parts of the export are under `more`; the complete-seed test does not seed them yet)
  directory_profiles: { coveredBy: 'more.directoryProfile', why: 'the organisation\'s public profile (texts the contacts wrote, the cooperation contact\'s id)' },
  directory_logos: { coveredBy: 'more.directoryProfile', why: 'the logo image of the profile' },
  directory_enquiries: { notPersonal: 'counts of enquiries per member and a keyed hash of the sender\'s address for the rate limit; the contents are only in the mail to the member' },
  sepa_mandates: { coveredBy: 'more.sepaMandates', why: 'the mandates with account holder, IBAN and signature date' },
  sepa_runs: { notPersonal: 'the collection runs: dates, counts, sums' },
  sepa_debits: { coveredBy: 'more.sepaMandates, payments', why: 'one row per collected invoice; the payment it booked is in payments' },
  sepa_returns: { coveredBy: 'payments', why: 'a returned debit, booked as a reversal in payments' },
  assembly_ballots: { notPersonal: 'the ballot\'s question, options and window' },
  assembly_ballot_eligible: { coveredBy: 'assemblies', why: 'who could vote in a ballot (the attendance and proxies of the assembly)' },
  assembly_ballot_voters: { coveredBy: 'assemblies', why: 'that a member voted, and in an open ballot how; the attendance of the assembly' },
  assembly_ballot_tallies: { notPersonal: 'counts per option, with no link to a voter' },
  bank_statements: { notPersonal: 'the association\'s own account statements: dates and counts' },
  bank_lines: { coveredBy: 'more.bankBookings', why: 'the member\'s transfers as the bank reported them (payer name, IBAN, text); bookkeeping records kept 10 years (§ 147 AO)' },
  bank_allocations: { coveredBy: 'more.bankBookings, payments', why: 'which booking paid which invoice' },
  bank_payer_ibans: { coveredBy: 'more.bankBookings', why: 'the payer IBAN learned from a confirmed booking' },
  bank_csv_mappings: { notPersonal: 'column mappings of CSV formats' },
  bank_proposals: { coveredBy: 'more.bankBookings', why: 'the matching proposal of an open bank line (which open invoice, the recipient\'s name as the reason), recomputed from the lines and invoices; gone once the line is decided' },
  bank_proposal_state: { notPersonal: 'when the proposals were last computed (counters and a stamp of sums)' },
  working_groups: { notPersonal: 'the groups: names, purposes, the lead\'s and sponsor\'s ids' },
  group_members: { coveredBy: 'contacts', why: 'which contacts are in which working group (not yet a part of its own in the export)' },
  group_join_requests: { coveredBy: 'contacts', why: 'a contact\'s request to join a group with its message (not yet a part of its own in the export)' },
  group_meetings: { notPersonal: 'meetings of the groups: time, place, agenda' },
  group_meeting_rsvps: { coveredBy: 'contacts', why: 'a contact\'s answer to a meeting invitation (not yet a part of its own in the export)' },
  group_documents: { notPersonal: 'the groups\' minutes and documents (PDF uploads)' },
};
