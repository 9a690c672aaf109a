import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { MembersService } from '../members/members.service.ts';
import type { Logger } from '../logger.ts';

export interface ApplicationsDeps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  tokens: TokenService;
  outbox: Outbox;
  settings: SettingsService;
  members: MembersService;
  config: Config;
  log: Logger;
}

/** Membership applications: submit, confirm (double opt-in), review, ask back, decide. */
export class ApplicationsService {
  constructor(private d: ApplicationsDeps) {}
}
