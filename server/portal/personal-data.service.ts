import type { Knex } from 'knex';
import type { DataSubject } from '../db/redact.ts';
import { anonymiseChangeRequests, changeRequestsOfOrganisation } from './personal-data.repository.ts';

/** h/gdpr: the portal's change requests of an organisation, for the GDPR export and the anonymisation. */
export class PortalPersonalData {
  constructor(private db: Knex) {}

  changeRequestsOf(organisationId: number): Promise<Record<string, unknown>[]> {
    return changeRequestsOfOrganisation(this.db, organisationId);
  }

  anonymise(trx: Knex.Transaction, subject: DataSubject): Promise<void> {
    return anonymiseChangeRequests(trx, subject);
  }
}
