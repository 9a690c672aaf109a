/**
 * The rows of the written resolutions' tables (migrations/20261203000500_written_resolutions.ts),
 * owned by the assemblies module; only written.repository.ts queries them.
 */

import type { DbBool } from './assemblies.tables.ts';

export type WrittenStatus = 'draft' | 'sent' | 'decided';
export type WrittenAnswer = 'yes' | 'no' | 'abstain';

export interface WrittenResolutionRow {
  id: number;
  title: string;
  motion_text: string;
  kind: string;
  deadline_at: string;
  status: WrittenStatus;
  /** JSON of the WrittenRule, set when sent */
  rule: string | null;
  adopted: DbBool | null;
  /** JSON of the WrittenEvidence, set when decided */
  result: string | null;
  sent_at: string | null;
  decided_at: string | null;
  created_by: number | null;
  created_at: string;
  updated_at: string;
}

export interface WrittenBallotRow {
  id: number;
  resolution_id: number;
  organisation_id: number;
  organisation_name: string;
  member_number: number;
  contact_id: number | null;
  contact_name: string;
  to_address: string;
  locale: string;
  postal_address: string;
  channel: 'email' | 'letter';
  mail_message_id: number | null;
  result_mail_id: number | null;
  answer: WrittenAnswer | null;
  answered_at: string | null;
  answered_name: string | null;
  answered_token_id: number | null;
  created_at: string;
}

export interface WrittenTokenRow {
  id: number;
  ballot_id: number;
  token_hash: string;
  purpose: 'mail' | 'letter';
  sent_to: string;
  created_at: string;
}

declare module 'knex/types/tables' {
  interface Tables {
    assembly_written_resolutions: WrittenResolutionRow;
    assembly_written_ballots: WrittenBallotRow;
    assembly_written_tokens: WrittenTokenRow;
  }
}
