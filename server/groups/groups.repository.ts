import type { Knex } from 'knex';
import { affected, insertId } from '../db/knex.ts';
import type {
  DocumentKind, GroupAccess, GroupDocumentRow, GroupJoinRequestRow, GroupMeetingRow, GroupMeetingRsvpRow, GroupMemberRow, JoinRequestStatus,
  MeetingFormat, MeetingStatus, RsvpAnswer, WorkingGroupRow,
} from './groups.tables.ts';

/**
 * Queries on the working groups' tables; nothing else touches them. Contacts, organisations and
 * whether an organisation is still a member come from the register's service.
 */

type Db = Knex | Knex.Transaction;

export interface StoredGroup {
  id: number;
  nameDe: string;
  nameEn: string;
  purposeDe: string;
  purposeEn: string;
  leadContactId: number;
  sponsorUserId: number | null;
  access: GroupAccess;
  createdAt: string;
  version: number;
}

export interface StoredMember {
  groupId: number;
  contactId: number;
  organisationId: number;
  joinedAt: string;
  leftAt: string | null;
}

export interface StoredRequest {
  id: number;
  groupId: number;
  contactId: number;
  organisationId: number;
  message: string;
  status: JoinRequestStatus;
  createdAt: string;
  decidedAt: string | null;
  decidedByLabel: string | null;
}

export interface StoredMeeting {
  id: number;
  groupId: number;
  uid: string;
  sequence: number;
  title: string;
  startsAt: string;
  durationMinutes: number;
  format: MeetingFormat;
  location: string;
  onlineLink: string;
  agenda: string;
  status: MeetingStatus;
  version: number;
}

export interface StoredRsvp {
  id: number;
  meetingId: number;
  contactId: number;
  salt: string;
  answer: RsvpAnswer | null;
  answeredAt: string | null;
}

export interface StoredDocument {
  id: number;
  groupId: number;
  meetingId: number | null;
  kind: DocumentKind;
  title: string;
  filename: string;
  size: number;
  createdByLabel: string;
  createdAt: string;
}

const toGroup = (r: WorkingGroupRow): StoredGroup => ({
  id: Number(r.id), nameDe: r.name_de, nameEn: r.name_en, purposeDe: r.purpose_de, purposeEn: r.purpose_en,
  leadContactId: Number(r.lead_contact_id), sponsorUserId: r.sponsor_user_id == null ? null : Number(r.sponsor_user_id),
  access: r.access === 'invitation' ? 'invitation' : 'open', createdAt: r.created_at, version: Number(r.version),
});
const toMember = (r: GroupMemberRow): StoredMember => ({
  groupId: Number(r.group_id), contactId: Number(r.contact_id), organisationId: Number(r.organisation_id), joinedAt: r.joined_at, leftAt: r.left_at ?? null,
});
const toRequest = (r: GroupJoinRequestRow): StoredRequest => ({
  id: Number(r.id), groupId: Number(r.group_id), contactId: Number(r.contact_id), organisationId: Number(r.organisation_id), message: r.message,
  status: r.status, createdAt: r.created_at, decidedAt: r.decided_at ?? null, decidedByLabel: r.decided_by_label ?? null,
});
const toMeeting = (r: GroupMeetingRow): StoredMeeting => ({
  id: Number(r.id), groupId: Number(r.group_id), uid: r.uid, sequence: Number(r.sequence), title: r.title, startsAt: r.starts_at,
  durationMinutes: Number(r.duration_minutes), format: r.format, location: r.location, onlineLink: r.online_link, agenda: r.agenda,
  status: r.status, version: Number(r.version),
});
const toRsvp = (r: GroupMeetingRsvpRow): StoredRsvp => ({
  id: Number(r.id), meetingId: Number(r.meeting_id), contactId: Number(r.contact_id), salt: r.salt, answer: r.answer ?? null, answeredAt: r.answered_at ?? null,
});
const DOC_COLUMNS = ['id', 'group_id', 'meeting_id', 'kind', 'title', 'filename', 'size', 'created_by_label', 'created_at'] as const;
const toDocument = (r: Omit<GroupDocumentRow, 'content' | 'created_by'>): StoredDocument => ({
  id: Number(r.id), groupId: Number(r.group_id), meetingId: r.meeting_id == null ? null : Number(r.meeting_id), kind: r.kind, title: r.title,
  filename: r.filename, size: Number(r.size), createdByLabel: r.created_by_label, createdAt: r.created_at,
});

