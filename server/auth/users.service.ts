import type { Knex } from 'knex';
import { writeEpoch } from '../db/write-epoch.ts';
import { iso, type Clock } from '../clock.ts';
import { affected, insertId } from '../db/knex.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { isRole, type Role } from './roles.ts';
import type { Locale } from '../i18n/i18n.ts';

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

export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60_000;

export type LoginResult = { ok: true; user: User } | { ok: false; reason: 'invalid' | 'locked' | 'disabled' };

function toBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1';
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export class UsersService {
  constructor(private db: Knex, private clock: Clock, private audit: AuditService) {
    writeEpoch(db); // start counting writes now
  }

  /** Users of recent requests (see forSession). */
  private recent = new Map<number, { user: User; epoch: number; at: number }>();

  /**
   * The signed-in user of a request: like byId, but kept for up to 2 seconds as long as this
   * process has written nothing (any write, e.g. a role change, a disabled account or a
   * contact's link, drops every kept user), so that a signed-in page reads no user rows.
   */
  async forSession(id: number): Promise<User | undefined> {
    const epoch = writeEpoch(this.db);
    const now = Date.now();
    const hit = this.recent.get(id);
    if (hit && hit.epoch === epoch && now - hit.at < 2_000) return { ...hit.user, roles: [...hit.user.roles] };
    const user = await this.byId(id);
    if (user && writeEpoch(this.db) === epoch) {
      this.recent.delete(id);
      this.recent.set(id, { user: { ...user, roles: [...user.roles] }, epoch, at: now });
      if (this.recent.size > 1_000) this.recent.delete(this.recent.keys().next().value!);
    }
    return user;
  }

  // q: the transaction when called inside one (SQLite has a single connection: this.db would wait forever)
  private async hydrate(rows: Record<string, any>[], q: Knex | Knex.Transaction = this.db): Promise<User[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => Number(r.id));
    const roles = await q('user_roles').whereIn('user_id', ids);
    const contacts = await q('contacts').whereIn('user_id', ids).select('id', 'user_id', 'organisation_id');
    return rows.map((r) => {
      const c = contacts.find((x) => Number(x.user_id) === Number(r.id));
      return {
        id: Number(r.id),
        email: r.email,
        displayName: r.display_name,
        locale: r.locale === 'en' ? 'en' : 'de',
        roles: roles.filter((x) => Number(x.user_id) === Number(r.id)).map((x) => x.role).filter(isRole).sort(),
        disabled: toBool(r.disabled),
        hasPassword: !!r.password_hash,
        lockedUntil: r.locked_until,
        lastLoginAt: r.last_login_at,
        createdAt: r.created_at,
        organisationId: c ? Number(c.organisation_id) : null,
        contactId: c ? Number(c.id) : null,
      };
    });
  }

  /**
   * One user with roles and linked contact in one query (passport reads it on every signed-in
   * request): one row per role × contact, a few at most.
   */
  async byId(id: number): Promise<User | undefined> {
    const rows = await this.db('users as u')
      .leftJoin('user_roles as r', 'r.user_id', 'u.id')
      .leftJoin('contacts as c', 'c.user_id', 'u.id')
      .where('u.id', id)
      .select('u.*', 'r.role as joined_role', 'c.id as joined_contact_id', 'c.organisation_id as joined_organisation_id');
    if (!rows.length) return undefined;
    const r = rows[0];
    // the contact with the lowest id, as hydrate() finds it through the index on contacts.user_id
    const contact = rows.filter((x) => x.joined_contact_id != null).sort((a, b) => Number(a.joined_contact_id) - Number(b.joined_contact_id))[0];
    return {
      id: Number(r.id),
      email: r.email,
      displayName: r.display_name,
      locale: r.locale === 'en' ? 'en' : 'de',
      roles: [...new Set(rows.map((x) => x.joined_role).filter((x) => x != null && isRole(x)))].sort() as Role[],
      disabled: toBool(r.disabled),
      hasPassword: !!r.password_hash,
      lockedUntil: r.locked_until,
      lastLoginAt: r.last_login_at,
      createdAt: r.created_at,
      organisationId: contact ? Number(contact.joined_organisation_id) : null,
      contactId: contact ? Number(contact.joined_contact_id) : null,
    };
  }

  async byEmail(email: string): Promise<User | undefined> {
    const r = await this.db('users').where({ email: normaliseEmail(email) }).first();
    return r ? (await this.hydrate([r]))[0] : undefined;
  }

  async list(opts: { q?: string; role?: string } = {}): Promise<User[]> {
    const q = this.db('users').orderBy('display_name');
    if (opts.q) {
      const like = `%${opts.q.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`;
      q.where((w) => w.whereRaw("lower(display_name) like ? escape '\\'", [like]).orWhereRaw("email like ? escape '\\'", [like]));
    }
    if (opts.role) q.whereIn('id', this.db('user_roles').select('user_id').where('role', opts.role));
    return this.hydrate(await q.limit(500));
  }

  async create(
    actor: Actor,
    input: { email: string; displayName: string; roles: Role[]; password?: string; locale?: Locale },
    trx?: Knex.Transaction,
  ): Promise<number> {
    const email = normaliseEmail(input.email);
    const work = async (t: Knex.Transaction) => {
      if (await t('users').where({ email }).first()) throw new ConflictError('email_taken');
      const now = iso(this.clock.now());
      const id = await insertId(t, 'users', {
        email,
        display_name: input.displayName,
        password_hash: input.password ? await hashPassword(input.password) : null,
        locale: input.locale ?? 'de',
        created_at: now,
        updated_at: now,
      });
      if (input.roles.length) await t('user_roles').insert(input.roles.map((role) => ({ user_id: id, role })));
      await this.audit.record(t, actor, 'user.created', 'user', id, undefined, { displayName: input.displayName, roles: input.roles });
      return id;
    };
    return trx ? work(trx) : this.db.transaction(work);
  }

  async update(actor: Actor, id: number, input: { displayName: string; roles: Role[]; disabled: boolean; locale: Locale }): Promise<void> {
    await this.db.transaction(async (t) => {
      const before = (await this.hydrate([await t('users').where({ id }).first()].filter(Boolean), t))[0];
      if (!before) throw new NotFoundError();
      if (before.roles.includes('admin') && (!input.roles.includes('admin') || input.disabled)) {
        const admins = await t('user_roles').join('users', 'users.id', 'user_roles.user_id')
          .where({ role: 'admin', disabled: false }).count({ n: '*' });
        if (Number(admins[0].n) <= 1) throw new AppError(409, 'last_admin');
      }
      await t('users').where({ id }).update({
        display_name: input.displayName, disabled: input.disabled, locale: input.locale, updated_at: iso(this.clock.now()),
      });
      await t('user_roles').where({ user_id: id }).delete();
      if (input.roles.length) await t('user_roles').insert(input.roles.map((role) => ({ user_id: id, role })));
      await this.audit.record(t, actor, 'user.updated', 'user', id,
        { displayName: before.displayName, roles: before.roles, disabled: before.disabled, locale: before.locale },
        { displayName: input.displayName, roles: input.roles, disabled: input.disabled, locale: input.locale });
    });
  }

  async setPassword(actor: Actor, id: number, password: string, trx?: Knex.Transaction): Promise<void> {
    const hash = await hashPassword(password);
    const work = async (t: Knex.Transaction) => {
      await t('users').where({ id }).update({ password_hash: hash, failed_logins: 0, locked_until: null, updated_at: iso(this.clock.now()) });
      await this.audit.record(t, actor, 'user.password_set', 'user', id);
    };
    return trx ? work(trx) : this.db.transaction(work);
  }

  async setLocale(id: number, locale: Locale): Promise<void> {
    await this.db('users').where({ id }).update({ locale });
  }

  /**
   * Checks a login. After MAX_FAILED_LOGINS wrong passwords the account is locked for
   * LOCKOUT_MS; the lock is lifted by time or by a password reset.
   */
  async authenticate(email: string, password: string): Promise<LoginResult> {
    const row = await this.db('users').where({ email: normaliseEmail(email) }).first();
    const now = this.clock.now();
    if (!row) {
      await verifyPassword(password, null);
      return { ok: false, reason: 'invalid' };
    }
    if (row.locked_until && row.locked_until > iso(now)) return { ok: false, reason: 'locked' };
    const good = await verifyPassword(password, row.password_hash);
    if (!good) {
      const failed = Number(row.failed_logins) + 1;
      const lock = failed >= MAX_FAILED_LOGINS;
      await this.db('users').where({ id: row.id }).update({
        failed_logins: lock ? 0 : failed,
        locked_until: lock ? iso(new Date(now.getTime() + LOCKOUT_MS)) : row.locked_until,
      });
      if (lock) await this.audit.record(this.db, { userId: null, label: 'system' }, 'user.locked', 'user', Number(row.id));
      return { ok: false, reason: lock ? 'locked' : 'invalid' };
    }
    if (toBool(row.disabled)) return { ok: false, reason: 'disabled' };
    await this.db('users').where({ id: row.id }).update({ failed_logins: 0, locked_until: null, last_login_at: iso(now) });
    return { ok: true, user: (await this.hydrate([row]))[0] };
  }

  /** A portal account for a member contact (inside the caller's transaction): the user with this e-mail gets the role member, or a new one is created (audited); says whether it has a password. */
  async ensureMemberAccount(trx: Knex.Transaction, actor: Actor, input: { email: string; displayName: string; locale: Locale }): Promise<{ userId: number; hasPassword: boolean }> {
    const email = normaliseEmail(input.email);
    const existing = await trx('users').where({ email }).first();
    let userId: number;
    if (existing) {
      userId = Number(existing.id);
      const hasRole = await trx('user_roles').where({ user_id: userId, role: 'member' }).first();
      if (!hasRole) await trx('user_roles').insert({ user_id: userId, role: 'member' });
    } else {
      userId = await this.create(actor, { email, displayName: input.displayName, roles: ['member'], locale: input.locale }, trx);
    }
    const user = await trx('users').where({ id: userId }).first();
    return { userId, hasPassword: !!user?.password_hash };
  }

  /** Takes the role member from a user (inside the caller's transaction); true if it had it. */
  async removeMemberRole(trx: Knex.Transaction, userId: number): Promise<boolean> {
    return affected(await trx('user_roles').where({ user_id: userId, role: 'member' }).delete()) > 0;
  }

  /** Member contacts' portal accounts for a GDPR data export: the stored columns a member may see, and their roles. */
  async accountsForExport(userIds: number[]): Promise<{ users: Record<string, unknown>[]; roles: { user_id: number; role: string }[] }> {
    if (!userIds.length) return { users: [], roles: [] };
    const users: Record<string, unknown>[] = await this.db('users').whereIn('id', userIds).select('id', 'email', 'display_name', 'locale', 'disabled', 'last_login_at', 'created_at');
    const roles: { user_id: number; role: string }[] = await this.db('user_roles').whereIn('user_id', userIds);
    return { users, roles };
  }

  /**
   * A member contact's account when its organisation is anonymised (caller's transaction). When
   * the user acts for no other organisation, the role member goes, and an account that had no
   * other role is emptied and disabled and its open links expire: returns the e-mail address it had.
   */
  async releaseMemberAccount(trx: Knex.Transaction, userId: number, opts: { otherContacts: boolean; placeholder: string; now: string }): Promise<{ disabled: boolean; email: string | null }> {
    const roles = (await trx('user_roles').where({ user_id: userId })).map((r) => String(r.role));
    if (opts.otherContacts) return { disabled: false, email: null };
    await trx('user_roles').where({ user_id: userId, role: 'member' }).delete();
    if (!roles.every((r) => r === 'member')) return { disabled: false, email: null };
    const u = await trx('users').where({ id: userId }).first();
    await trx('users').where({ id: userId }).update({
      email: `anonymised-${userId}@invalid.invalid`, display_name: opts.placeholder, password_hash: null, disabled: true, updated_at: opts.now,
    });
    await trx('tokens').where({ subject_type: 'user', subject_id: userId }).whereNull('used_at').update({ used_at: opts.now });
    return { disabled: true, email: u ? String(u.email) : null };
  }

  /** A subquery for the display name of the user whose id is in `userIdColumn` (for other modules' lists: one query, no join on users). */
  displayNameOf(q: Knex | Knex.Transaction, userIdColumn: string): Knex.QueryBuilder {
    return q('users as dn_u').select('dn_u.display_name').whereRaw('dn_u.id = ??', [userIdColumn]).limit(1);
  }
}
