import type { Knex } from 'knex';

/**
 * Working groups (Arbeitsgruppen), issue 16 item 1, owned by server/groups/.
 *
 * - working_groups: name and purpose in German and English, the lead (a contact of a member
 *   organisation), an optional board sponsor (a user with the board role), open to all member
 *   contacts or by invitation.
 * - group_members: one row per group and contact; left_at is set when the contact leaves or is
 *   removed (and cleared when it joins again). A contact whose organisation is no longer a member
 *   counts as gone from the day after its last day of membership (checked at read time).
 * - group_join_requests: a contact asks to join a group by invitation; the lead or the board decides.
 * - group_meetings: date and time (UTC instant, entered in Europe/Berlin), format, place or link,
 *   agenda; uid and sequence for the calendar file (stable UID, SEQUENCE up on every change).
 * - group_meeting_rsvps: one row per meeting and invited contact: the personal link's salt and
 *   the SHA-256 of the link token, and the answer.
 * - group_documents: minutes and documents (PDF), visible to the group's members and the board.
 * - mail_messages.reply_to: a message to a group answers to its sender.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('working_groups', (t) => {
    t.increments('id');
    t.string('name_de', 200).notNullable();
    t.string('name_en', 200).notNullable();
    t.text('purpose_de').notNullable();
    t.text('purpose_en').notNullable();
    t.integer('lead_contact_id').notNullable();
    t.integer('sponsor_user_id').nullable();
    t.string('access', 20).notNullable().defaultTo('open'); // open | invitation
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.integer('version').notNullable().defaultTo(1);
  });

  await knex.schema.createTable('group_members', (t) => {
    t.increments('id');
    t.integer('group_id').notNullable().references('working_groups.id').onDelete('CASCADE');
    t.integer('contact_id').notNullable();
    t.integer('organisation_id').notNullable();
    t.string('joined_at', 30).notNullable();
    t.string('left_at', 30).nullable();
    t.string('left_reason', 20).nullable(); // left | removed
    t.unique(['group_id', 'contact_id']);
    t.index(['contact_id']);
    t.index(['organisation_id']);
  });

  await knex.schema.createTable('group_join_requests', (t) => {
    t.increments('id');
    t.integer('group_id').notNullable().references('working_groups.id').onDelete('CASCADE');
    t.integer('contact_id').notNullable();
    t.integer('organisation_id').notNullable();
    t.text('message').notNullable();
    t.string('status', 20).notNullable().defaultTo('pending'); // pending | accepted | declined | withdrawn
    t.string('created_at', 30).notNullable();
    t.string('decided_at', 30).nullable();
    t.string('decided_by_label', 200).nullable();
    t.index(['group_id', 'status']);
  });

  await knex.schema.createTable('group_meetings', (t) => {
    t.increments('id');
    t.integer('group_id').notNullable().references('working_groups.id').onDelete('CASCADE');
    t.string('uid', 200).notNullable().unique();
    t.integer('sequence').notNullable().defaultTo(0);
    t.string('title', 200).notNullable();
    t.string('starts_at', 30).notNullable();
    t.integer('duration_minutes').notNullable();
    t.string('format', 20).notNullable(); // in_person | online | hybrid
    t.string('location', 500).notNullable().defaultTo('');
    t.string('online_link', 500).notNullable().defaultTo('');
    t.text('agenda').notNullable();
    t.string('status', 20).notNullable().defaultTo('scheduled'); // scheduled | cancelled
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.index(['group_id', 'starts_at']);
  });

  await knex.schema.createTable('group_meeting_rsvps', (t) => {
    t.increments('id');
    t.integer('meeting_id').notNullable().references('group_meetings.id').onDelete('CASCADE');
    t.integer('contact_id').notNullable();
    t.string('salt', 64).notNullable();
    t.string('token_hash', 64).notNullable().unique();
    t.string('answer', 10).nullable(); // yes | no | maybe
    t.string('answered_at', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.unique(['meeting_id', 'contact_id']);
  });

  await knex.schema.createTable('group_documents', (t) => {
    t.increments('id');
    t.integer('group_id').notNullable().references('working_groups.id').onDelete('CASCADE');
    t.integer('meeting_id').nullable().references('group_meetings.id');
    t.string('kind', 20).notNullable(); // minutes | document
    t.string('title', 200).notNullable();
    t.string('filename', 200).notNullable();
    t.integer('size').notNullable();
    t.binary('content').notNullable();
    t.integer('created_by').nullable();
    t.string('created_by_label', 200).notNullable();
    t.string('created_at', 30).notNullable();
    t.index(['group_id']);
  });

  await knex.schema.alterTable('mail_messages', (t) => {
    t.string('reply_to', 320).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mail_messages', (t) => {
    t.dropColumn('reply_to');
  });
  for (const t of ['group_documents', 'group_meeting_rsvps', 'group_meetings', 'group_join_requests', 'group_members', 'working_groups']) {
    await knex.schema.dropTableIfExists(t);
  }
}
