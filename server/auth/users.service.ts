import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { ChangeFeed } from '../db/change-feed.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import type { Role } from './roles.ts';
import type { Locale } from '../i18n/i18n.ts';
import type { UserRoleRow, UserRow } from './auth.tables.ts';
import { markAllUsed } from './tokens.repository.ts';
import { ACCOUNT_FAILURES, LoginThrottle } from './login-throttle.ts';
import {
  addRole, countActiveAdmins, displayNameSubquery, exportedUserRows, insertUser, removeRole, replaceRoles, rolesOf, searchUserRows,
  toBool, updateUser, userCounts, userRoleRows, userRowByEmail, userRowById, userWithRoles, type ExportedUserRow, type Q,
} from './users.repository.ts';

export interface User {
  id: number;
  email: string;
  displayName: string;
  locale: Locale;
  roles: Role[];
  disabled: boolean;
  hasPassword: boolean;
  lockedUntil: string | null;
  lastLoginAt: string | null;
  createdAt: string;
  organisationId: number | null; // for member contacts: the organisation they act for
  contactId: number | null;
}

/** A user account's link to a member organisation's contact (the members module owns contacts). */
export interface ContactLink {
  userId: number;
  contactId: number;
  organisationId: number;
}

/** How UsersService finds the contacts linked to accounts; the members module provides it. */
export interface UserContactLinks {
  linksOf(userIds: number[], q?: Q): Promise<ContactLink[]>;
}

export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60_000;

export type LoginResult = { ok: true; user: User } | { ok: false; reason: 'invalid' | 'disabled' } | { ok: false; reason: 'throttled'; retryAfterMs: number };

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The address an anonymised account keeps (unique, never deliverable). */
export function anonymisedEmail(userId: number): string {
  return `anonymised-${userId}@invalid.invalid`;
}

function rowToUser(r: UserRow, roles: Role[], link: ContactLink | undefined): User {
  return {
    id: Number(r.id),
    email: r.email,
    displayName: r.display_name,
    locale: r.locale === 'en' ? 'en' : 'de',
    roles: [...roles],
    disabled: toBool(r.disabled),
    hasPassword: !!r.password_hash,
    lockedUntil: r.locked_until,
    lastLoginAt: r.last_login_at,
    createdAt: r.created_at,
    organisationId: link ? Number(link.organisationId) : null,
    contactId: link ? Number(link.contactId) : null,
  };
}

/** For each user the contact with the lowest id. */
function firstLinks(links: ContactLink[]): Map<number, ContactLink> {
  const out = new Map<number, ContactLink>();
  for (const l of [...links].sort((a, b) => a.contactId - b.contactId)) if (!out.has(l.userId)) out.set(l.userId, l);
  return out;
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  changes: ChangeFeed;
  contacts: UserContactLinks;
}

/**
 * User accounts and their roles: the only writer of `users` and `user_roles`. Every write
 * tells the change feed (channel `users`, the user's id), so the users kept for signed-in
 * requests (forSession) are dropped here at once and again after the commit, and in other
 * processes (PostgreSQL) when the commit is announced.
 */
export class UsersService {
  constructor(private d: Deps) {
    this.throttle = new LoginThrottle(d.clock);
    d.changes.subscribe('users', (id) => {
      this.generation++;
      if (id === undefined) this.recent.clear();
      else this.recent.delete(Number(id));
    });
  }

  /** Users of recent requests (see forSession). */
  private recent = new Map<number, { user: User; at: number }>();
  /** Moves on with every change notice: a read that overlapped one is not kept. */
  private generation = 0;
  static SESSION_CACHE_MS = 2_000;

  private get db(): Knex {
    return this.d.db;
  }

  /** The user's data or roles changed (inside `trx` if given): every process drops its copy. */
  private changed(userId: number, trx?: Knex.Transaction): Promise<void> {
    return this.d.changes.notify('users', String(userId), trx);
  }

