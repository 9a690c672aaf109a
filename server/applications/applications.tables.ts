/**
 * The rows of the tables the applications module owns (migrations/20261125000300_applications.ts).
 * Only `applications.repository.ts` queries them; everyone else calls ApplicationsService.
 * Type aliases (not interfaces), so a row is also a plain `Record<string, unknown>`.
 * Booleans come back as 0/1 on SQLite and true/false on PostgreSQL; instants are ISO strings.
 */
import type { EmployeeBand } from '../settings/settings.schemas.ts';

export const APPLICATION_STATUSES = ['unconfirmed', 'submitted', 'info_requested', 'approved', 'rejected', 'withdrawn'] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];
export type ApplicationContactRole = 'representative' | 'billing' | 'other';
/** comment: internal to the board; question and answer: the conversation with the applicant. */
export type ApplicationMessageKind = 'comment' | 'question' | 'answer';

export type ApplicationRow = {
  id: number;
  reference: string;
  submission_key: string;
  status: ApplicationStatus;
  legal_name: string;
  legal_form: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  website: string;
  register_entry: string;
  vat_id: string;
  field_of_activity: string;
  employee_band: EmployeeBand;
  category_id: number;
  contribution: string;
  name_key: string;
  locale: string;
  consent_bylaws_at: string;
  consent_privacy_at: string;
  privacy_version: string;
  consent_email_invitations: boolean | number;
  /** h/bank2: the SEPA mandate granted on the form (all null: none) */
  sepa_scheme: 'CORE' | 'B2B' | null;
  sepa_iban: string | null;
  sepa_holder: string | null;
  sepa_consent_at: string | null;
  confirmed_at: string | null;
  decided_at: string | null;
  decided_by: number | null;
  resolution_ref: string | null;
  decision_reason: string | null;
  organisation_id: number | null;
  version: number;
  created_at: string;
  updated_at: string;
};

export type ApplicationContactRow = {
  id: number;
  application_id: number;
  role: ApplicationContactRole;
  name: string;
  email: string;
  phone: string;
  position: string;
  sort_order: number;
};

export type ApplicationMessageRow = {
  id: number;
  application_id: number;
  kind: ApplicationMessageKind;
  body: string;
  author_user_id: number | null;
  created_at: string;
};

declare module 'knex/types/tables' {
  interface Tables {
    applications: ApplicationRow;
    application_contacts: ApplicationContactRow;
    application_messages: ApplicationMessageRow;
  }
}
