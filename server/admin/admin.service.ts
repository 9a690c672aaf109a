import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import type { Actor, AuditEntry, AuditService } from '../audit/audit.service.ts';
import type { AccessLinkService } from '../auth/access-links.service.ts';
import { ROLES, type Role } from '../auth/roles.ts';
import { normaliseEmail, type User, type UsersService } from '../auth/users.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
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
  constructor(
    private ctx: {
      db: Knex;
      clock: Clock;
      users: UsersService;
      audit: AuditService;
      outbox: Outbox;
      settings: SettingsService;
      accessLinks: AccessLinkService;
    },
  ) {}

  async overview(): Promise<AdminOverview> {
    const u = await this.ctx.users.overview();
    const counts = await this.ctx.outbox.counts();
    return {
      users: u.users,
      disabledUsers: u.disabled,
      lockedUsers: u.locked,
      roles: ROLES.map((role) => ({ role, count: u.roles.get(role) ?? 0 })),
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
    await this.ctx.users.unlock(actor, userId);
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
    return this.ctx.audit.entityTypes();
  }
}