  /**
   * The signed-in user of a request: like byId, but kept for up to 2 seconds, so that a
   * signed-in page reads no user rows. Every change of a user (here or, on PostgreSQL, in
   * another process) drops the kept copy at once; while the change feed is not listening
   * nothing is kept.
   */
  async forSession(id: number): Promise<User | undefined> {
    const now = Date.now();
    const live = this.d.changes.live;
    const hit = this.recent.get(id);
    if (hit && live && now - hit.at < UsersService.SESSION_CACHE_MS) return { ...hit.user, roles: [...hit.user.roles] };
    const generation = this.generation;
    const user = await this.byId(id);
    if (user && live && this.d.changes.live && generation === this.generation) {
      this.recent.delete(id);
      this.recent.set(id, { user: { ...user, roles: [...user.roles] }, at: now });
      if (this.recent.size > 1_000) this.recent.delete(this.recent.keys().next().value!);
    }
    return user;
  }

  // q: the transaction when called inside one (SQLite has a single connection: this.db would wait forever)
  private async hydrate(rows: UserRow[], q: Q = this.db): Promise<User[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => Number(r.id));
    // one after the other: q may be a transaction, whose one connection takes one query at a time
    const roles = await rolesOf(q, ids);
    const links = await this.d.contacts.linksOf(ids, q);
    const link = firstLinks(links);
    return rows.map((r) => rowToUser(r, roles.get(Number(r.id)) ?? [], link.get(Number(r.id))));
  }

  /** One user with roles and linked contact (passport reads it on every signed-in request, see forSession). */
  async byId(id: number, q: Q = this.db): Promise<User | undefined> {
    const record = await userWithRoles(q, id);
    if (!record) return undefined;
    const link = firstLinks(await this.d.contacts.linksOf([id], q)).get(id);
    return rowToUser(record.row, record.roles, link);
  }

  async byEmail(email: string, q: Q = this.db): Promise<User | undefined> {
    const r = await userRowByEmail(q, normaliseEmail(email));
    return r ? (await this.hydrate([r], q))[0] : undefined;
  }

  async list(opts: { q?: string; role?: string } = {}, q: Knex | Knex.Transaction = this.db): Promise<User[]> {
    return this.hydrate(await searchUserRows(q, opts), q);
  }

  async create(
    actor: Actor,
    input: { email: string; displayName: string; roles: Role[]; password?: string; locale?: Locale },
    trx?: Knex.Transaction,
  ): Promise<number> {
    const email = normaliseEmail(input.email);
    const hash = input.password ? await hashPassword(input.password) : null;
    const work = async (t: Knex.Transaction) => {
      if (await userRowByEmail(t, email)) throw new ConflictError('email_taken');
      const now = iso(this.d.clock.now());
      const id = await insertUser(t, {
        email,
        display_name: input.displayName,
        password_hash: hash,
        locale: input.locale ?? 'de',
        created_at: now,
        updated_at: now,
      });
      if (input.roles.length) await replaceRoles(t, id, input.roles);
      await this.d.audit.record(t, actor, 'user.created', 'user', id, undefined, { displayName: input.displayName, roles: input.roles });
      await this.changed(id, t);
      return id;
    };
    return trx ? work(trx) : this.db.transaction(work);
  }

  async update(actor: Actor, id: number, input: { displayName: string; roles: Role[]; disabled: boolean; locale: Locale }): Promise<void> {
    await this.db.transaction(async (t) => {
      const before = await this.byId(id, t);
      if (!before) throw new NotFoundError();
      if (before.roles.includes('admin') && (!input.roles.includes('admin') || input.disabled)) {
        if ((await countActiveAdmins(t)) <= 1) throw new AppError(409, 'last_admin');
      }
      await updateUser(t, id, { display_name: input.displayName, disabled: input.disabled, locale: input.locale, updated_at: iso(this.d.clock.now()) });
      await replaceRoles(t, id, input.roles);
      await this.d.audit.record(t, actor, 'user.updated', 'user', id,
        { displayName: before.displayName, roles: before.roles, disabled: before.disabled, locale: before.locale },
        { displayName: input.displayName, roles: input.roles, disabled: input.disabled, locale: input.locale });
      await this.changed(id, t);
    });
    await this.changed(id);
  }

  async setPassword(actor: Actor, id: number, password: string, trx?: Knex.Transaction): Promise<void> {
    const hash = await hashPassword(password);
    const work = async (t: Knex.Transaction) => {
      await updateUser(t, id, { password_hash: hash, failed_logins: 0, locked_until: null, updated_at: iso(this.d.clock.now()) });
      const row = await userRowById(t, id);
      if (row) this.throttle.clear(normaliseEmail(row.email)); // h/harden: a new password lifts every wait
      await this.d.audit.record(t, actor, 'user.password_set', 'user', id);
      await this.changed(id, t);
    };
    return trx ? work(trx) : this.db.transaction(work);
  }

  async setLocale(id: number, locale: Locale): Promise<void> {
    await updateUser(this.db, id, { locale });
    await this.changed(id);
  }

  // h/harden: throttled per address and source instead of locking the account (login-throttle.ts)
  readonly throttle: LoginThrottle;

  /**
   * Checks a login, throttled per address and source (see LoginThrottle): nobody can lock the
   * real user out, and known and unknown addresses get the same answers.
   */
  async authenticate(email: string, password: string, from: { source?: string; knownDevice?: boolean } = {}): Promise<LoginResult> {
    const address = normaliseEmail(email);
    const source = from.source ?? '';
    const wait = this.throttle.wait(address, source, from.knownDevice ?? false);
    if (wait > 0) return { ok: false, reason: 'throttled', retryAfterMs: wait };
    const row = await userRowByEmail(this.db, address);
    const now = this.d.clock.now();
    const good = await verifyPassword(password, row ? row.password_hash : null);
    if (!row || !good) {
      const waitNow = this.throttle.failed(address, source);
      const slowed = row && this.throttle.slowedUntil(address);
      if (row && slowed && !(row.locked_until && row.locked_until > iso(now))) {
        // shown to the administration as "gesperrt bis": new devices are slowed until then
        await updateUser(this.db, row.id, { failed_logins: ACCOUNT_FAILURES, locked_until: iso(slowed) });
        await this.d.audit.record(this.db, { userId: null, label: 'system' }, 'user.locked', 'user', Number(row.id));
        await this.changed(Number(row.id));
      }
      return waitNow ? { ok: false, reason: 'throttled', retryAfterMs: waitNow } : { ok: false, reason: 'invalid' };
    }
    if (toBool(row.disabled)) return { ok: false, reason: 'disabled' };
    this.throttle.succeeded(address, source);
    await updateUser(this.db, row.id, { failed_logins: 0, locked_until: null, last_login_at: iso(now) });
    await this.changed(Number(row.id));
    return { ok: true, user: (await this.hydrate([row]))[0] };
  }

  /** Lifts a lockout after too many failed logins (the administration). */
  async unlock(actor: Actor, id: number): Promise<void> {
    await this.db.transaction(async (t) => {
      const row = await userRowById(t, id);
      if (!row) throw new NotFoundError();
      await updateUser(t, id, { locked_until: null, failed_logins: 0, updated_at: iso(this.d.clock.now()) });
      this.throttle.clear(normaliseEmail(row.email)); // h/harden
      await this.d.audit.record(t, actor, 'user.unlocked', 'user', id, { lockedUntil: row.locked_until }, { lockedUntil: null });
      await this.changed(id, t);
    });
    await this.changed(id);
  }

  /** The numbers on the administration's overview: accounts, disabled, locked, per role. */
  async overview(): Promise<{ users: number; disabled: number; locked: number; roles: Map<string, number> }> {
    return userCounts(this.db, iso(this.d.clock.now()));
  }

  /** Gives the user a role (no-op if it has it); true when it was added. */
  async addRole(id: number, role: Role, trx?: Knex.Transaction): Promise<boolean> {
    const added = await addRole(trx ?? this.db, id, role);
    if (added) await this.changed(id, trx);
    return added;
  }

  /** Takes one role away (no audit entry: the caller records why); true when the user had it. */
  async removeRole(id: number, role: Role, trx?: Knex.Transaction): Promise<boolean> {
    const removed = await removeRole(trx ?? this.db, id, role);
    if (removed) await this.changed(id, trx);
    return removed;
  }

  /** Replaces the user's roles (no audit entry: the caller records why). */
  async setRoles(id: number, roles: Role[], trx?: Knex.Transaction): Promise<void> {
    await replaceRoles(trx ?? this.db, id, roles);
    await this.changed(id, trx);
  }

  /** Disables the account (it can no longer sign in; a signed-in session ends with the next request). */
  async disable(id: number, trx?: Knex.Transaction): Promise<void> {
    await updateUser(trx ?? this.db, id, { disabled: true, updated_at: iso(this.d.clock.now()) });
    await this.changed(id, trx);
  }

  /**
   * A contact's link to these accounts changed (the members module calls it when it links,
   * unlinks or removes a contact): their kept copies (organisation, contact) are dropped.
   */
  async contactLinksChanged(userIds: number[], trx?: Knex.Transaction): Promise<void> {
    for (const id of new Set(userIds)) await this.changed(id, trx);
  }

  /** A portal account for a member contact (inside the caller's transaction): the user with this e-mail gets the role member, or a new one is created (audited); says whether it has a password. */
  async ensureMemberAccount(trx: Knex.Transaction, actor: Actor, input: { email: string; displayName: string; locale: Locale }): Promise<{ userId: number; hasPassword: boolean }> {
    const email = normaliseEmail(input.email);
    const existing = await userRowByEmail(trx, email);
    if (existing) {
      const userId = Number(existing.id);
      await this.addRole(userId, 'member', trx);
      return { userId, hasPassword: !!existing.password_hash };
    }
    const userId = await this.create(actor, { email, displayName: input.displayName, roles: ['member'], locale: input.locale }, trx);
    return { userId, hasPassword: false };
  }

  /** Member contacts' portal accounts for a GDPR data export: the stored columns a member may see, and their roles. */
  async accountsForExport(userIds: number[]): Promise<{ users: ExportedUserRow[]; roles: UserRoleRow[] }> {
    if (!userIds.length) return { users: [], roles: [] };
    return { users: await exportedUserRows(this.db, userIds), roles: await userRoleRows(this.db, userIds) };
  }

  /**
   * A member contact's account when its organisation is anonymised (caller's transaction). When
   * the user acts for no other organisation, the role member goes, and an account that had no
   * other role keeps its id (for the audit history), loses address, name and password, is
   * disabled, and its open links expire: returns the e-mail address it had.
   */
  async releaseMemberAccount(trx: Knex.Transaction, userId: number, opts: { otherContacts: boolean; placeholder: string; now: string }): Promise<{ disabled: boolean; email: string | null }> {
    if (opts.otherContacts) return { disabled: false, email: null };
    const roles = (await userRoleRows(trx, [userId])).map((r) => String(r.role));
    await this.removeRole(userId, 'member', trx);
    if (!roles.every((r) => r === 'member')) return { disabled: false, email: null };
    const u = await userRowById(trx, userId);
    await updateUser(trx, userId, { email: anonymisedEmail(userId), display_name: opts.placeholder, password_hash: null, disabled: true, updated_at: opts.now });
    await markAllUsed(trx, 'user', [userId], undefined, opts.now);
    await this.changed(userId, trx);
    return { disabled: true, email: u ? String(u.email) : null };
  }

  /** A subquery for the display name of the user whose id is in `userIdColumn` (for other modules' lists: one query, no join on users). */
  displayNameOf(q: Knex | Knex.Transaction, userIdColumn: string): Knex.QueryBuilder {
    return displayNameSubquery(q, userIdColumn);
  }
}
