import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import type { Context } from '../../server/context.ts';

const ACTOR = { userId: null, label: 'setup' };

/**
 * Writes `n` voting member organisations, each with a voting representative whose address is
 * `email(i)`, straight into the tables (one transaction, chunks of 500 rows): test data for the
 * invitation benchmark and the fault run, where thousands of members through the service would
 * only measure the seeding.
 */
export async function seedVotingMembers(db: Knex, n: number, categoryId: number, email: (i: number) => string): Promise<void> {
  const now = new Date().toISOString();
  await db.transaction(async (trx) => {
    const max = await trx('organisations').max({ m: 'member_number' }).first();
    const first = Number(max?.m ?? 0) + 1;
    for (let start = 0; start < n; start += 500) {
      const orgs = [];
      for (let i = start; i < Math.min(n, start + 500); i++) {
        const name = `Mitglied ${String(i + 1).padStart(5, '0')} Chemie GmbH`;
        orgs.push({
          member_number: first + i, legal_name: name, legal_form: 'GmbH', street: `Marktstraße ${(i % 90) + 1}`, postcode: '38640', city: 'Goslar', country: 'DE',
          category_id: categoryId, status: 'active', join_date: '2015-03-01', name_key: name.toLowerCase(), city_key: 'goslar', created_at: now, updated_at: now,
        });
      }
      const ids = await trx('organisations').insert(orgs).returning('id');
      const orgIds = (ids as unknown[]).map((r) => Number(typeof r === 'object' ? (r as { id: number }).id : r));
      await trx('contacts').insert(orgIds.map((organisationId, k) => {
        const i = start + k;
        return {
          organisation_id: organisationId, name: `Vertretung ${i + 1}`, name_key: `vertretung ${i + 1}`, email: email(i), is_representative: true,
          locale: i % 7 === 0 ? 'en' : 'de', consent_email_invitations: true, created_at: now, updated_at: now,
        };
      }));
    }
  });
}

/** An assembly 40 days from `now` (well within the notice period) with a short agenda. */
export async function prepareAssembly(ctx: Context, title = 'Ordentliche Mitgliederversammlung'): Promise<number> {
  const day = DateTime.fromJSDate(ctx.clock.now(), { zone: 'Europe/Berlin' }).plus({ days: 40 }).toISODate()!;
  const id = await ctx.assemblies.assembly.create(ACTOR, {
    title, kind: 'ordinary', date: day, time: '18:00', durationMinutes: 120, format: 'in_person',
    location: 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar', participationInfo: '', copyAllContacts: false,
  });
  for (const [t, kind] of [['Bericht des Vorstands', 'report'], ['Entlastung des Vorstands', 'resolution'], ['Wahl des Vorstands', 'election']] as const) {
    await ctx.assemblies.assembly.addAgendaItem(ACTOR, id, { title: t, description: '', kind, proposedText: '' });
  }
  return id;
}