// --- groups ------------------------------------------------------------------------------

export async function insertGroup(trx: Knex.Transaction, g: Omit<WorkingGroupRow, 'id' | 'version'>): Promise<number> {
  return insertId(trx, 'working_groups', { ...g, version: 1 });
}

export async function groups(q: Db): Promise<StoredGroup[]> {
  return (await q('working_groups').orderBy('name_de')).map(toGroup);
}

export async function groupById(q: Db, id: number): Promise<StoredGroup | undefined> {
  const r = await q('working_groups').where({ id }).first();
  return r ? toGroup(r) : undefined;
}

/** Changes a group at the version read; false when someone changed it meanwhile. */
export async function updateGroup(trx: Knex.Transaction, id: number, version: number, g: Omit<WorkingGroupRow, 'id' | 'version' | 'created_at'>): Promise<boolean> {
  return affected(await trx('working_groups').where({ id, version }).update({ ...g, version: version + 1 })) > 0;
}

// --- members -----------------------------------------------------------------------------

/** Every membership row of the groups (past ones too), by joining time. */
export async function membersOf(q: Db, groupIds: number[]): Promise<StoredMember[]> {
  if (!groupIds.length) return [];
  return (await q('group_members').whereIn('group_id', groupIds).orderBy([{ column: 'joined_at' }, { column: 'id' }])).map(toMember);
}

/** The current membership rows of contacts (left_at empty). */
export async function membershipsOfContacts(q: Db, contactIds: number[]): Promise<StoredMember[]> {
  if (!contactIds.length) return [];
  return (await q('group_members').whereIn('contact_id', contactIds).whereNull('left_at')).map(toMember);
}

/** The current membership rows of an organisation's contacts. */
export async function membershipsOfOrganisation(q: Db, organisationId: number): Promise<StoredMember[]> {
  return (await q('group_members').where({ organisation_id: organisationId }).whereNull('left_at')).map(toMember);
}

export async function memberRow(q: Db, groupId: number, contactId: number): Promise<StoredMember | undefined> {
  const r = await q('group_members').where({ group_id: groupId, contact_id: contactId }).first();
  return r ? toMember(r) : undefined;
}

/** The contact is in the group from `at`: a new row, or a past one made current again. False when it already was. */
export async function addMember(trx: Knex.Transaction, m: { groupId: number; contactId: number; organisationId: number; at: string }): Promise<boolean> {
  const again = affected(await trx('group_members').where({ group_id: m.groupId, contact_id: m.contactId }).whereNotNull('left_at')
    .update({ left_at: null, left_reason: null, joined_at: m.at, organisation_id: m.organisationId }));
  if (again) return true;
  const inserted: unknown[] = await trx('group_members')
    .insert({ group_id: m.groupId, contact_id: m.contactId, organisation_id: m.organisationId, joined_at: m.at })
    .onConflict(['group_id', 'contact_id']).ignore().returning('id');
  return inserted.length > 0;
}

/** Ends a current membership; false when there was none. */
export async function endMember(trx: Knex.Transaction, groupId: number, contactId: number, at: string, reason: 'left' | 'removed'): Promise<boolean> {
  return affected(await trx('group_members').where({ group_id: groupId, contact_id: contactId }).whereNull('left_at').update({ left_at: at, left_reason: reason })) > 0;
}

// --- join requests -----------------------------------------------------------------------

export async function insertRequest(trx: Knex.Transaction, r: { groupId: number; contactId: number; organisationId: number; message: string; at: string }): Promise<number> {
  return insertId(trx, 'group_join_requests', { group_id: r.groupId, contact_id: r.contactId, organisation_id: r.organisationId, message: r.message, status: 'pending', created_at: r.at });
}

export async function requestsOf(q: Db, groupIds: number[], status?: JoinRequestStatus): Promise<StoredRequest[]> {
  if (!groupIds.length) return [];
  const query = q('group_join_requests').whereIn('group_id', groupIds).orderBy('id');
  if (status) query.where({ status });
  return (await query).map(toRequest);
}

export async function pendingRequestOf(q: Db, groupId: number, contactId: number): Promise<StoredRequest | undefined> {
  const r = await q('group_join_requests').where({ group_id: groupId, contact_id: contactId, status: 'pending' }).first();
  return r ? toRequest(r) : undefined;
}

