import type { Context } from '../context.ts';
import type { Actor, AuditEntry } from '../audit/audit.service.ts';
import { ROLES, type Role } from '../auth/roles.ts';
import { normaliseEmail, type User } from '../auth/users.service.ts';
import type { Locale } from '../i18n/i18n.ts';
import { iso } from '../clock.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';

export interface AdminOverview {
  users: number;
  disabledUsers: number;
  lockedUsers: number;
  roles: { role: Role; count: number }[];
  mail: { queued: number; sending: number; sent: number; failed: number };
  recentAudit: AuditEntry[];
}

/**
 * The administration's own operations: inviting users (account, set-password link and
 * e-mail in one transaction), new access links, unlocking, mail retries, and the numbers
 * for the overview. Settings and categories go through SettingsService, users' data and
 * roles through UsersService.
 */
export class AdminService {
  constructor(private ctx: Context) {}

  async overview(): Promise<AdminOverview> {
    const { db, clock } = this.ctx;
    const [{ n: users }] = await db('users').count({ n: '*' });
    const [{ n: disabled }] = await db('users').where('disabled', true).count({ n: '*' });
    const [{ n: locked }] = await db('users').where('locked_until', '>', iso(clock.now())).count({ n: '*' });
    const roleRows = (await db('user_roles').select('role').count({ n: '*' }).groupBy('role')) as { role: string; n: number | string }[];
    const counts = await this.ctx.outbox.counts();
    return {
      users: Number(users),
      disabledUsers: Number(disabled),
      lockedUsers: Number(locked),
      roles: ROLES.map((role) => ({ role, count: Number(roleRows.find((r) => r.role === role)?.n ?? 0) })),
      mail: { queued: counts.queued ?? 0, sending: counts.sending ?? 0, sent: counts.sent ?? 0, failed: counts.failed ?? 0 },
      recentAudit: await this.ctx.audit.list({ limit: 10 }),
    };
  }

  /** Creates a user and sends the set-password invitation, all or nothing. */
  async inviteUser(actor: Actor, input: { email: string; displayName: string; roles: Role[]; locale: Locale }): Promise<number> {
    const association = await this.ctx.settings.association();
    return this.ctx.db.transaction(async (trx) => {
      const id = await this.ctx.users.create(actor, input, trx);
      const user: User = {
        id, email: normaliseEmail(input.email), displayName: input.displayName, locale: input.locale, roles: input.roles,
        disabled: false, hasPassword: false, lockedUntil: null, lastLoginAt: null, createdAt: iso(this.ctx.clock.now()),
        organisationId: null, contactId: null,
      };
      await this.ctx.accessLinks.sendInTrx(trx, association.name, user, 'set_password');
      await this.ctx.audit.record(trx, actor, 'user.invitation_sent', 'user', id, undefined, { to: user.email });
      return id;
    });
  }

  /**
   * Sends a new link: an invitation (set password) to a user who never set one, a reset
   * link to one who did. Older open links of the user stop working.
   */
  async sendAccessLink(actor: Actor, userId: number): Promise<'set_password' | 'reset_password'> {
    const user = await this.ctx.users.byId(userId);
    if (!user) throw new NotFoundError();
    if (user.disabled) throw new ConflictError('user_disabled');
    const purpose = user.hasPassword ? 'reset_password' : 'set_password';
    return this.ctx.accessLinks.send(actor, user, purpose === 'set_password' ? 'user.invitation_sent' : 'user.reset_link_sent');
  }

  /** Lifts a lockout after too many failed logins. */
  async unlockUser(actor: Actor, userId: number): Promise<void> {
    await this.ctx.db.transaction(async (trx) => {
      const row = await trx('users').where({ id: userId }).first();
      if (!row) throw new NotFoundError();
      await trx('users').where({ id: userId }).update({ locked_until: null, failed_logins: 0, updated_at: iso(this.ctx.clock.now()) });
      await this.ctx.audit.record(trx, actor, 'user.unlocked', 'user', userId, { lockedUntil: row.locked_until }, { lockedUntil: null });
    });
  }

  /** Puts a failed or waiting message back in the queue to be sent at once. */
  async retryMail(actor: Actor, id: number): Promise<void> {
    const mail = await this.ctx.outbox.get(id);
    if (!mail) throw new NotFoundError();
    if (mail.status !== 'failed' && mail.status !== 'queued') throw new AppError(409, 'mail_not_retryable');
    await this.ctx.outbox.retry(id);
    await this.ctx.audit.record(this.ctx.db, actor, 'mail.retry_requested', 'mail', id, { status: mail.status }, { status: 'queued' });
  }

  /** The entity types that occur in the audit log, for the filter. */
  async auditEntityTypes(): Promise<string[]> {
    const rows = await this.ctx.db('audit_log').distinct('entity_type').orderBy('entity_type');
    return rows.map((r: { entity_type: string }) => r.entity_type);
  }
}
