import type { Knex } from 'knex';
import type { DataSubject } from '../db/redact.ts';
import { anonymiseDemandData, demandDataOfOrganisation } from './personal-data.repository.ts';

/** h/gdpr: the minority demands an organisation's contacts made or supported, for the GDPR export and the anonymisation. */
export class DemandPersonalData {
  constructor(private db: Knex) {}

  dataOfOrganisation(organisationId: number): Promise<Record<string, Record<string, unknown>[]>> {
    return demandDataOfOrganisation(this.db, organisationId);
  }

  anonymise(trx: Knex.Transaction, subject: DataSubject): Promise<void> {
    return anonymiseDemandData(trx, subject);
  }
}