export async function requestById(q: Db, id: number): Promise<StoredRequest | undefined> {
  const r = await q('group_join_requests').where({ id }).first();
  return r ? toRequest(r) : undefined;
}

/** Decides a pending request once; false when it was decided meanwhile. */
export async function decideRequest(trx: Knex.Transaction, id: number, status: JoinRequestStatus, at: string, label: string): Promise<boolean> {
  return affected(await trx('group_join_requests').where({ id, status: 'pending' }).update({ status, decided_at: at, decided_by_label: label.slice(0, 200) })) > 0;
}

// --- meetings ----------------------------------------------------------------------------

export async function insertMeeting(trx: Knex.Transaction, m: Omit<GroupMeetingRow, 'id' | 'version' | 'sequence' | 'status'>): Promise<number> {
  return insertId(trx, 'group_meetings', { ...m, sequence: 0, status: 'scheduled', version: 1 });
}

export async function meetingById(q: Db, id: number): Promise<StoredMeeting | undefined> {
  const r = await q('group_meetings').where({ id }).first();
  return r ? toMeeting(r) : undefined;
}

export async function meetingsOf(q: Db, groupIds: number[]): Promise<StoredMeeting[]> {
  if (!groupIds.length) return [];
  return (await q('group_meetings').whereIn('group_id', groupIds).orderBy([{ column: 'starts_at' }, { column: 'id' }])).map(toMeeting);
}

/** Changes a meeting at the version read (sequence set by the caller); false when it changed meanwhile. */
export async function updateMeeting(trx: Knex.Transaction, id: number, version: number, values: Partial<Omit<GroupMeetingRow, 'id' | 'version'>>): Promise<boolean> {
  return affected(await trx('group_meetings').where({ id, version }).update({ ...values, version: version + 1 })) > 0;
}

// --- RSVPs (the personal links) ----------------------------------------------------------

export async function rsvpsOf(q: Db, meetingIds: number[]): Promise<StoredRsvp[]> {
  if (!meetingIds.length) return [];
  return (await q('group_meeting_rsvps').whereIn('meeting_id', meetingIds).orderBy('id')).map(toRsvp);
}

export async function rsvpOf(q: Db, meetingId: number, contactId: number): Promise<StoredRsvp | undefined> {
  const r = await q('group_meeting_rsvps').where({ meeting_id: meetingId, contact_id: contactId }).first();
  return r ? toRsvp(r) : undefined;
}

export async function rsvpByTokenHash(q: Db, hash: string): Promise<StoredRsvp | undefined> {
  const r = await q('group_meeting_rsvps').where({ token_hash: hash }).first();
  return r ? toRsvp(r) : undefined;
}

export async function insertRsvp(trx: Knex.Transaction, r: { meetingId: number; contactId: number; salt: string; tokenHash: string; at: string }): Promise<void> {
  await trx('group_meeting_rsvps').insert({ meeting_id: r.meetingId, contact_id: r.contactId, salt: r.salt, token_hash: r.tokenHash, created_at: r.at })
    .onConflict(['meeting_id', 'contact_id']).ignore();
}

export async function answerRsvp(trx: Knex.Transaction, id: number, answer: RsvpAnswer, at: string): Promise<void> {
  await trx('group_meeting_rsvps').where({ id }).update({ answer, answered_at: at });
}

// --- documents ---------------------------------------------------------------------------

export async function insertDocument(trx: Knex.Transaction, d: Omit<GroupDocumentRow, 'id'>): Promise<number> {
  return insertId(trx, 'group_documents', d);
}

export async function documentsOf(q: Db, groupId: number): Promise<StoredDocument[]> {
  return (await q('group_documents').where({ group_id: groupId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).select(...DOC_COLUMNS)).map(toDocument);
}

export async function documentContent(q: Db, groupId: number, id: number): Promise<(StoredDocument & { content: Buffer }) | undefined> {
  const r = await q('group_documents').where({ group_id: groupId, id }).first();
  return r ? { ...toDocument(r), content: Buffer.from(r.content) } : undefined;
}

export async function deleteDocument(trx: Knex.Transaction, groupId: number, id: number): Promise<boolean> {
  return affected(await trx('group_documents').where({ group_id: groupId, id }).delete()) > 0;
}
