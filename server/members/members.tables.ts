import type { OrganisationFieldColumns } from './organisation-fields.ts';

/**
 * The row types of the tables the members module owns (server/db/ownership.ts), exactly as the
 * migrations create them. Booleans are 0/1 on SQLite and true/false on PostgreSQL (see
 * rowToContact); instants are ISO strings, dates 'YYYY-MM-DD'. Ids and counts are numbers on
 * SQLite and may be strings for bigint counts on PostgreSQL: the repositories map with Number().
 */
export interface OrganisationRow extends OrganisationFieldColumns {
  id: number;
  member_number: number;
  category_id: number;
  status: string; // active | notice_given | former
  join_date: string;
  exit_date: string | null;
  exit_reason: string | null;
  exit_reference: string | null;
  name_key: string;
  city_key: string;
  application_id: number | null;
  notes: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  // h/einvoice (migrations/20261204030000_einvoice.ts): public body with Leitweg-ID, the form of its invoices
  public_body: boolean | number;
  leitweg_id: string;
  einvoice_format: string;
}

export interface ContactRow {
  id: number;
  organisation_id: number;
  name: string;
  name_key: string;
  email: string;
  phone: string;
  position: string;
  is_representative: boolean | number;
  is_billing: boolean | number;
  locale: string;
  consent_email_invitations: boolean | number;
  user_id: number | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface OrganisationWordRow {
  organisation_id: number;
  member_number: number;
  word: string;
}

export interface MembershipHistoryRow {
  id: number;
  organisation_id: number;
  effective_date: string;
  kind: string; // joined | category_changed | notice_received | notice_withdrawn | excluded | dissolved | exited | reactivated
  category_id: number | null;
  status: string | null;
  reference: string | null;
  note: string | null;
  created_by: number | null;
  created_at: string;
}

export interface ImportBatchRow {
  id: number;
  key: string;
  created_by: number | null;
  file_name: string;
  file_hash: string;
  encoding: string;
  delimiter: string;
  rows: string; // JSON
  status: string; // previewed | imported
  imported_count: number | null;
  imported_at: string | null;
  created_at: string;
}

export interface ExportLogRow {
  id: number;
  at: string;
  user_id: number | null;
  actor_label: string;
  format: string; // csv | xlsx | print | gdpr_json
  filter: string; // JSON
  member_ids: string | null; // JSON array
  row_count: number;
  purpose: string;
  completed_at: string | null;
}

export interface ConsentRecordRow {
  id: number;
  contact_id: number;
  kind: string; // email_invitations | privacy_notice
  version: string;
  given_at: string;
  withdrawn_at: string | null;
  source: string; // application | import | board | portal
  created_at: string;
}

export interface GdprAnonymisationRow {
  id: number;
  organisation_id: number;
  at: string;
  by_user_id: number | null;
  contacts_count: number;
  users_disabled: number;
}

declare module 'knex/types/tables' {
  interface Tables {
    organisations: OrganisationRow;
    contacts: ContactRow;
    organisation_words: OrganisationWordRow;
    membership_history: MembershipHistoryRow;
    import_batches: ImportBatchRow;
    export_log: ExportLogRow;
    consent_records: ConsentRecordRow;
    gdpr_anonymisations: GdprAnonymisationRow;
  }
}
