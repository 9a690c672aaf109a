import type { Knex } from 'knex';
import { insertId } from '../../server/db/knex.ts';
import { nextInvoiceNumber } from '../../server/dues/numbering.ts';
import { StripeGateway } from '../../server/stripe/stripe-gateway.ts';
import type { StripeFake } from '../fakes/stripe-fake.ts';
import { createTestEnv, type TestEnv } from './context.ts';

/**
 * Rows for the Stripe tests: an organisation and an issued invoice inserted directly, so the
 * Stripe side is tested on its own. (The dues tests issue invoices through DuesService.)
 */
let seq = 0;

export async function makeOrganisation(db: Knex, opts: { name?: string; vatId?: string } = {}): Promise<number> {
  seq++;
  let category = await db('membership_categories').first('id');
  if (!category) {
    await db('membership_categories').insert({
      code: `cat${seq}`, name_de: 'Unternehmen', name_en: 'Company', has_vote: true,
      fee_rule: JSON.stringify({ type: 'fixed', amountCents: 120000 }), sort_order: 1, active: true, open_to_applicants: true,
    });
    category = await db('membership_categories').first('id');
  }
  const now = '2026-11-25T09:00:00.000Z';
  const maxNo = (await db('organisations').max({ m: 'member_number' }).first())!;
  const name = opts.name ?? `Harzer Chemie ${seq} GmbH`;
  return insertId(db, 'organisations', {
    member_number: Number(maxNo?.m ?? 0) + 1, legal_name: name, street: 'Hüttenstraße 3', postcode: '38640', city: 'Goslar', country: 'DE',
    vat_id: opts.vatId ?? '', category_id: category!.id, status: 'active', join_date: '2020-01-01', name_key: name.toLowerCase(), created_at: now, updated_at: now,
  });
}

export async function makeInvoice(db: Knex, organisationId: number, opts: { amountCents?: number; year?: number; locale?: 'de' | 'en'; email?: string } = {}): Promise<number> {
  const org = (await db('organisations').where({ id: organisationId }).first())!;
  const year = opts.year ?? 2027;
  const now = '2026-11-25T09:00:00.000Z';
  return db.transaction(async (trx) => insertId(trx, 'invoices', {
    number: await nextInvoiceNumber(trx, year),
    year, kind: 'invoice', dues_key: `${year}-${organisationId}`, organisation_id: organisationId, member_number: org.member_number,
    recipient_name: org.legal_name, recipient_street: org.street, recipient_postcode: org.postcode, recipient_city: org.city,
    recipient_country: org.country, recipient_vat_id: org.vat_id, contact_name: 'Erika Muster', contact_email: opts.email ?? `billing${organisationId}@example.org`,
    issuer: JSON.stringify({ name: 'ChemieNetzwerk Harz e.V.', street: 'Markt 1', postcode: '38640', city: 'Goslar', country: 'DE', taxNumber: '21/200/12345' }),
    description: `Mitgliedsbeitrag ${year}`, period_start: `${year}-01-01`, period_end: `${year}-12-31`, amount_cents: opts.amountCents ?? 120000,
    issue_date: '2026-11-25', due_date: '2026-12-25', status: 'open', paid_cents: 0, locale: opts.locale ?? 'de',
    reminder_level: 0, reminders_stopped: false, created_at: now, updated_at: now,
  }));
}

/**
 * A test environment with Stripe on, speaking to the local fake (which must be started): the
 * gateway retries quickly (a 5xx from the fake is retried once), so that outages cost no time.
 */
export async function createStripeTestEnv(fake: StripeFake, opts: { maxRetryDelaySec?: number; env?: Record<string, string> } = {}): Promise<TestEnv> {
  const gateway = new StripeGateway({ secretKey: fake.apiKey, webhookSecret: fake.webhookSecret, apiUrl: fake.url, initialRetryDelaySec: 0.01, maxRetryDelaySec: opts.maxRetryDelaySec ?? 0.02, maxNetworkRetries: 1 });
  return createTestEnv({ env: { STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, ...opts.env }, gateway });
}
