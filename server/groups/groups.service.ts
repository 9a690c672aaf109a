import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { iso, ZONE, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { AssociationSettings } from '../settings/settings.schemas.ts';
import type { Contact, MembersService } from '../members/members.service.ts';
import type { UsersService } from '../auth/users.service.ts';
import { sha256 } from '../auth/tokens.ts';
import { readBerlinTime } from '../assemblies/berlin-time.ts';
import { AppError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import type { Locale } from '../i18n/i18n.ts';
import * as repo from './groups.repository.ts';
import type { StoredDocument, StoredGroup, StoredMeeting, StoredRequest } from './groups.repository.ts';
import type { RsvpAnswer } from './groups.tables.ts';
import { MAX_DOCUMENT_BYTES, type DocumentInput, type GroupEditInput, type GroupInput, type MeetingInput, type MessageInput } from './groups.schemas.ts';
import { groupMessageMail, meetingMail, type MeetingMailKind } from './groups.mails.ts';

/** A rule of the working groups refused the action; `code` names the message (groups.errors.<code>). */
export class GroupRuleError extends AppError {
  constructor(code: string) {
    super(422, code, code);
  }
}

/** Who looks at or acts on a group: the signed-in user, their contact (member contacts) and whether they are on the board. */
export interface Viewer {
  userId: number | null;
  label: string;
  email: string;
  contactId: number | null;
  isBoard: boolean;
}

export interface GroupMemberView {
  contactId: number;
  name: string;
  email: string;
  organisationId: number;
  organisationName: string;
  joinedAt: string;
  isLead: boolean;
}

export interface Group extends StoredGroup {
  /** name and purpose in the reader's language */
  name: string;
  purpose: string;
  leadName: string;
  leadOrganisation: string;
  sponsorName: string;
  memberCount: number;
  nextMeeting?: StoredMeeting;
}

export interface Access {
  group: Group;
  isBoard: boolean;
  isLead: boolean;
  isMember: boolean;
  /** lead or board: members, requests, meetings, documents */
  canManage: boolean;
  /** members, lead and board: meetings, documents, members, messages */
  canSee: boolean;
}

export interface MeetingView extends StoredMeeting {
  past: boolean;
  myAnswer: RsvpAnswer | null;
  counts: { yes: number; no: number; maybe: number; open: number };
}

export type RsvpProblem = 'unknown' | 'left' | 'cancelled' | 'past';

interface Deps {
  db: Knex;
  clock: Clock;
  config: Config;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  members: MembersService;
  users: UsersService;
}

const TOKEN_PURPOSE = 'group-meeting-rsvp';

type MailReady = { association: AssociationSettings; contacts: Map<number, Contact> };

/**
 * Working groups (Arbeitsgruppen): the board creates a group with a lead (a contact of a member
 * organisation) and optionally a board sponsor; member contacts join open groups or ask to join
 * groups by invitation; the lead and the board manage members, requests, meetings, documents.
 * Meetings are invited through the outbox with a calendar file (stable UID, SEQUENCE up on every
 * change, METHOD:CANCEL on cancellation) and a personal RSVP link per contact.
 *
 * Leaving the association: a contact counts as a member of a group only while its organisation
 * is a member (MembersService.membersAmong, from the membership history and the exit date), so on
 * the day after the last day of membership the contact is out of all groups: it is no longer
 * listed, invited or mailed, and its links and the group's pages are closed to it. The rows stay
 * (a reactivated member is back in its groups).
 */
export class GroupsService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  private actor(v: Viewer): Actor {
    return { userId: v.userId, label: v.label };
  }

  // --- reading ---------------------------------------------------------------------------

  /** The current members of the groups: rows not left, contact still there, organisation a member today. */
  private async currentMembers(groupIds: number[], leadOf: Map<number, number>): Promise<Map<number, GroupMemberView[]>> {
    const rows = (await repo.membersOf(this.d.db, groupIds)).filter((m) => !m.leftAt);
    const contacts = new Map((await this.d.members.contactsByIds(rows.map((r) => r.contactId))).map((c) => [c.id, c]));
    const stillMembers = await this.d.members.membersAmong(rows.map((r) => r.organisationId));
    const names = await this.d.members.legalNames([...stillMembers]);
    const out = new Map<number, GroupMemberView[]>(groupIds.map((id) => [id, []]));
    for (const r of rows) {
      const c = contacts.get(r.contactId);
      if (!c || c.organisationId !== r.organisationId || !stillMembers.has(r.organisationId)) continue;
      out.get(r.groupId)!.push({
        contactId: c.id, name: c.name, email: c.email, organisationId: c.organisationId, organisationName: names.get(c.organisationId) ?? '',
        joinedAt: r.joinedAt, isLead: leadOf.get(r.groupId) === c.id,
      });
    }
    for (const list of out.values()) list.sort((a, b) => Number(b.isLead) - Number(a.isLead) || a.name.localeCompare(b.name, 'de'));
    return out;
  }

  private async present(list: StoredGroup[], locale: Locale): Promise<{ groups: Group[]; members: Map<number, GroupMemberView[]> }> {
    const leadOf = new Map(list.map((g) => [g.id, g.leadContactId]));
    const members = await this.currentMembers(list.map((g) => g.id), leadOf);
    const leads = new Map((await this.d.members.contactsByIds(list.map((g) => g.leadContactId))).map((c) => [c.id, c]));
    const orgNames = await this.d.members.legalNames([...leads.values()].map((c) => c.organisationId));
    const sponsors = new Map<number, string>();
    for (const id of new Set(list.map((g) => g.sponsorUserId).filter((x): x is number => x != null))) {
      const u = await this.d.users.byId(id);
      if (u) sponsors.set(id, u.displayName);
    }
    const now = this.now();
    const meetings = await repo.meetingsOf(this.d.db, list.map((g) => g.id));
    const groups = list.map((g): Group => {
      const lead = leads.get(g.leadContactId);
      return {
        ...g,
        name: locale === 'en' ? g.nameEn : g.nameDe,
        purpose: locale === 'en' ? g.purposeEn : g.purposeDe,
        leadName: lead?.name ?? '',
        leadOrganisation: lead ? orgNames.get(lead.organisationId) ?? '' : '',
        sponsorName: g.sponsorUserId ? sponsors.get(g.sponsorUserId) ?? '' : '',
        memberCount: members.get(g.id)?.length ?? 0,
        nextMeeting: meetings.find((m) => m.groupId === g.id && m.status === 'scheduled' && m.startsAt > now),
      };
    });
    return { groups, members };
  }

  /** What the viewer may do with the group (404 for an unknown group). */
  async access(viewer: Viewer, id: number, locale: Locale = 'de'): Promise<Access & { members: GroupMemberView[] }> {
    const stored = await repo.groupById(this.d.db, id);
    if (!stored) throw new NotFoundError();
    const { groups, members } = await this.present([stored], locale);
    const list = members.get(id) ?? [];
    const isMember = viewer.contactId != null && list.some((m) => m.contactId === viewer.contactId);
    const isLead = isMember && viewer.contactId === stored.leadContactId;
    return { group: groups[0], members: list, isBoard: viewer.isBoard, isLead, isMember, canManage: viewer.isBoard || isLead, canSee: viewer.isBoard || isMember };
  }

  private async manage(viewer: Viewer, id: number): Promise<Access & { members: GroupMemberView[] }> {
    const a = await this.access(viewer, id);
    if (!a.canManage) throw new ForbiddenError();
    return a;
  }

  private async see(viewer: Viewer, id: number): Promise<Access & { members: GroupMemberView[] }> {
    const a = await this.access(viewer, id);
    if (!a.canSee) throw new ForbiddenError();
    return a;
  }

  /** Every group for the portal's list, with the viewer's standing in each. */
  async portalList(viewer: Viewer, locale: Locale): Promise<(Group & { isMember: boolean; isLead: boolean; requested: boolean })[]> {
    const { groups, members } = await this.present(await repo.groups(this.d.db), locale);
    const pending = viewer.contactId ? await repo.requestsOf(this.d.db, groups.map((g) => g.id), 'pending') : [];
    return groups.map((g) => {
      const isMember = viewer.contactId != null && (members.get(g.id) ?? []).some((m) => m.contactId === viewer.contactId);
      return { ...g, isMember, isLead: isMember && g.leadContactId === viewer.contactId, requested: pending.some((r) => r.groupId === g.id && r.contactId === viewer.contactId) };
    });
  }

  /** The board's overview: every group with its membership, next meeting and open requests. */
  async dashboard(locale: Locale): Promise<(Group & { pendingRequests: number; organisations: number })[]> {
    const { groups, members } = await this.present(await repo.groups(this.d.db), locale);
    const pending = await repo.requestsOf(this.d.db, groups.map((g) => g.id), 'pending');
    return groups.map((g) => ({
      ...g,
      pendingRequests: pending.filter((r) => r.groupId === g.id).length,
      organisations: new Set((members.get(g.id) ?? []).map((m) => m.organisationId)).size,
    }));
  }

  /** The groups an organisation's contacts are in today (for the register's member page). */
  async ofOrganisation(organisationId: number, locale: Locale): Promise<(Group & { contacts: string[] })[]> {
    const rows = await repo.membershipsOfOrganisation(this.d.db, organisationId);
    if (!rows.length) return [];
    const ids = [...new Set(rows.map((r) => r.groupId))];
    const all = (await repo.groups(this.d.db)).filter((g) => ids.includes(g.id));
    const { groups, members } = await this.present(all, locale);
    return groups
      .map((g) => ({ ...g, contacts: (members.get(g.id) ?? []).filter((m) => m.organisationId === organisationId).map((m) => m.name) }))
      .filter((g) => g.contacts.length > 0);
  }

  /** Everything of a group the viewer may see: members, meetings and documents for members, lead and board; requests for lead and board. */
  async detail(viewer: Viewer, id: number, locale: Locale): Promise<Access & {
    members: GroupMemberView[]; meetings: MeetingView[]; documents: StoredDocument[]; requests: (StoredRequest & { name: string; organisationName: string })[]; requested: boolean;
  }> {
    const a = await this.access(viewer, id, locale);
    const requested = !!(viewer.contactId && (await repo.pendingRequestOf(this.d.db, id, viewer.contactId)));
    if (!a.canSee) return { ...a, members: [], meetings: [], documents: [], requests: [], requested };
    const meetings = await repo.meetingsOf(this.d.db, [id]);
    const rsvps = await repo.rsvpsOf(this.d.db, meetings.map((m) => m.id));
    const current = new Set(a.members.map((m) => m.contactId));
    const now = this.now();
    const views = meetings.map((m): MeetingView => {
      const mine = rsvps.filter((r) => r.meetingId === m.id && current.has(r.contactId));
      const count = (x: RsvpAnswer) => mine.filter((r) => r.answer === x).length;
      return {
        ...m, past: m.startsAt <= now, myAnswer: rsvps.find((r) => r.meetingId === m.id && r.contactId === viewer.contactId)?.answer ?? null,
        counts: { yes: count('yes'), no: count('no'), maybe: count('maybe'), open: a.members.length - count('yes') - count('no') - count('maybe') },
      };
    });
    let requests: (StoredRequest & { name: string; organisationName: string })[] = [];
    if (a.canManage) {
      const pending = await repo.requestsOf(this.d.db, [id], 'pending');
      const contacts = new Map((await this.d.members.contactsByIds(pending.map((r) => r.contactId))).map((c) => [c.id, c]));
      const names = await this.d.members.legalNames(pending.map((r) => r.organisationId));
      requests = pending.map((r) => ({ ...r, name: contacts.get(r.contactId)?.name ?? '', organisationName: names.get(r.organisationId) ?? '' }));
    }
    return { ...a, meetings: views, documents: await repo.documentsOf(this.d.db, id), requests, requested };
  }

  // --- the board: groups -----------------------------------------------------------------

  /** The lead must be a contact of an organisation that is a member today. */
  private async leadContact(email: string): Promise<Contact> {
    const candidates = await this.d.members.contactsByEmail(email);
    const members = await this.d.members.membersAmong(candidates.map((c) => c.organisationId));
    const c = candidates.find((x) => members.has(x.organisationId));
    if (!c) throw new ValidationError({ leadEmail: 'groups.validation.leadUnknown' });
    return c;
  }

  private async sponsor(userId: number | null): Promise<number | null> {
    if (userId == null) return null;
    const u = await this.d.users.byId(userId);
    if (!u || u.disabled || !u.roles.includes('board')) throw new ValidationError({ sponsorUserId: 'groups.validation.sponsor' });
    return u.id;
  }

  /** The board users who may sponsor a group. */
  async sponsorChoices(): Promise<{ id: number; name: string }[]> {
    return (await this.d.users.list({ role: 'board' })).filter((u) => !u.disabled).map((u) => ({ id: u.id, name: u.displayName }));
  }

  async create(viewer: Viewer, input: GroupInput): Promise<number> {
    if (!viewer.isBoard) throw new ForbiddenError();
    const lead = await this.leadContact(input.leadEmail);
    const sponsorUserId = await this.sponsor(input.sponsorUserId);
    const at = this.now();
    return this.d.db.transaction(async (trx) => {
      const id = await repo.insertGroup(trx, {
        name_de: input.nameDe, name_en: input.nameEn, purpose_de: input.purposeDe, purpose_en: input.purposeEn,
        lead_contact_id: lead.id, sponsor_user_id: sponsorUserId, access: input.access, created_at: at, updated_at: at,
      });
      await repo.addMember(trx, { groupId: id, contactId: lead.id, organisationId: lead.organisationId, at });
      await this.d.audit.record(trx, this.actor(viewer), 'group.created', 'working_group', id, null, {
        nameDe: input.nameDe, nameEn: input.nameEn, leadContactId: lead.id, sponsorUserId, access: input.access,
      });
      return id;
    });
  }

  async update(viewer: Viewer, id: number, input: GroupEditInput): Promise<void> {
    if (!viewer.isBoard) throw new ForbiddenError();
    const before = await repo.groupById(this.d.db, id);
    if (!before) throw new NotFoundError();
    const lead = await this.leadContact(input.leadEmail);
    const sponsorUserId = await this.sponsor(input.sponsorUserId);
    const at = this.now();
    await this.d.db.transaction(async (trx) => {
      const ok = await repo.updateGroup(trx, id, input.version, {
        name_de: input.nameDe, name_en: input.nameEn, purpose_de: input.purposeDe, purpose_en: input.purposeEn,
        lead_contact_id: lead.id, sponsor_user_id: sponsorUserId, access: input.access, updated_at: at,
      });
      if (!ok) throw new GroupRuleError('changed');
      await repo.addMember(trx, { groupId: id, contactId: lead.id, organisationId: lead.organisationId, at }); // the lead is always in the group
      await this.d.audit.record(trx, this.actor(viewer), 'group.updated', 'working_group', id,
        { nameDe: before.nameDe, nameEn: before.nameEn, leadContactId: before.leadContactId, sponsorUserId: before.sponsorUserId, access: before.access },
        { nameDe: input.nameDe, nameEn: input.nameEn, leadContactId: lead.id, sponsorUserId, access: input.access });
    });
  }

  // --- membership ------------------------------------------------------------------------

  /** The viewer as a contact of an organisation that is a member today (only those join groups). */
  private async memberContact(viewer: Viewer): Promise<Contact> {
    if (!viewer.contactId) throw new GroupRuleError('not_contact');
    const [c] = await this.d.members.contactsByIds([viewer.contactId]);
    if (!c || !(await this.d.members.membersAmong([c.organisationId])).has(c.organisationId)) throw new GroupRuleError('not_contact');
    return c;
  }

  async join(viewer: Viewer, id: number): Promise<void> {
    const a = await this.access(viewer, id);
    const c = await this.memberContact(viewer);
    if (a.isMember) throw new GroupRuleError('already_member');
    if (a.group.access !== 'open') throw new GroupRuleError('invitation_only');
    await this.d.db.transaction(async (trx) => {
      await repo.addMember(trx, { groupId: id, contactId: c.id, organisationId: c.organisationId, at: this.now() });
      await this.d.audit.record(trx, this.actor(viewer), 'group.joined', 'working_group', id, null, { contactId: c.id, organisationId: c.organisationId });
    });
  }

  async leave(viewer: Viewer, id: number): Promise<void> {
    const a = await this.access(viewer, id);
    if (!a.isMember || !viewer.contactId) throw new GroupRuleError('not_member');
    if (a.group.leadContactId === viewer.contactId) throw new GroupRuleError('lead_stays');
    await this.d.db.transaction(async (trx) => {
      await repo.endMember(trx, id, viewer.contactId!, this.now(), 'left');
      await this.d.audit.record(trx, this.actor(viewer), 'group.left', 'working_group', id, { contactId: viewer.contactId }, null);
    });
  }

  async requestJoin(viewer: Viewer, id: number, message: string): Promise<void> {
    const a = await this.access(viewer, id);
    const c = await this.memberContact(viewer);
    if (a.isMember) throw new GroupRuleError('already_member');
    if (a.group.access === 'open') throw new GroupRuleError('open_join');
    await this.d.db.transaction(async (trx) => {
      if (await repo.pendingRequestOf(trx, id, c.id)) throw new GroupRuleError('already_requested');
      const rid = await repo.insertRequest(trx, { groupId: id, contactId: c.id, organisationId: c.organisationId, message, at: this.now() });
      await this.d.audit.record(trx, this.actor(viewer), 'group.join_requested', 'working_group', id, null, { requestId: rid, contactId: c.id, message });
    });
  }

  async withdrawRequest(viewer: Viewer, id: number): Promise<void> {
    if (!viewer.contactId) throw new GroupRuleError('not_contact');
    const r = await repo.pendingRequestOf(this.d.db, id, viewer.contactId);
    if (!r) throw new GroupRuleError('no_request');
    await this.d.db.transaction(async (trx) => {
      if (!(await repo.decideRequest(trx, r.id, 'withdrawn', this.now(), viewer.label))) throw new GroupRuleError('no_request');
      await this.d.audit.record(trx, this.actor(viewer), 'group.join_request_withdrawn', 'working_group', id, { requestId: r.id }, { status: 'withdrawn' });
    });
  }

  /** The lead or the board accepts (the contact joins) or declines a pending request. */
  async decideRequest(viewer: Viewer, id: number, requestId: number, accept: boolean): Promise<void> {
    await this.manage(viewer, id);
    const r = await repo.requestById(this.d.db, requestId);
    if (!r || r.groupId !== id) throw new NotFoundError();
    const [c] = await this.d.members.contactsByIds([r.contactId]);
    const stillMember = !!c && (await this.d.members.membersAmong([c.organisationId])).has(c.organisationId);
    if (accept && !stillMember) throw new GroupRuleError('not_contact');
    await this.d.db.transaction(async (trx) => {
      if (!(await repo.decideRequest(trx, requestId, accept ? 'accepted' : 'declined', this.now(), viewer.label))) throw new GroupRuleError('no_request');
      if (accept) await repo.addMember(trx, { groupId: id, contactId: c!.id, organisationId: c!.organisationId, at: this.now() });
      await this.d.audit.record(trx, this.actor(viewer), accept ? 'group.join_request_accepted' : 'group.join_request_declined', 'working_group', id,
        { requestId, status: 'pending' }, { requestId, status: accept ? 'accepted' : 'declined', contactId: r.contactId });
    });
  }

  /** The lead or the board adds a contact of a member organisation by its e-mail address. */
  async addMember(viewer: Viewer, id: number, email: string): Promise<void> {
    const a = await this.manage(viewer, id);
    const candidates = await this.d.members.contactsByEmail(email);
    const members = await this.d.members.membersAmong(candidates.map((c) => c.organisationId));
    const c = candidates.find((x) => members.has(x.organisationId));
    if (!c) throw new ValidationError({ email: 'groups.validation.contactUnknown' });
    if (a.members.some((m) => m.contactId === c.id)) throw new ValidationError({ email: 'groups.errors.already_member' });
    await this.d.db.transaction(async (trx) => {
      await repo.addMember(trx, { groupId: id, contactId: c.id, organisationId: c.organisationId, at: this.now() });
      const pending = await repo.pendingRequestOf(trx, id, c.id);
      if (pending) await repo.decideRequest(trx, pending.id, 'accepted', this.now(), viewer.label);
      await this.d.audit.record(trx, this.actor(viewer), 'group.member_added', 'working_group', id, null, { contactId: c.id, organisationId: c.organisationId });
    });
  }

  async removeMember(viewer: Viewer, id: number, contactId: number): Promise<void> {
    const a = await this.manage(viewer, id);
    if (a.group.leadContactId === contactId) throw new GroupRuleError('lead_stays');
    await this.d.db.transaction(async (trx) => {
      if (!(await repo.endMember(trx, id, contactId, this.now(), 'removed'))) throw new GroupRuleError('not_member');
      await this.d.audit.record(trx, this.actor(viewer), 'group.member_removed', 'working_group', id, { contactId }, null);
    });
  }

  // --- meetings --------------------------------------------------------------------------

  /** The meeting's start as a UTC instant, read strictly in Europe/Berlin; a time in the spring gap or the doubled autumn hour is refused or asked about. */
  private startOf(input: MeetingInput): string {
    const t = readBerlinTime(input.date, input.time);
    if (t.kind === 'invalid') throw new ValidationError({ date: 'groups.validation.date' });
    if (t.kind === 'gap') throw new ValidationError({ time: 'groups.validation.gap' });
    let utc: string;
    if (t.kind === 'ambiguous') {
      if (input.dst !== 'earlier' && input.dst !== 'later') throw new ValidationError({ time: 'groups.validation.ambiguous', dst: 'groups.validation.ambiguous' });
      utc = input.dst === 'earlier' ? t.earlier : t.later;
    } else utc = t.utc;
    if (utc <= this.now()) throw new ValidationError({ date: 'groups.validation.future' });
    return utc;
  }

  /** The personal link's token of a contact for a meeting: derived from a random salt with the server's secret, so later mails carry the same link; only its SHA-256 is stored. */
  private token(meetingId: number, contactId: number, salt: string): string {
    return crypto.createHmac('sha256', this.d.config.sessionSecret).update(`${TOKEN_PURPOSE}:${meetingId}:${contactId}:${salt}`).digest('base64url');
  }

  /** Queues the meeting's mail to every current member (a personal link each; invitees new since the last mail get one). */
  private async mailMeeting(trx: Knex.Transaction, group: Group, members: GroupMemberView[], meeting: StoredMeeting, kind: MeetingMailKind, ready: MailReady): Promise<number> {
    const { association, contacts } = ready;
    let n = 0;
    for (const m of members) {
      const c = contacts.get(m.contactId);
      if (!c?.email) continue;
      let rsvp = await repo.rsvpOf(trx, meeting.id, c.id);
      if (!rsvp) {
        const salt = crypto.randomBytes(16).toString('hex');
        await repo.insertRsvp(trx, { meetingId: meeting.id, contactId: c.id, salt, tokenHash: sha256(this.token(meeting.id, c.id, salt)), at: this.now() });
        rsvp = (await repo.rsvpOf(trx, meeting.id, c.id))!;
      }
      const link = `${this.d.config.baseUrl}/g/${this.token(meeting.id, c.id, rsvp.salt)}`;
      await this.d.outbox.enqueue(trx, meetingMail({ kind, group, meeting, contact: c, link, association, stamp: this.d.clock.now() }));
      n++;
    }
    return n;
  }

  /** What the meeting mails need, read before their transaction (SQLite has one connection). */
  private async mailReady(members: GroupMemberView[]): Promise<MailReady> {
    const association = await this.d.settings.association();
    const contacts = new Map((await this.d.members.contactsByIds(members.map((m) => m.contactId))).map((c) => [c.id, c]));
    return { association, contacts };
  }

  async scheduleMeeting(viewer: Viewer, id: number, input: MeetingInput): Promise<number> {
    const a = await this.manage(viewer, id);
    const startsAt = this.startOf(input);
    const at = this.now();
    const domain = new URL(this.d.config.baseUrl).hostname || 'localhost';
    const ready = await this.mailReady(a.members);
    return this.d.db.transaction(async (trx) => {
      const mid = await repo.insertMeeting(trx, {
        group_id: id, uid: `group-meeting-${crypto.randomUUID()}@${domain}`, title: input.title, starts_at: startsAt, duration_minutes: input.durationMinutes,
        format: input.format, location: input.format === 'online' ? '' : input.location, online_link: input.format === 'in_person' ? '' : input.onlineLink,
        agenda: input.agenda, created_at: at, updated_at: at,
      });
      const meeting = (await repo.meetingById(trx, mid))!;
      const invited = await this.mailMeeting(trx, a.group, a.members, meeting, 'invitation', ready);
      await this.d.audit.record(trx, this.actor(viewer), 'group.meeting_scheduled', 'group_meeting', mid, null, {
        groupId: id, title: input.title, startsAt, format: input.format, location: meeting.location, onlineLink: meeting.onlineLink, invited,
      });
      return mid;
    });
  }

  private async meetingOf(id: number, meetingId: number): Promise<StoredMeeting> {
    const m = await repo.meetingById(this.d.db, meetingId);
    if (!m || m.groupId !== id) throw new NotFoundError();
    return m;
  }

  async meeting(viewer: Viewer, id: number, meetingId: number): Promise<StoredMeeting> {
    await this.see(viewer, id);
    return this.meetingOf(id, meetingId);
  }

  /** Changes a meeting; a change of time, format, place or link is sent to the members as an update (next SEQUENCE). */
  async updateMeeting(viewer: Viewer, id: number, meetingId: number, input: MeetingInput & { version: number }): Promise<{ mailed: boolean }> {
    const a = await this.manage(viewer, id);
    const before = await this.meetingOf(id, meetingId);
    if (before.status === 'cancelled') throw new GroupRuleError('cancelled');
    const startsAt = this.startOf(input);
    const location = input.format === 'online' ? '' : input.location;
    const onlineLink = input.format === 'in_person' ? '' : input.onlineLink;
    const changed = startsAt !== before.startsAt || input.durationMinutes !== before.durationMinutes || input.format !== before.format
      || location !== before.location || onlineLink !== before.onlineLink || input.title !== before.title || input.agenda !== before.agenda;
    if (!changed) return { mailed: false };
    const ready = await this.mailReady(a.members);
    return this.d.db.transaction(async (trx) => {
      const ok = await repo.updateMeeting(trx, meetingId, input.version, {
        title: input.title, starts_at: startsAt, duration_minutes: input.durationMinutes, format: input.format, location, online_link: onlineLink,
        agenda: input.agenda, sequence: before.sequence + 1, updated_at: this.now(),
      });
      if (!ok) throw new GroupRuleError('changed');
      const meeting = (await repo.meetingById(trx, meetingId))!;
      const mailed = await this.mailMeeting(trx, a.group, a.members, meeting, 'update', ready);
      await this.d.audit.record(trx, this.actor(viewer), 'group.meeting_updated', 'group_meeting', meetingId,
        { title: before.title, startsAt: before.startsAt, format: before.format, location: before.location, onlineLink: before.onlineLink, sequence: before.sequence },
        { title: meeting.title, startsAt, format: meeting.format, location, onlineLink, sequence: meeting.sequence, mailed });
      return { mailed: mailed > 0 };
    });
  }

  async cancelMeeting(viewer: Viewer, id: number, meetingId: number): Promise<void> {
    const a = await this.manage(viewer, id);
    const before = await this.meetingOf(id, meetingId);
    if (before.status === 'cancelled') throw new GroupRuleError('cancelled');
    const ready = await this.mailReady(a.members);
    await this.d.db.transaction(async (trx) => {
      if (!(await repo.updateMeeting(trx, meetingId, before.version, { status: 'cancelled', sequence: before.sequence + 1, updated_at: this.now() }))) throw new GroupRuleError('changed');
      const meeting = (await repo.meetingById(trx, meetingId))!;
      // everyone who was invited and is still in the group hears of it
      const invited = new Set((await repo.rsvpsOf(trx, [meetingId])).map((r) => r.contactId));
      const mailed = await this.mailMeeting(trx, a.group, a.members.filter((m) => invited.has(m.contactId)), meeting, 'cancel', ready);
      await this.d.audit.record(trx, this.actor(viewer), 'group.meeting_cancelled', 'group_meeting', meetingId, { status: 'scheduled' }, { status: 'cancelled', sequence: meeting.sequence, mailed });
    });
  }

  // --- RSVP ------------------------------------------------------------------------------

  /** The meeting and contact behind a personal link, if the link still stands. */
  async resolveLink(token: string, locale: Locale): Promise<{ ok: true; meeting: StoredMeeting; group: Group; contactId: number; answer: RsvpAnswer | null; name: string } | { ok: false; reason: RsvpProblem }> {
    if (typeof token !== 'string' || token.length !== 43 || !/^[A-Za-z0-9_-]+$/.test(token)) return { ok: false, reason: 'unknown' };
    const rsvp = await repo.rsvpByTokenHash(this.d.db, sha256(token));
    if (!rsvp) return { ok: false, reason: 'unknown' };
    const meeting = (await repo.meetingById(this.d.db, rsvp.meetingId))!;
    const stored = await repo.groupById(this.d.db, meeting.groupId);
    if (!stored) return { ok: false, reason: 'unknown' };
    const { groups, members } = await this.present([stored], locale);
    const member = (members.get(stored.id) ?? []).find((m) => m.contactId === rsvp.contactId);
    if (!member) return { ok: false, reason: 'left' };
    if (meeting.status === 'cancelled') return { ok: false, reason: 'cancelled' };
    if (meeting.startsAt <= this.now()) return { ok: false, reason: 'past' };
    return { ok: true, meeting, group: groups[0], contactId: rsvp.contactId, answer: rsvp.answer, name: member.name };
  }

  private async answer(actor: Actor, meeting: StoredMeeting, contactId: number, answer: RsvpAnswer, via: 'link' | 'portal'): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      let rsvp = await repo.rsvpOf(trx, meeting.id, contactId);
      if (!rsvp) {
        const salt = crypto.randomBytes(16).toString('hex');
        await repo.insertRsvp(trx, { meetingId: meeting.id, contactId, salt, tokenHash: sha256(this.token(meeting.id, contactId, salt)), at: this.now() });
        rsvp = (await repo.rsvpOf(trx, meeting.id, contactId))!;
      }
      await repo.answerRsvp(trx, rsvp.id, answer, this.now());
      await this.d.audit.record(trx, actor, 'group.meeting_rsvp', 'group_meeting', meeting.id, { contactId, answer: rsvp.answer }, { contactId, answer, via });
    });
  }

  /** The answer given through the personal link (no login). */
  async rsvpByLink(token: string, answer: RsvpAnswer): Promise<RsvpProblem | null> {
    const r = await this.resolveLink(token, 'de');
    if (!r.ok) return r.reason;
    await this.answer({ userId: null, label: r.name }, r.meeting, r.contactId, answer, 'link');
    return null;
  }

  /** The answer given in the portal by a member of the group. */
  async rsvp(viewer: Viewer, id: number, meetingId: number, answer: RsvpAnswer): Promise<void> {
    const a = await this.access(viewer, id);
    if (!a.isMember || !viewer.contactId) throw new ForbiddenError();
    const m = await this.meetingOf(id, meetingId);
    if (m.status === 'cancelled') throw new GroupRuleError('cancelled');
    if (m.startsAt <= this.now()) throw new GroupRuleError('past');
    await this.answer(this.actor(viewer), m, viewer.contactId, answer, 'portal');
  }

  /** Who answered what (lead and board). */
  async answers(viewer: Viewer, id: number, meetingId: number): Promise<{ name: string; organisationName: string; answer: RsvpAnswer | null }[]> {
    const a = await this.manage(viewer, id);
    await this.meetingOf(id, meetingId);
    const rsvps = await repo.rsvpsOf(this.d.db, [meetingId]);
    return a.members.map((m) => ({ name: m.name, organisationName: m.organisationName, answer: rsvps.find((r) => r.contactId === m.contactId)?.answer ?? null }));
  }

  // --- documents -------------------------------------------------------------------------

  /** Stores a PDF (checked by its first bytes, at most MAX_DOCUMENT_BYTES) for the group (lead and board). */
  async upload(viewer: Viewer, id: number, input: DocumentInput, file: { filename: string; content: Buffer }): Promise<number> {
    await this.manage(viewer, id);
    if (file.content.length > MAX_DOCUMENT_BYTES) throw new ValidationError({ file: 'groups.validation.tooLarge' });
    if (file.content.length < 5 || file.content.subarray(0, 5).toString('latin1') !== '%PDF-') throw new ValidationError({ file: 'groups.validation.pdfOnly' });
    if (input.meetingId != null) await this.meetingOf(id, input.meetingId);
    const filename = (file.filename.replace(/[\\/]/g, '_').replace(/[^\p{L}\p{N}._ -]/gu, '_').trim().slice(0, 150) || 'dokument').replace(/(\.pdf)?$/i, '.pdf');
    return this.d.db.transaction(async (trx) => {
      const did = await repo.insertDocument(trx, {
        group_id: id, meeting_id: input.meetingId, kind: input.kind, title: input.title, filename, size: file.content.length, content: file.content,
        created_by: viewer.userId, created_by_label: viewer.label.slice(0, 200), created_at: this.now(),
      });
      await this.d.audit.record(trx, this.actor(viewer), 'group.document_uploaded', 'working_group', id, null, { documentId: did, title: input.title, kind: input.kind, filename, size: file.content.length });
      return did;
    });
  }

  /** A document for the group's members, the lead and the board only. */
  async document(viewer: Viewer, id: number, documentId: number): Promise<{ filename: string; content: Buffer }> {
    await this.see(viewer, id);
    const doc = await repo.documentContent(this.d.db, id, documentId);
    if (!doc) throw new NotFoundError();
    return { filename: doc.filename, content: doc.content };
  }

  async deleteDocument(viewer: Viewer, id: number, documentId: number): Promise<void> {
    await this.manage(viewer, id);
    await this.d.db.transaction(async (trx) => {
      if (!(await repo.deleteDocument(trx, id, documentId))) throw new NotFoundError();
      await this.d.audit.record(trx, this.actor(viewer), 'group.document_deleted', 'working_group', id, { documentId }, null);
    });
  }

  // --- messages --------------------------------------------------------------------------

  /** A message to every current member of the group (but the sender), naming the sender; answers go to the sender. */
  async sendMessage(viewer: Viewer, id: number, input: MessageInput): Promise<number> {
    const a = await this.see(viewer, id);
    const recipients = a.members.filter((m) => m.contactId !== viewer.contactId && m.email);
    if (!recipients.length) throw new GroupRuleError('no_recipients');
    const association = await this.d.settings.association();
    const contacts = new Map((await this.d.members.contactsByIds(recipients.map((m) => m.contactId))).map((c) => [c.id, c]));
    return this.d.db.transaction(async (trx) => {
      for (const m of recipients) {
        const c = contacts.get(m.contactId);
        if (!c) continue;
        await this.d.outbox.enqueue(trx, groupMessageMail({ group: a.group, contact: c, sender: { name: viewer.label, email: viewer.email }, input, association }));
      }
      await this.d.audit.record(trx, this.actor(viewer), 'group.message_sent', 'working_group', id, null, { subject: input.subject, recipients: recipients.length });
      return recipients.length;
    });
  }
}

/** A meeting's date and time for forms (Berlin wall clock). */
export function meetingFormValues(m: StoredMeeting): Record<string, unknown> {
  const local = DateTime.fromISO(m.startsAt, { zone: 'utc' }).setZone(ZONE);
  return {
    title: m.title, date: local.toFormat('yyyy-MM-dd'), time: local.toFormat('HH:mm'), durationMinutes: String(m.durationMinutes),
    format: m.format, location: m.location, onlineLink: m.onlineLink, agenda: m.agenda, version: String(m.version),
  };
}
