import type { Knex } from 'knex';

/**
 * Electronic voting in an assembly (issue 15): a ballot per agenda item, opened by the chair.
 *
 * - assembly_ballots: the question, the options (JSON), how many may be chosen, open or secret,
 *   the window (opened_at … closes_at, stored so a restart keeps it), the show of hands entered
 *   by the board (JSON counts per option), and once closed the tally (JSON).
 * - assembly_ballot_eligible: the snapshot taken when the ballot opens: each member whose vote
 *   counts, who casts it (itself or the holder of its proxy) and where (room | online). A proxy
 *   withdrawn or given after the opening changes nothing for this ballot.
 * - assembly_ballot_voters: THAT a member's vote was cast (primary key ballot + member: a second
 *   vote by any path, even at the same moment, is refused by the database). For an open ballot
 *   also the choice; for a secret one `choice` stays NULL and no time is kept.
 * - assembly_ballot_tallies: the votes per option as one counter row per option, raised in the
 *   same transaction as the voter row. No member, token, time or sequence: nothing joins a
 *   vote to a voter; the sum of the counters equals the count of voters (plus hands).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('assembly_ballots', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.integer('agenda_item_id').notNullable().references('assembly_agenda_items.id').onDelete('CASCADE');
    t.string('question', 500).notNullable();
    t.string('kind', 20).notNullable(); // yes_no | election
    t.text('options').notNullable(); // JSON [{ key, label }]
    t.integer('max_choices').notNullable().defaultTo(1);
    t.boolean('secret').notNullable().defaultTo(false);
    t.string('status', 10).notNullable(); // open | closed
    t.string('opened_at', 30).notNullable();
    t.string('closes_at', 30).notNullable();
    t.string('closed_at', 30).nullable();
    t.integer('opened_by').nullable();
    t.string('closed_by_label', 200).nullable();
    t.integer('votes_present').notNullable(); // the snapshot's votes
    t.text('hands').nullable(); // JSON { option: count }
    t.string('hands_entered_at', 30).nullable();
    t.text('result').nullable(); // JSON, set when closed
    t.index(['assembly_id']);
  });
  await knex.schema.createTable('assembly_ballot_eligible', (t) => {
    t.integer('ballot_id').notNullable().references('assembly_ballots.id').onDelete('CASCADE');
    t.integer('organisation_id').notNullable();
    t.integer('holder_organisation_id').notNullable();
    t.string('mode', 10).notNullable(); // room | online
    t.primary(['ballot_id', 'organisation_id']);
  });
  await knex.schema.createTable('assembly_ballot_voters', (t) => {
    t.integer('ballot_id').notNullable().references('assembly_ballots.id').onDelete('CASCADE');
    t.integer('organisation_id').notNullable();
    t.integer('cast_by_organisation_id').notNullable();
    t.string('via', 10).notNullable(); // portal | link | tablet
    t.text('choice').nullable(); // open ballots: JSON array of option keys; secret: NULL
    t.string('voted_at', 30).nullable(); // open ballots only
    t.primary(['ballot_id', 'organisation_id']);
  });
  await knex.schema.createTable('assembly_ballot_tallies', (t) => {
    t.integer('ballot_id').notNullable().references('assembly_ballots.id').onDelete('CASCADE');
    t.string('option_key', 40).notNullable();
    t.integer('votes').notNullable().defaultTo(0);
    t.primary(['ballot_id', 'option_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('assembly_ballot_tallies');
  await knex.schema.dropTableIfExists('assembly_ballot_voters');
  await knex.schema.dropTableIfExists('assembly_ballot_eligible');
  await knex.schema.dropTableIfExists('assembly_ballots');
}
