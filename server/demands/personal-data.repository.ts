import type { Knex } from 'knex';
import { ANONYMISED, redactTermsIn, type DataSubject } from '../db/redact.ts';

// h/gdpr: the demands module's part of the GDPR anonymisation (Art. 17) and data export (Art. 15/20)

type Q = Knex | Knex.Transaction;

/** The minority demands the organisation made and the ones it supported (rows as stored, oldest first). */
export async function demandDataOfOrganisation(q: Q, organisationId: number): Promise<Record<string, Record<string, unknown>[]>> {
  const demands = await q('minority_demands').where({ organisation_id: organisationId }).orderBy('id')
    .select('id', 'contact_id', 'actor_label', 'purpose', 'reasons', 'status', 'reached_at', 'assembly_id', 'rejection_reason', 'decided_at', 'created_at');
  const supports = await q('minority_demand_supports as s').join('minority_demands as d', 'd.id', 's.demand_id')
    .where('s.organisation_id', organisationId).orderBy('s.id')
    .select('s.id', 's.demand_id', 'd.purpose as demand_purpose', 's.contact_id', 's.actor_label', 's.created_at', 's.withdrawn_at');
  return { demands, supports };
}

/** Who made or supported a demand for the organisation becomes the placeholder; the demand's texts lose the contacts' names. */
export async function anonymiseDemandData(trx: Knex.Transaction, s: DataSubject): Promise<void> {
  const mine = (qb: Knex.QueryBuilder) => qb.where((w) => {
    w.where('organisation_id', s.organisationId);
    if (s.contactIds.length) w.orWhereIn('contact_id', s.contactIds);
    if (s.userIds.length) w.orWhereIn('user_id', s.userIds);
  });
  await mine(trx('minority_demands')).update({ actor_label: ANONYMISED });
  await mine(trx('minority_demand_supports')).update({ actor_label: ANONYMISED });
  await redactTermsIn(trx, 'minority_demands', 'id', ['purpose', 'reasons', 'rejection_reason'], s.terms);
}
