/**
 * Which module owns which table. Only the owner's repositories (`server/<owner>/**\/*.repository.ts`)
 * query a table; every other module calls the owner's service. `test/unit/ownership.test.ts`
 * reads every file under `server/` and fails when a query names a table outside its owner.
 * A new table is added here in the same commit as its migration.
 */
export const TABLE_OWNERS = {
  // auth: accounts, roles and single-purpose link tokens
  users: 'auth',
  user_roles: 'auth',
  tokens: 'auth',
  // web: the session store (connect-session-knex creates and queries it)
  sessions: 'web',
  // audit: the append-only audit log
  audit_log: 'audit',
  // settings: association settings, bylaws rules, membership categories and fees
  settings: 'settings',
  membership_categories: 'settings',
  // mail: the outbox
  mail_messages: 'mail',
  // jobs: persisted background jobs
  jobs: 'jobs',
  // db: gapless counters (member numbers, invoice numbers)
  counters: 'db',
  // members: the register
  organisations: 'members',
  contacts: 'members',
  organisation_words: 'members',
  membership_history: 'members',
  import_batches: 'members',
  export_log: 'members',
  consent_records: 'members',
  gdpr_anonymisations: 'members',
  // applications: membership applications
  applications: 'applications',
  application_contacts: 'applications',
  application_messages: 'applications',
  // portal: the member contacts' change requests
  organisation_change_requests: 'portal',
  // dues: fee schedules, dues runs, invoices, payments, the Stripe mirror
  fee_schedules: 'dues',
  dues_runs: 'dues',
  invoices: 'dues',
  payments: 'dues',
  stripe_customers: 'dues',
  stripe_events: 'dues',
  // assemblies: the general assembly
  assemblies: 'assemblies',
  assembly_agenda_items: 'assemblies',
  assembly_attachments: 'assemblies',
  assembly_attendance: 'assemblies',
  assembly_deliveries: 'assemblies',
  assembly_invitation_tokens: 'assemblies',
  assembly_invitations: 'assemblies',
  assembly_minutes: 'assemblies',
  assembly_motions: 'assemblies',
  assembly_overrides: 'assemblies',
  assembly_proxies: 'assemblies',
  assembly_resolutions: 'assemblies',
  assembly_resolution_amendments: 'assemblies',
  assembly_rsvps: 'assemblies',
  // retention: the runs of the daily retention job (counts only)
  retention_runs: 'retention',
  // h/written: resolutions without an assembly (§ 32 Abs. 3 BGB)
  assembly_written_resolutions: 'assemblies',
  assembly_written_ballots: 'assemblies',
  assembly_written_tokens: 'assemblies',
  // h/minutes: corrections of sent minutes
  assembly_minutes_amendments: 'assemblies',
  // h/demand: demands: the minority's demand for an assembly (§ 37 BGB) and its supporting members
  minority_demands: 'demands',
  minority_demand_supports: 'demands',
  // h/lead2: the network's public directory (profiles, their logos, enquiry counts)
  directory_profiles: 'directory',
  directory_logos: 'directory',
  directory_enquiries: 'directory',
  // h/sepa: SEPA direct debits: mandates, collections, their debits and returns
  sepa_mandates: 'sepa',
  sepa_runs: 'sepa',
  sepa_debits: 'sepa',
  sepa_returns: 'sepa',
  // h/evote: electronic ballots in an assembly (ballots.repository.ts)
  assembly_ballots: 'assemblies',
  assembly_ballot_eligible: 'assemblies',
  assembly_ballot_voters: 'assemblies',
  assembly_ballot_tallies: 'assemblies',
  // h/bank: the association's bank account: statements, lines, their bookings, learned payer IBANs, CSV mappings
  bank_statements: 'bank',
  bank_lines: 'bank',
  bank_allocations: 'bank',
  bank_payer_ibans: 'bank',
  bank_csv_mappings: 'bank',
  bank_proposals: 'bank', // h/bankperf: the stored matching proposals
  bank_proposal_state: 'bank',
  // h/groups: working groups, their members, join requests, meetings, RSVPs and documents
  working_groups: 'groups',
  group_members: 'groups',
  group_join_requests: 'groups',
  group_meetings: 'groups',
  group_meeting_rsvps: 'groups',
  group_documents: 'groups',
} as const;

export type TableName = keyof typeof TABLE_OWNERS;
export type OwningModule = (typeof TABLE_OWNERS)[TableName];
