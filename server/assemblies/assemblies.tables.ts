/**
 * The rows of the assemblies module's tables (migrations/20261125000800_assemblies.ts), exactly as
 * the database returns them. Booleans are 0/1 on SQLite and true/false on PostgreSQL; instants are
 * ISO strings, days 'YYYY-MM-DD'. Only this module's repositories query these tables.
 */

import type { AgendaKind, AssemblyFormat, AssemblyKind } from './assemblies.schemas.ts';

export type DbBool = boolean | number;
export type AssemblyStatus = 'draft' | 'invited' | 'cancelled';
export type Channel = 'email' | 'letter';

export interface AssemblyRow {
  id: number;
  uid: string;
  sequence: number;
  notified_sequence: number | null;
  title: string;
  kind: AssemblyKind; // ordinary | extraordinary
  starts_at: string;
  duration_minutes: number;
  format: AssemblyFormat;
  location: string;
  participation_info: string;
  copy_all_contacts: DbBool;
  // h/attend: access data for online participants (sent separately, § 32 Abs. 2 BGB)
  online_link: string;
  online_meeting_id: string;
  online_access_code: string;
  status: AssemblyStatus;
  invited_at: string | null;
  cancelled_at: string | null;
  lock_version: number;
  created_by: number | null;
  created_at: string;
  updated_at: string;
  notice_changed_sequence: number | null; // h/notice: the sequence of the last change of date, time, place or format
}

export interface AgendaItemRow {
  id: number;
  assembly_id: number;
  position: number;
  title: string;
  description: string;
  kind: AgendaKind;
  proposed_text: string;
  supplementary: DbBool;
  supplement_sent_at: string | null;
  motion_id: number | null;
  created_at: string;
  updated_at: string;
  late_notice: LateNotice | null; // h/notice: announced after the period of the bylaws
}

/** h/notice: how an agenda item came to be announced late (see migrations/20261203000200). */
export type LateNotice = 'invitation' | 'update' | 'supplement' | 'item';

export interface AttachmentRow {
  id: number;
  assembly_id: number;
  filename: string;
  content_type: string;
  size: number;
  content: Buffer;
  created_by: number | null;
  created_at: string;
}

export interface InvitationRow {
  id: number;
  assembly_id: number;
  organisation_id: number;
  organisation_name: string;
  member_number: number;
  contact_name: string;
  to_address: string;
  cc: string | null; // JSON array
  locale: string;
  postal_address: string;
  channel: Channel;
  token_hash: string | null;
  status: string;
  mail_message_id: number | null;
  enqueued_at: string | null;
  created_at: string;
  // h/attend: a member without a vote is invited too; why a letter instead of an e-mail
  has_vote: DbBool;
  letter_reason: LetterReason;
}

/** h/attend: why an invitation went as a letter ('' when by e-mail). */
export type LetterReason = '' | 'no_email' | 'no_consent';
/** h/attend: how a member takes part in a hybrid assembly ('' when not asked). */
export type AttendanceMode = '' | 'room' | 'online';

export interface InvitationTokenRow {
  id: number;
  invitation_id: number;
  token_hash: string;
  purpose: string;
  created_at: string;
}

export interface DeliveryRow {
  id: number;
  invitation_id: number;
  kind: string;
  delivery_key: string;
  mail_message_id: number | null;
  created_at: string;
}

export interface RsvpRow {
  id: number;
  assembly_id: number;
  organisation_id: number;
  attending: DbBool;
  people_count: number;
  names: string;
  via: string;
  updated_at: string;
  mode: AttendanceMode; // h/attend
}

export interface ProxyRow {
  id: number;
  assembly_id: number;
  giver_organisation_id: number;
  holder_organisation_id: number;
  created_at: string;
  withdrawn_at: string | null;
  via: string;
}

export interface MotionRow {
  id: number;
  assembly_id: number;
  organisation_id: number;
  title: string;
  body: string;
  submitted_by: string;
  via: string;
  created_at: string;
}

export interface AttendanceRow {
  id: number;
  assembly_id: number;
  organisation_id: number;
  person_name: string;
  checked_in_at: string | null;
  checked_out_at: string | null;
  updated_by: number | null;
  updated_at: string;
  mode: AttendanceMode; // h/attend
}

export interface ResolutionRow {
  id: number;
  assembly_id: number;
  agenda_item_id: number;
  yes_votes: number;
  no_votes: number;
  abstentions: number;
  note: string;
  recorded_by: number | null;
  recorded_at: string;
  invalid_votes: number;
  absent_consents: number;
  votes_present: number | null;
  voting_members: number | null;
  quorate: boolean | number | null;
  /** JSON of the MajorityRule that applied when recorded (null: recorded before rules were kept) */
  majority_rule: string | null;
  version: number;
  /** h/minutes: for an election, JSON of the ElectionResult (round, votes per candidate, lot) */
  candidates?: string | null;
}

export interface ResolutionAmendmentRow {
  id: number;
  assembly_id: number;
  agenda_item_id: number;
  /** JSON of the counts before */
  before_values: string;
  /** JSON of the counts after */
  after_values: string;
  reason: string;
  user_id: number | null;
  actor_label: string;
  created_at: string;
  /** h/minutes: when it went out with corrected minutes */
  sent_at?: string | null;
}

export interface MinutesRow {
  id: number;
  assembly_id: number;
  body: string;
  attachment_id: number | null;
  updated_at: string;
  updated_by: number | null;
  sent_at: string | null;
  /** h/minutes: who chaired the assembly, who wrote the minutes, the day they were signed */
  chair_name: string;
  minute_taker_name: string;
  signed_on: string | null;
  /** h/minutes: when corrected minutes were last sent */
  corrected_sent_at: string | null;
}

/** h/minutes: a correction of minutes already sent (before and after: JSON of the minutes' fields). */
export interface MinutesAmendmentRow {
  id: number;
  assembly_id: number;
  before_values: string;
  after_values: string;
  reason: string;
  user_id: number | null;
  actor_label: string;
  created_at: string;
  sent_at: string | null;
}

export interface OverrideRow {
  id: number;
  assembly_id: number;
  kind: string;
  reason: string;
  last_send_day: string;
  send_day: string;
  user_id: number | null;
  actor_label: string;
  created_at: string;
  sequence: number | null; // h/notice: for late_update, the calendar sequence it allowed
  item_ids: string | null; // h/notice: JSON array of the agenda items concerned
}

declare module 'knex/types/tables' {
  interface Tables {
    assemblies: AssemblyRow;
    assembly_agenda_items: AgendaItemRow;
    assembly_attachments: AttachmentRow;
    assembly_invitations: InvitationRow;
    assembly_invitation_tokens: InvitationTokenRow;
    assembly_deliveries: DeliveryRow;
    assembly_rsvps: RsvpRow;
    assembly_proxies: ProxyRow;
    assembly_motions: MotionRow;
    assembly_attendance: AttendanceRow;
    assembly_resolutions: ResolutionRow;
    assembly_resolution_amendments: ResolutionAmendmentRow;
    assembly_minutes: MinutesRow;
    assembly_minutes_amendments: MinutesAmendmentRow;
    assembly_overrides: OverrideRow;
  }
}
