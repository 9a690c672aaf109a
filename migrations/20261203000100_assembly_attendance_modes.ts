import type { Knex } from 'knex';

/**
 * Who is invited and how, and hybrid participation (issue 10, items 2 and 4).
 *
 * - assembly_invitations: whether the member had a vote on the sending day (members without a
 *   vote, e.g. supporting members, are invited unless the bylaws exclude them) and why a letter
 *   was sent instead of an e-mail ('' for e-mail, 'no_email', 'no_consent').
 * - assembly_rsvps.mode and assembly_attendance.mode: 'room' or 'online' ('' before hybrid).
 * - assemblies: the access data for online participants (link, meeting id, access code), sent
 *   in a separate message only to those taking part online (§ 32 Abs. 2 BGB).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('assembly_invitations', (t) => {
    t.boolean('has_vote').notNullable().defaultTo(true);
    t.string('letter_reason', 20).notNullable().defaultTo('');
  });
  await knex.schema.alterTable('assembly_rsvps', (t) => {
    t.string('mode', 10).notNullable().defaultTo('');
  });
  await knex.schema.alterTable('assembly_attendance', (t) => {
    t.string('mode', 10).notNullable().defaultTo('');
  });
  await knex.schema.alterTable('assemblies', (t) => {
    t.string('online_link', 500).notNullable().defaultTo('');
    t.string('online_meeting_id', 100).notNullable().defaultTo('');
    t.string('online_access_code', 100).notNullable().defaultTo('');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('assemblies', (t) => {
    for (const c of ['online_link', 'online_meeting_id', 'online_access_code']) t.dropColumn(c);
  });
  await knex.schema.alterTable('assembly_attendance', (t) => t.dropColumn('mode'));
  await knex.schema.alterTable('assembly_rsvps', (t) => t.dropColumn('mode'));
  await knex.schema.alterTable('assembly_invitations', (t) => {
    t.dropColumn('has_vote');
    t.dropColumn('letter_reason');
  });
}
