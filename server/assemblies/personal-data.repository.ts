import type { Knex } from 'knex';
import { ANONYMISED, redactTermsIn, type DataSubject } from '../db/redact.ts';

// h/gdpr: the assemblies module's part of the GDPR anonymisation (Art. 17) and data export (Art. 15/20)

type Q = Knex | Knex.Transaction;

function chunks<T>(xs: T[], n = 500): T[][] {
  return Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
}

/** Everything the assembly tables hold about one organisation (rows as stored, oldest first). */
export async function assemblyDataOfOrganisation(q: Q, organisationId: number): Promise<Record<string, Record<string, unknown>[]>> {
  const invitations = await q('assembly_invitations as i').join('assemblies as a', 'a.id', 'i.assembly_id')
    .where('i.organisation_id', organisationId).orderBy('i.id')
    .select('i.id', 'i.assembly_id', 'a.title as assembly_title', 'a.starts_at', 'i.organisation_name', 'i.contact_name', 'i.to_address', 'i.cc', 'i.locale',
      'i.postal_address', 'i.channel', 'i.status', 'i.has_vote', 'i.letter_reason', 'i.enqueued_at', 'i.created_at');
  const rsvps = await q('assembly_rsvps').where({ organisation_id: organisationId }).orderBy('id')
    .select('id', 'assembly_id', 'attending', 'people_count', 'names', 'mode', 'via', 'updated_at');
  const attendance = await q('assembly_attendance').where({ organisation_id: organisationId }).orderBy('id')
    .select('id', 'assembly_id', 'person_name', 'mode', 'checked_in_at', 'checked_out_at', 'updated_at');
  const proxies = await q('assembly_proxies').where((w) => w.where({ giver_organisation_id: organisationId }).orWhere({ holder_organisation_id: organisationId })).orderBy('id')
    .select('id', 'assembly_id', 'giver_organisation_id', 'holder_organisation_id', 'via', 'created_at', 'withdrawn_at');
  const motions = await q('assembly_motions').where({ organisation_id: organisationId }).orderBy('id')
    .select('id', 'assembly_id', 'title', 'body', 'submitted_by', 'via', 'created_at');
  const writtenBallots = await q('assembly_written_ballots as b').join('assembly_written_resolutions as r', 'r.id', 'b.resolution_id')
    .where('b.organisation_id', organisationId).orderBy('b.id')
    .select('b.id', 'b.resolution_id', 'r.title as resolution_title', 'b.contact_id', 'b.contact_name', 'b.to_address', 'b.postal_address', 'b.channel', 'b.locale',
      'b.answer', 'b.answered_at', 'b.answered_name', 'b.created_at');
  const ballotIds = writtenBallots.map((b) => Number(b.id));
  const writtenLinks: Record<string, unknown>[] = [];
  for (const part of chunks(ballotIds)) writtenLinks.push(...await q('assembly_written_tokens').whereIn('ballot_id', part).orderBy('id').select('id', 'ballot_id', 'purpose', 'sent_to', 'created_at'));
  return { invitations, rsvps, attendance, proxies, motions, writtenBallots, writtenLinks };
}

/**
 * The organisation's contacts leave the assembly records: the invitation's recipient (name,
 * address, copies, postal address), the names given with an RSVP, the names at the check-in,
 * the motion's author, the written resolution's ballot (recipient, the name given with the vote,
 * where the links went). What was decided stays (answers, votes, counts, the motion's text);
 * free texts of the assembly (minutes, agenda, results, corrections) lose the contacts' names.
 */
export async function anonymiseAssemblyData(trx: Knex.Transaction, s: DataSubject): Promise<void> {
  const org = s.organisationId;
  await trx('assembly_invitations').where({ organisation_id: org }).update({ contact_name: ANONYMISED, to_address: '', cc: null, postal_address: ANONYMISED });
  await trx('assembly_rsvps').where({ organisation_id: org }).whereNot('names', '').update({ names: ANONYMISED });
  await trx('assembly_attendance').where({ organisation_id: org }).whereNot('person_name', '').update({ person_name: ANONYMISED });
  await trx('assembly_motions').where({ organisation_id: org }).whereNot('submitted_by', '').update({ submitted_by: ANONYMISED });
  await redactTermsIn(trx, 'assembly_motions', 'id', ['title', 'body'], s.terms, { scope: (qb) => qb.where({ organisation_id: org }) });
  await trx('assembly_written_ballots').where({ organisation_id: org }).update({ contact_name: ANONYMISED, to_address: '', postal_address: ANONYMISED });
  await trx('assembly_written_ballots').where({ organisation_id: org }).whereNotNull('answered_name').update({ answered_name: ANONYMISED });
  await trx('assembly_written_tokens').whereIn('ballot_id', trx('assembly_written_ballots').where({ organisation_id: org }).select('id')).update({ sent_to: ANONYMISED });
  // free texts anywhere in the assembly records (the contacts' names, addresses, numbers)
  await redactTermsIn(trx, 'assembly_minutes', 'id', ['body', 'chair_name', 'minute_taker_name'], s.terms);
  await redactTermsIn(trx, 'assembly_minutes_amendments', 'id', ['before_values', 'after_values', 'reason'], s.terms, { json: ['before_values', 'after_values'] });
  await redactTermsIn(trx, 'assembly_agenda_items', 'id', ['title', 'description', 'proposed_text'], s.terms);
  await redactTermsIn(trx, 'assembly_resolutions', 'id', ['note', 'candidates'], s.terms, { json: ['candidates'] });
  await redactTermsIn(trx, 'assembly_resolution_amendments', 'id', ['before_values', 'after_values', 'reason'], s.terms, { json: ['before_values', 'after_values'] });
  await redactTermsIn(trx, 'assembly_overrides', 'id', ['reason'], s.terms);
  await redactTermsIn(trx, 'assemblies', 'id', ['location', 'participation_info'], s.terms);
  await redactTermsIn(trx, 'assembly_written_resolutions', 'id', ['title', 'motion_text', 'result'], s.terms);
}
