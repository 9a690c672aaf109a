import type { Knex } from 'knex';

/**
 * Notice for every change after the invitation (issue 10, item 3).
 *
 * - assemblies.notice_changed_sequence: the calendar SEQUENCE at which date, time, place or format
 *   last changed; an update whose sequence is above the notified one calls the members to a changed
 *   assembly and must keep the invitation notice against the new date.
 * - assembly_agenda_items.late_notice: set when the item was announced after the period of the
 *   bylaws (with a reason the board recorded): invitation | update | supplement | item. Resolutions
 *   on such an item are void (nichtig); the results page and the minutes say so.
 * - assembly_overrides: besides late_sending now late_update, late_supplement and late_item, with
 *   the sequence (updates) and the agenda items concerned (JSON array).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('assemblies', (t) => {
    t.integer('notice_changed_sequence').nullable();
  });
  await knex.schema.alterTable('assembly_agenda_items', (t) => {
    t.string('late_notice', 20).nullable();
  });
  await knex.schema.alterTable('assembly_overrides', (t) => {
    t.integer('sequence').nullable();
    t.text('item_ids').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('assembly_overrides', (t) => {
    t.dropColumn('item_ids');
    t.dropColumn('sequence');
  });
  await knex.schema.alterTable('assembly_agenda_items', (t) => {
    t.dropColumn('late_notice');
  });
  await knex.schema.alterTable('assemblies', (t) => {
    t.dropColumn('notice_changed_sequence');
  });
}
