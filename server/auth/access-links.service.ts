import type { Knex } from 'knex';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Config } from '../config.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { passwordResetMail } from './auth.mails.ts';
import { INVITATION_TTL_MS } from './invitation.ts';
import type { TokenCheck, TokenService } from './tokens.ts';
import type { User, UsersService } from './users.service.ts';

/** How long a password-reset link is valid. */
export const RESET_TTL_MS = 2 * 3_600_000;

export type AccessPurpose = 'set_password' | 'reset_password';

/**
 * The e-mail links that let a person set a password: an invitation for an account without
 * one, a reset link for an account with one. Sending a new link ends the older ones.
 */
export class AccessLinkService {
  constructor(private d: { db: Knex; tokens: TokenService; outbox: Outbox; settings: SettingsService; audit: AuditService; users: UsersService; config: Config }) {}

  /** Sends the right link to the user, in one transaction with its audit entry. */
  async send(actor: Actor, user: User, action: string): Promise<AccessPurpose> {
    const association = await this.d.settings.association(); // read before: SQLite has one connection
    const purpose: AccessPurpose = user.hasPassword ? 'reset_password' : 'set_password';
    await this.d.db.transaction(async (trx) => {
      await this.sendInTrx(trx, association.name, user, purpose);
      await this.d.audit.record(trx, actor, action, 'user', user.id, undefined, { purpose });
    });
    return purpose;
  }

  /** Revokes open links, issues a new one and queues its e-mail, inside the caller's transaction. */
  async sendInTrx(trx: Knex.Transaction, associationName: string, user: User, purpose: AccessPurpose): Promise<void> {
    await this.d.tokens.revokeAll('set_password', 'user', user.id, trx);
    await this.d.tokens.revokeAll('reset_password', 'user', user.id, trx);
    const token = await this.d.tokens.issue(purpose, 'user', user.id, purpose === 'set_password' ? INVITATION_TTL_MS : RESET_TTL_MS, trx);
    await this.d.outbox.enqueue(trx, passwordResetMail(this.d.config.baseUrl, associationName, user, token, purpose));
  }

  /** The link's state and its user, for showing the set-password form. */
  async check(purpose: AccessPurpose, token: string): Promise<{ check: TokenCheck; user?: User }> {
    const check = await this.d.tokens.check(purpose, token);
    return { check, user: check.ok ? await this.d.users.byId(check.subjectId) : undefined };
  }

  /** Sets the password and uses the link up, once; false if the link was used meanwhile. */
  async setPassword(tokenId: number, user: User, password: string): Promise<boolean> {
    return this.d.db.transaction(async (trx) => {
      if (!(await this.d.tokens.consume(tokenId, trx))) return false;
      await this.d.users.setPassword({ userId: user.id, label: user.displayName }, user.id, password, trx);
      return true;
    });
  }
}
