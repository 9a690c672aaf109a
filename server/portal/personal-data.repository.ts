import type { Knex } from 'knex';
import { ANONYMISED, redactJsonText, redactTermsIn, type DataSubject } from '../db/redact.ts';

// h/gdpr: the portal module's part of the GDPR anonymisation (Art. 17) and data export (Art. 15/20)

type Q = Knex | Knex.Transaction;

/** The organisation's change requests as stored, oldest first. */
export function changeRequestsOfOrganisation(q: Q, organisationId: number): Promise<Record<string, unknown>[]> {
  return q('organisation_change_requests').where({ organisation_id: organisationId }).orderBy('id')
    .select('id', 'requested_by_label', 'changes', 'previous', 'status', 'decided_by_label', 'decided_at', 'decision_note', 'created_at');
}

/** The postal street in what was asked and what it was, who asked, and the contacts' names in the board's note become placeholders. */
export async function anonymiseChangeRequests(trx: Knex.Transaction, s: DataSubject): Promise<void> {
  const rows = await trx('organisation_change_requests').where({ organisation_id: s.organisationId }).select('id', 'changes', 'previous');
  const keys = new Set(['street']);
  for (const r of rows) {
    await trx('organisation_change_requests').where({ id: r.id }).update({
      changes: redactJsonText(r.changes, s.terms, keys), previous: redactJsonText(r.previous, s.terms, keys), requested_by_label: ANONYMISED,
    });
  }
  if (s.userIds.length) await trx('organisation_change_requests').whereIn('requested_by_user_id', s.userIds).update({ requested_by_label: ANONYMISED });
  await redactTermsIn(trx, 'organisation_change_requests', 'id', ['decision_note'], s.terms);
}
