/**
 * The rows of the tables the groups module owns (migrations/20261204050100_working_groups.ts).
 * Only `groups.repository.ts` queries them; everyone else calls GroupsService.
 */

export type GroupAccess = 'open' | 'invitation';
export type MeetingFormat = 'in_person' | 'online' | 'hybrid';
export type MeetingStatus = 'scheduled' | 'cancelled';
export type JoinRequestStatus = 'pending' | 'accepted' | 'declined' | 'withdrawn';
export type RsvpAnswer = 'yes' | 'no' | 'maybe';
export type DocumentKind = 'minutes' | 'document';

export type WorkingGroupRow = {
  id: number;
  name_de: string;
  name_en: string;
  purpose_de: string;
  purpose_en: string;
  lead_contact_id: number;
  sponsor_user_id: number | null;
  access: GroupAccess;
  created_at: string;
  updated_at: string;
  version: number;
};

export type GroupMemberRow = {
  id: number;
  group_id: number;
  contact_id: number;
  organisation_id: number;
  joined_at: string;
  left_at: string | null;
  left_reason: string | null;
};

export type GroupJoinRequestRow = {
  id: number;
  group_id: number;
  contact_id: number;
  organisation_id: number;
  message: string;
  status: JoinRequestStatus;
  created_at: string;
  decided_at: string | null;
  decided_by_label: string | null;
};

export type GroupMeetingRow = {
  id: number;
  group_id: number;
  uid: string;
  sequence: number;
  title: string;
  starts_at: string;
  duration_minutes: number;
  format: MeetingFormat;
  location: string;
  online_link: string;
  agenda: string;
  status: MeetingStatus;
  created_at: string;
  updated_at: string;
  version: number;
};

export type GroupMeetingRsvpRow = {
  id: number;
  meeting_id: number;
  contact_id: number;
  salt: string;
  token_hash: string;
  answer: RsvpAnswer | null;
  answered_at: string | null;
  created_at: string;
};

export type GroupDocumentRow = {
  id: number;
  group_id: number;
  meeting_id: number | null;
  kind: DocumentKind;
  title: string;
  filename: string;
  size: number;
  content: Buffer;
  created_by: number | null;
  created_by_label: string;
  created_at: string;
};

declare module 'knex/types/tables' {
  interface Tables {
    working_groups: WorkingGroupRow;
    group_members: GroupMemberRow;
    group_join_requests: GroupJoinRequestRow;
    group_meetings: GroupMeetingRow;
    group_meeting_rsvps: GroupMeetingRsvpRow;
    group_documents: GroupDocumentRow;
  }
}
