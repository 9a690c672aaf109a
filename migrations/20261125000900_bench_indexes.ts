import type { Knex } from 'knex';

/**
 * Indexes found missing by the benchmark (bench/run.ts, 100,000 members).
 *
 * The register's filter "status + category + join year" (/board/members?status=active&
 * category=1&year=2015) could only use (category_id, status): about 60,000 rows for the
 * largest category, each read from the table to test join_date — 25–35 ms for the capped
 * count and as much again for the page. With join_date as the third column the same
 * filter is one index range (about 1,600 entries, the count without touching the table):
 * about 1 ms. The index has (category_id, status) as its prefix, so it serves everything
 * the older two-column index serves.
 *
 * contacts.user_id (a foreign key: SQLite and PostgreSQL do not index those by themselves) is
 * read on EVERY signed-in request: UsersService.byIds (passport's deserializeUser) looks up
 * the contacts linked to the user. Without an index that is a scan of all contacts, about
 * 25 ms at 250,000 contacts, more than the rest of a register page together; with it, 0.05 ms.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organisations', (t) => {
    t.index(['category_id', 'status', 'join_date'], 'organisations_category_status_join_date_index');
  });
  await knex.schema.alterTable('contacts', (t) => {
    t.index(['user_id'], 'contacts_user_id_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('contacts', (t) => {
    t.dropIndex(['user_id'], 'contacts_user_id_index');
  });
  await knex.schema.alterTable('organisations', (t) => {
    t.dropIndex(['category_id', 'status', 'join_date'], 'organisations_category_status_join_date_index');
  });
}
