import type { Knex } from 'knex';

/**
 * General assemblies (Mitgliederversammlungen): the assembly with its agenda and attachments,
 * the personal invitations (recipient snapshot as proof of the Textform invitation), every
 * later mail to an invitee (update, cancellation, supplementary agenda, reminder, minutes),
 * the members' answers (RSVP, proxies, motions), and the day itself (attendance, resolutions,
 * minutes). Late sending needs a recorded override.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('assemblies', (t) => {
    t.increments('id');
    t.string('uid', 120).notNullable().unique(); // iCalendar UID, stable for the assembly's life
    t.integer('sequence').notNullable().defaultTo(0); // iCalendar SEQUENCE: +1 on a change of time or place
    t.integer('notified_sequence').nullable(); // the sequence last sent to the members
    t.string('title', 200).notNullable();
    t.string('kind', 20).notNullable(); // ordinary | extraordinary
    t.string('starts_at', 30).notNullable(); // UTC instant
    t.integer('duration_minutes').notNullable().defaultTo(120);
    t.string('format', 20).notNullable(); // in_person | hybrid | virtual
    t.text('location').notNullable().defaultTo('');
    t.text('participation_info').notNullable().defaultTo(''); // § 32 Abs. 2 BGB: how to take part electronically
    t.boolean('copy_all_contacts').notNullable().defaultTo(false);
    t.string('status', 20).notNullable().defaultTo('draft'); // draft | invited | cancelled
    t.string('invited_at', 30).nullable();
    t.string('cancelled_at', 30).nullable();
    t.integer('lock_version').notNullable().defaultTo(0); // bumped to serialise answers (proxy limits)
    t.integer('created_by').nullable();
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['starts_at']);
  });

  await knex.schema.createTable('assembly_agenda_items', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.integer('position').notNullable();
    t.string('title', 300).notNullable();
    t.text('description').notNullable().defaultTo('');
    t.string('kind', 20).notNullable(); // report | resolution | election | bylaws_change
    t.text('proposed_text').notNullable().defaultTo('');
    t.boolean('supplementary').notNullable().defaultTo(false); // added after the invitation went out
    t.string('supplement_sent_at', 30).nullable();
    t.integer('motion_id').nullable();
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['assembly_id', 'position']);
  });

  await knex.schema.createTable('assembly_attachments', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.string('filename', 200).notNullable();
    t.string('content_type', 100).notNullable();
    t.integer('size').notNullable();
    t.binary('content').notNullable();
    t.integer('created_by').nullable();
    t.string('created_at', 30).notNullable();
    t.index(['assembly_id']);
  });

  await knex.schema.createTable('assembly_invitations', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.integer('organisation_id').notNullable().references('organisations.id');
    // snapshot at sending time (proof of who was invited, where, in which language)
    t.string('organisation_name', 200).notNullable();
    t.integer('member_number').notNullable();
    t.string('contact_name', 200).notNullable().defaultTo('');
    t.string('to_address', 254).notNullable().defaultTo(''); // '' = no e-mail: printed letter
    t.text('cc').nullable(); // JSON array
    t.string('locale', 5).notNullable();
    t.text('postal_address').notNullable().defaultTo('');
    t.string('channel', 10).notNullable(); // email | letter
    t.string('token_hash', 64).nullable().unique(); // sha256 of the newest personal link token
    t.string('status', 20).notNullable(); // pending (recorded) | queued (mail in the outbox) | failed | letter
    t.integer('mail_message_id').nullable().references('mail_messages.id');
    t.string('enqueued_at', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.unique(['assembly_id', 'organisation_id']);
    t.index(['organisation_id']);
  });

  // Every personal link ever issued for an invitation (the first mail, resends, letters): all stay
  // valid until the assembly is over, so an older mail's link keeps working.
  await knex.schema.createTable('assembly_invitation_tokens', (t) => {
    t.increments('id');
    t.integer('invitation_id').notNullable().references('assembly_invitations.id').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.string('purpose', 20).notNullable(); // mail | letter
    t.string('created_at', 30).notNullable();
  });

  // Mails after the first invitation, one per invitation and key (idempotent resumable jobs).
  await knex.schema.createTable('assembly_deliveries', (t) => {
    t.increments('id');
    t.integer('invitation_id').notNullable().references('assembly_invitations.id').onDelete('CASCADE');
    t.string('kind', 20).notNullable(); // update | cancel | supplement | reminder | resend | minutes
    t.string('delivery_key', 60).notNullable();
    t.integer('mail_message_id').nullable().references('mail_messages.id');
    t.string('created_at', 30).notNullable();
    t.unique(['invitation_id', 'delivery_key']);
  });

  await knex.schema.createTable('assembly_rsvps', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.boolean('attending').notNullable();
    t.integer('people_count').notNullable().defaultTo(0);
    t.text('names').notNullable().defaultTo('');
    t.string('via', 10).notNullable(); // link | portal | board
    t.string('updated_at', 30).notNullable();
    t.unique(['assembly_id', 'organisation_id']);
  });

  await knex.schema.createTable('assembly_proxies', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.integer('giver_organisation_id').notNullable().references('organisations.id');
    t.integer('holder_organisation_id').notNullable().references('organisations.id');
    t.string('created_at', 30).notNullable();
    t.string('withdrawn_at', 30).nullable();
    t.string('via', 10).notNullable();
    t.index(['assembly_id', 'holder_organisation_id']);
    t.index(['assembly_id', 'giver_organisation_id']);
  });
  // one proxy in force per giver (partial unique index: SQLite and PostgreSQL both have them)
  await knex.raw('create unique index assembly_proxies_one_active on assembly_proxies (assembly_id, giver_organisation_id) where withdrawn_at is null');

  await knex.schema.createTable('assembly_motions', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.string('title', 300).notNullable();
    t.text('body').notNullable();
    t.string('submitted_by', 200).notNullable().defaultTo('');
    t.string('via', 10).notNullable();
    t.string('created_at', 30).notNullable();
    t.index(['assembly_id']);
  });

  await knex.schema.createTable('assembly_attendance', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.integer('organisation_id').notNullable().references('organisations.id');
    t.string('person_name', 200).notNullable().defaultTo('');
    t.string('checked_in_at', 30).nullable();
    t.string('checked_out_at', 30).nullable();
    t.integer('updated_by').nullable();
    t.string('updated_at', 30).notNullable();
    t.unique(['assembly_id', 'organisation_id']);
  });

  await knex.schema.createTable('assembly_resolutions', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.integer('agenda_item_id').notNullable().unique().references('assembly_agenda_items.id').onDelete('CASCADE');
    t.integer('yes_votes').notNullable();
    t.integer('no_votes').notNullable();
    t.integer('abstentions').notNullable();
    t.text('note').notNullable().defaultTo('');
    t.integer('recorded_by').nullable();
    t.string('recorded_at', 30).notNullable();
  });

  await knex.schema.createTable('assembly_minutes', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().unique().references('assemblies.id').onDelete('CASCADE');
    t.text('body').notNullable().defaultTo('');
    t.integer('attachment_id').nullable().references('assembly_attachments.id');
    t.string('updated_at', 30).notNullable();
    t.integer('updated_by').nullable();
    t.string('sent_at', 30).nullable();
  });

  await knex.schema.createTable('assembly_overrides', (t) => {
    t.increments('id');
    t.integer('assembly_id').notNullable().references('assemblies.id').onDelete('CASCADE');
    t.string('kind', 30).notNullable(); // late_sending
    t.text('reason').notNullable();
    t.string('last_send_day', 10).notNullable();
    t.string('send_day', 10).notNullable();
    t.integer('user_id').nullable();
    t.string('actor_label', 200).notNullable();
    t.string('created_at', 30).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of [
    'assembly_overrides', 'assembly_minutes', 'assembly_resolutions', 'assembly_attendance', 'assembly_motions', 'assembly_proxies',
    'assembly_rsvps', 'assembly_deliveries', 'assembly_invitation_tokens', 'assembly_invitations', 'assembly_attachments',
    'assembly_agenda_items', 'assemblies',
  ]) await knex.schema.dropTableIfExists(t);
}
