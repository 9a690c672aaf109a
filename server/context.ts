import type { Knex } from 'knex';
import type { Config } from './config.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { AuditService } from './audit/audit.service.ts';
import { TokenService } from './auth/tokens.ts';
import { UsersService } from './auth/users.service.ts';
import { SettingsService } from './settings/settings.service.ts';
import { Outbox } from './mail/outbox.service.ts';
import { fileTransport, smtpTransport, type MailTransport } from './mail/transport.ts';
import { ApplicationsService } from './applications/applications.service.ts';
import { MembersService } from './members/members.service.ts';

/** Everything a request handler or a command may use, built in one place. */
export interface Context {
  config: Config;
  db: Knex;
  clock: Clock;
  log: Logger;
  audit: AuditService;
  tokens: TokenService;
  users: UsersService;
  settings: SettingsService;
  outbox: Outbox;
  members: MembersService;
  applications: ApplicationsService;
}

export function createContext(deps: { config: Config; db: Knex; clock: Clock; log: Logger; transport?: MailTransport }): Context {
  const { config, db, clock, log } = deps;
  const audit = new AuditService(db, clock);
  const tokens = new TokenService(db, clock);
  const users = new UsersService(db, clock, audit);
  const settings = new SettingsService(db, clock, audit);
  const transport = deps.transport ?? (config.smtpUrl ? smtpTransport(config.smtpUrl, { pool: true }) : fileTransport(config.mailDir));
  const domain = new URL(config.baseUrl).hostname || 'localhost';
  const outbox = new Outbox(db, clock, transport, async () => {
    if (config.mailFrom) return config.mailFrom;
    const a = await settings.association();
    return `"${a.name.replace(/"/g, '')}" <${a.contactEmail}>`;
  }, log, domain);
  const members = new MembersService({ db, clock, audit, tokens, outbox, settings, users, config });
  const applications = new ApplicationsService({ db, clock, audit, tokens, outbox, settings, members, config, log });
  return { config, db, clock, log, audit, tokens, users, settings, outbox, members, applications };
}
