import type { Knex } from 'knex';
import type { StripeCustomerRow, StripeEventRow } from './dues.tables.ts';

/** Every query on `stripe_customers` and `stripe_events` (owner: dues): the Stripe bookkeeping. */

type Q = Knex | Knex.Transaction;

/** The Stripe customer id of an organisation, if it has one. */
export async function customerIdOf(q: Q, organisationId: number): Promise<string | undefined> {
  return (await q('stripe_customers').where({ organisation_id: organisationId }).first())?.customer_id;
}

/** Stores an organisation's Stripe customer; throws when the organisation has one already (UNIQUE). */
export async function insertCustomer(q: Q, row: Omit<StripeCustomerRow, 'id'>): Promise<void> {
  await q('stripe_customers').insert(row);
}

/** Stores a received event unless one with its id is stored already. */
export async function recordEvent(q: Q, row: Pick<StripeEventRow, 'event_id' | 'type' | 'received_at'>): Promise<void> {
  await q('stripe_events').insert(row).onConflict('event_id').ignore();
}

/** When a stored event was handled (null: not yet). */
export async function eventProcessedAt(q: Q, eventId: string): Promise<string | null> {
  return (await q('stripe_events').where({ event_id: eventId }).first())?.processed_at ?? null;
}

export async function updateEvent(q: Q, eventId: string, patch: Partial<Pick<StripeEventRow, 'processed_at' | 'error'>>): Promise<void> {
  await q('stripe_events').where({ event_id: eventId }).update(patch);
}

/** h/stripe: the organisation's customer and the hash of what it was last given. */
export async function customerOf(q: Q, organisationId: number): Promise<{ customerId: string; syncedHash: string | null } | undefined> {
  const r = await q('stripe_customers').where({ organisation_id: organisationId }).first();
  return r ? { customerId: r.customer_id, syncedHash: r.synced_hash ?? null } : undefined;
}

export async function setCustomerHash(q: Q, organisationId: number, hash: string): Promise<void> {
  await q('stripe_customers').where({ organisation_id: organisationId }).update({ synced_hash: hash });
}
