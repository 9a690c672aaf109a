import type { Knex } from 'knex';

/**
 * Resolutions without an assembly (§ 32 Abs. 3 BGB), issue 10 item 8.
 *
 * - assembly_written_resolutions: the motion, the kind (for the majority), the deadline (UTC
 *   instant of a Berlin wall time), the rule that applies (JSON, kept when it is sent so a later
 *   change of the settings does not rewrite it), the state (draft → sent → decided) and, once
 *   decided, the result with its evidence (JSON).
 * - assembly_written_ballots: one row per voting member on the sending day (the roll): who was
 *   asked, by which channel (e-mail to a contact who consented, or letter), and the member's one
 *   answer (yes/no/abstain) with when, by whom (the declaring person's name, Textform § 126b) and
 *   through which link (the contact the link was sent to).
 * - assembly_written_tokens: the personal links (only their SHA-256), several per ballot (the
 *   mail, each printed letter), each naming the contact it went to.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('assembly_written_resolutions', (t) => {
    t.increments('id');
    t.string('title', 200).notNullable();
    t.text('motion_text').notNullable();
    t.string('kind', 20).notNullable();
    t.string('deadline_at', 30).notNullable();
    t.string('status', 20).notNullable(); // draft | sent | decided
    t.text('rule').nullable(); // JSON, set when sent
    t.boolean('adopted').nullable();
    t.text('result').nullable(); // JSON evidence, set when decided
    t.string('sent_at', 30).nullable();
    t.string('decided_at', 30).nullable();
    t.integer('created_by').nullable();
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
  });

  await knex.schema.createTable('assembly_written_ballots', (t) => {
    t.increments('id');
    t.integer('resolution_id').notNullable().references('assembly_written_resolutions.id').onDelete('CASCADE');
    t.integer('organisation_id').notNullable();
    t.string('organisation_name', 300).notNullable();
    t.integer('member_number').notNullable();
    t.integer('contact_id').nullable();
    t.string('contact_name', 200).notNullable();
    t.string('to_address', 254).notNullable();
    t.string('locale', 5).notNullable();
    t.text('postal_address').notNullable();
    t.string('channel', 10).notNullable(); // email | letter
    t.integer('mail_message_id').nullable();
    t.integer('result_mail_id').nullable();
    t.string('answer', 10).nullable(); // yes | no | abstain
    t.string('answered_at', 30).nullable();
    t.string('answered_name', 200).nullable();
    t.integer('answered_token_id').nullable();
    t.string('created_at', 30).notNullable();
    t.unique(['resolution_id', 'organisation_id']);
  });

  await knex.schema.createTable('assembly_written_tokens', (t) => {
    t.increments('id');
    t.integer('ballot_id').notNullable().references('assembly_written_ballots.id').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.string('purpose', 10).notNullable(); // mail | letter
    t.string('sent_to', 300).notNullable(); // the contact (e-mail address, or the letter's addressee)
    t.string('created_at', 30).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['assembly_written_tokens', 'assembly_written_ballots', 'assembly_written_resolutions']) await knex.schema.dropTableIfExists(t);
}
