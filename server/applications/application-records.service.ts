import type { Knex } from 'knex';
import type { ApplicationContactRow, ApplicationMessageRow, ApplicationRow } from './applications.tables.ts';
import { anonymiseContactsOfOrganisation, rowsOfOrganisation } from './applications.repository.ts';

/**
 * A member organisation's application data for the data-protection duties (the GDPR export
 * and the anonymisation in members/gdpr.service.ts). Separate from ApplicationsService,
 * which itself records consents through the GDPR service: this one needs nothing but the
 * database, so the composition root can build it first.
 */
export class ApplicationRecordsService {
  constructor(private db: Knex) {}

  /** The stored rows of the applications that became this organisation, with their contacts and messages (oldest first). */
  async ofOrganisation(organisationId: number, q: Knex | Knex.Transaction = this.db): Promise<{ applications: ApplicationRow[]; contacts: ApplicationContactRow[]; messages: ApplicationMessageRow[] }> {
    return rowsOfOrganisation(q, organisationId);
  }

  /** Blanks the names, addresses, phones and positions of those applications' contacts (inside the caller's transaction). */
  async anonymiseContacts(trx: Knex.Transaction, organisationId: number, placeholder: string): Promise<void> {
    await anonymiseContactsOfOrganisation(trx, organisationId, placeholder);
  }
}
