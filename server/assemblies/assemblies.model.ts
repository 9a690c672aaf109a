import { AppError } from '../errors.ts';
import { isLocale, type Locale } from '../i18n/i18n.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import type { AgendaKind, AssemblyFormat, AssemblyKind } from './assemblies.schemas.ts';
import type { AgendaItemRow, AssemblyRow, AssemblyStatus, Channel, InvitationRow, LateNotice, LetterReason } from './assemblies.tables.ts';
import { berlinDay, utcToBerlin, type ChangeNotice } from './notice.ts';

/**
 * The assemblies module's shared model: the domain types every part uses (the assembly and
 * agenda, sending, the members' answers, the day, minutes, attachments) and the mapping of the
 * typed rows (assemblies.tables.ts) to them.
 */

/** A rule of the bylaws or of the workflow refused the action; `code` names the message (assemblies.errors.<code>). */
export class AssemblyRuleError extends AppError {
  constructor(code: string, public readonly params: Record<string, unknown> = {}) {
    super(422, code, code, params);
  }
}

/** Refused input with a message per form field (codes under assemblies.countErrors), shown next to each field. */
export class FieldRuleError extends AssemblyRuleError {
  constructor(public readonly fields: Record<string, { code: string; params?: Record<string, unknown> }>) {
    super('check_fields');
  }
}

/**
 * h/notice: a change after the invitation would be sent after the last day the bylaws allow, and no
 * reason was given. `fields` are the form fields the message belongs next to (besides the reason).
 */
export class LateNoticeError extends AssemblyRuleError {
  constructor(public readonly notice: ChangeNotice, public readonly fields: string[] = []) {
    super(`notice.errors.late_${notice.change}`, { lastSendDay: notice.lastSendDay, days: notice.noticeDays, today: notice.today });
  }
}

/** The text key of a refused rule: codes of other namespaces are whole keys (notice.errors.…). */
export function ruleKey(code: string): string {
  return code.includes('.') ? code : `assemblies.errors.${code}`;
}

export interface Assembly {
  id: number;
  uid: string;
  sequence: number;
  notifiedSequence: number | null;
  title: string;
  kind: AssemblyKind;
  startsAt: string;
  durationMinutes: number;
  format: AssemblyFormat;
  location: string;
  participationInfo: string;
  copyAllContacts: boolean;
  status: AssemblyStatus;
  invitedAt: string | null;
  cancelledAt: string | null;
  createdAt: string;
  updatedAt: string;
  day: string; // Berlin calendar day of the start
  local: { date: string; time: string };
  updatePending: boolean; // time or place changed since the members were told
  noticeChangePending: boolean; // h/notice: the pending update changes date, time, place or format
  // h/attend: access data for online participants (sent separately)
  onlineLink: string;
  onlineMeetingId: string;
  onlineAccessCode: string;
}

export interface AgendaItem {
  id: number;
  assemblyId: number;
  position: number;
  title: string;
  description: string;
  kind: AgendaKind;
  proposedText: string;
  supplementary: boolean;
  supplementSentAt: string | null;
  motionId: number | null;
  locked: boolean; // part of a sent invitation: no longer edited
  lateNotice: LateNotice | null; // h/notice: announced after the period of the bylaws (resolutions void)
}

export interface Recipient {
  organisationId: number;
  organisationName: string;
  memberNumber: number;
  contactName: string;
  to: string;
  cc: string[];
  locale: Locale;
  postalAddress: string;
  channel: Channel;
  hasVote: boolean; // h/attend
  letterReason: LetterReason; // h/attend
}

export interface Invitation {
  id: number;
  assemblyId: number;
  organisationId: number;
  organisationName: string;
  memberNumber: number;
  memberNo: string;
  contactName: string;
  to: string;
  cc: string[];
  locale: Locale;
  postalAddress: string;
  channel: Channel;
  status: string;
  mailMessageId: number | null;
  enqueuedAt: string | null;
  hasVote: boolean; // h/attend
  letterReason: LetterReason; // h/attend
}

export interface NoticeInfo {
  noticeDays: number;
  lastSendDay: string;
  inTime: boolean;
  daysLeft: number;
  motionDeadline: string;
  motionsOpen: boolean;
  today: string;
}

