import type { Knex } from 'knex';

/** Settings, users and roles, tokens, audit log, mail outbox, jobs, counters. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('settings', (t) => {
    t.string('key', 100).primary();
    t.text('value').notNullable(); // JSON
    t.string('updated_at', 30).notNullable();
  });

  await knex.schema.createTable('membership_categories', (t) => {
    t.increments('id');
    t.string('code', 40).notNullable().unique();
    t.string('name_de', 200).notNullable();
    t.string('name_en', 200).notNullable();
    t.boolean('has_vote').notNullable().defaultTo(true);
    t.text('fee_rule').notNullable(); // JSON: {"type":"fixed","amountCents":…} | {"type":"tiers","tiers":{"1-49":…}}
    t.integer('sort_order').notNullable().defaultTo(0);
    t.boolean('active').notNullable().defaultTo(true);
    t.boolean('open_to_applicants').notNullable().defaultTo(true);
  });

  await knex.schema.createTable('users', (t) => {
    t.increments('id');
    t.string('email', 254).notNullable().unique(); // stored lower-case
    t.string('display_name', 200).notNullable();
    t.string('password_hash', 300).nullable(); // null until set through an invitation
    t.string('locale', 5).notNullable().defaultTo('de');
    t.boolean('disabled').notNullable().defaultTo(false);
    t.integer('failed_logins').notNullable().defaultTo(0);
    t.string('locked_until', 30).nullable();
    t.string('last_login_at', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
  });

  await knex.schema.createTable('user_roles', (t) => {
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('role', 20).notNullable();
    t.primary(['user_id', 'role']);
  });

  await knex.schema.createTable('tokens', (t) => {
    t.increments('id');
    t.string('purpose', 40).notNullable();
    t.string('token_hash', 64).notNullable().unique(); // sha256 hex of the random token
    t.string('subject_type', 40).notNullable();
    t.integer('subject_id').notNullable();
    t.string('expires_at', 30).notNullable();
    t.string('used_at', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.index(['subject_type', 'subject_id', 'purpose']);
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.increments('id');
    t.string('at', 30).notNullable();
    t.integer('actor_user_id').nullable();
    t.string('actor_label', 200).notNullable(); // 'system', 'applicant', a user's name
    t.string('action', 80).notNullable();
    t.string('entity_type', 40).notNullable();
    t.integer('entity_id').nullable();
    t.text('before').nullable(); // JSON
    t.text('after').nullable(); // JSON
    t.index(['entity_type', 'entity_id']);
    t.index(['at']);
  });

  await knex.schema.createTable('mail_messages', (t) => {
    t.increments('id');
    t.string('message_id', 200).notNullable().unique(); // RFC 5322 Message-ID, fixed at enqueue
    t.string('template', 60).notNullable();
    t.string('locale', 5).notNullable();
    t.string('to_address', 254).notNullable();
    t.text('cc').nullable(); // JSON array
    t.string('subject', 300).notNullable();
    t.text('text_body').notNullable();
    t.text('html_body').notNullable();
    t.text('attachments').nullable(); // JSON [{filename, contentType, contentBase64}]
    t.string('related_type', 40).nullable();
    t.integer('related_id').nullable();
    t.string('status', 20).notNullable(); // queued | sending | sent | failed
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('next_attempt_at', 30).notNullable();
    t.string('locked_until', 30).nullable();
    t.text('last_response').nullable();
    t.string('sent_at', 30).nullable();
    t.string('created_at', 30).notNullable();
    t.index(['status', 'next_attempt_at']);
    t.index(['related_type', 'related_id']);
  });

  await knex.schema.createTable('jobs', (t) => {
    t.increments('id');
    t.string('kind', 40).notNullable();
    t.string('unique_key', 120).nullable().unique(); // one running job per key
    t.string('status', 20).notNullable(); // queued | running | done | failed
    t.integer('progress').notNullable().defaultTo(0);
    t.integer('total').notNullable().defaultTo(0);
    t.text('payload').nullable();
    t.text('result').nullable();
    t.text('error').nullable();
    t.string('locked_until', 30).nullable();
    t.integer('created_by').nullable();
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
  });

  await knex.schema.createTable('counters', (t) => {
    t.string('name', 60).primary();
    t.integer('value').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['counters', 'jobs', 'mail_messages', 'audit_log', 'tokens', 'user_roles', 'users', 'membership_categories', 'settings']) {
    await knex.schema.dropTableIfExists(t);
  }
}
