import type { Knex } from 'knex';
import type { DataSubject } from '../db/redact.ts';
import { anonymiseAssemblyData, assemblyDataOfOrganisation } from './personal-data.repository.ts';

/** h/gdpr: what the assembly records hold about an organisation's contacts, for the GDPR export and the anonymisation. */
export class AssemblyPersonalData {
  constructor(private db: Knex) {}

  /** Invitations (recipients), RSVPs (names), attendance, proxies, motions, written ballots and their links. */
  dataOfOrganisation(organisationId: number): Promise<Record<string, Record<string, unknown>[]>> {
    return assemblyDataOfOrganisation(this.db, organisationId);
  }

  /** Inside the anonymisation's transaction. */
  anonymise(trx: Knex.Transaction, subject: DataSubject): Promise<void> {
    return anonymiseAssemblyData(trx, subject);
  }
}