export type LinkProblem = 'unknown' | 'expired' | 'left' | 'cancelled';

/** A personal link or portal look-up: the invitation, or why it cannot be used. */
export type ResolvedInvitation = { ok: true; invitation: Invitation; assembly: Assembly } | { ok: false; reason: LinkProblem; assembly?: Assembly };

/** An uploaded file as the routes hand it over. */
export interface UploadedFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** A stored document as it is served. */
export interface StoredFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** The largest document the board may upload (attachments, minutes). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/**
 * What the board's pages may offer for an assembly, decided by the services with the same rules
 * they apply when the action is posted (a template shows a button only when its flag is set).
 */
export interface AssemblyFlags {
  started: boolean; // the assembly has begun (or is over)
  canEdit: boolean; // details, agenda, attachments
  canSend: boolean; // the invitation (a draft in the future with an agenda)
  canSendUpdate: boolean;
  canSendSupplement: boolean;
  canCancel: boolean;
  canFollowUp: boolean; // resend, letters: the invitation is out
  canRemind: boolean; // the invitation is out and the assembly has not begun
  canCheckIn: boolean;
  canRecordResults: boolean;
  canEditMinutes: boolean;
}

import { bool } from '../db/knex.ts';
export { bool };

export function rowToAssembly(r: AssemblyRow): Assembly {
  return {
    id: Number(r.id),
    uid: r.uid,
    sequence: Number(r.sequence),
    notifiedSequence: r.notified_sequence == null ? null : Number(r.notified_sequence),
    title: r.title,
    kind: r.kind,
    startsAt: r.starts_at,
    durationMinutes: Number(r.duration_minutes),
    format: r.format,
    location: r.location,
    participationInfo: r.participation_info,
    copyAllContacts: bool(r.copy_all_contacts),
    status: r.status,
    invitedAt: r.invited_at,
    cancelledAt: r.cancelled_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    day: berlinDay(r.starts_at),
    local: utcToBerlin(r.starts_at),
    updatePending: r.status === 'invited' && r.notified_sequence != null && Number(r.sequence) > Number(r.notified_sequence),
    noticeChangePending: r.status === 'invited' && r.notified_sequence != null && r.notice_changed_sequence != null && Number(r.notice_changed_sequence) > Number(r.notified_sequence),
    onlineLink: r.online_link, onlineMeetingId: r.online_meeting_id, onlineAccessCode: r.online_access_code, // h/attend
  };
}

/** An agenda item; `assemblyStatus` (when known) decides whether it is locked. */
export function rowToItem(r: AgendaItemRow, assemblyStatus?: AssemblyStatus): AgendaItem {
  const supplementary = bool(r.supplementary);
  return {
    id: Number(r.id),
    assemblyId: Number(r.assembly_id),
    position: Number(r.position),
    title: r.title,
    description: r.description,
    kind: r.kind,
    proposedText: r.proposed_text,
    supplementary,
    supplementSentAt: r.supplement_sent_at,
    motionId: r.motion_id == null ? null : Number(r.motion_id),
    locked: !!assemblyStatus && assemblyStatus !== 'draft' && (!supplementary || !!r.supplement_sent_at),
    lateNotice: r.late_notice ?? null,
  };
}

export function rowToInvitation(r: InvitationRow): Invitation {
  return {
    id: Number(r.id),
    assemblyId: Number(r.assembly_id),
    organisationId: Number(r.organisation_id),
    organisationName: r.organisation_name,
    memberNumber: Number(r.member_number),
    memberNo: formatMemberNumber(Number(r.member_number)),
    contactName: r.contact_name,
    to: r.to_address,
    cc: r.cc ? parseCc(r.cc) : [],
    locale: isLocale(r.locale) ? r.locale : 'de',
    postalAddress: r.postal_address,
    channel: r.channel,
    status: r.status,
    mailMessageId: r.mail_message_id == null ? null : Number(r.mail_message_id),
    enqueuedAt: r.enqueued_at,
    hasVote: bool(r.has_vote), // h/attend
    letterReason: r.letter_reason,
  };
}

function parseCc(json: string): string[] {
  const v: unknown = JSON.parse(json);
  return Array.isArray(v) ? v.map(String) : [];
}
