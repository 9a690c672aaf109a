import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../../server/config.ts';
import { createDb, migrate } from '../../server/db/knex.ts';
import { systemClock, type Clock } from '../../server/clock.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createLogger } from '../../server/logger.ts';
import { createGateway, type GatewayTuning } from '../../server/stripe/stripe-gateway.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import { makeCategories } from '../helpers/fixtures.ts';
import type { MailTransport } from '../../server/mail/transport.ts';

/**
 * A SQLite FILE database for dues runs at size (the dues benchmark, the kill test and its
 * child process): N member organisations, all active since 2020, paying (no free category),
 * each with one billing contact with an e-mail (a quarter English-speaking, every third with
 * an EU VAT ID), the association's bank details (so each PDF carries a GiroCode) and the fee
 * schedule of the year frozen.
 */

const ACTOR = { userId: null, label: 'bench' };

/** Outgoing mail is only queued in these runs; nothing is sent. */
const noTransport: MailTransport = { kind: 'file', async send() { return { response: 'not sent' }; }, close() {} };

export function duesConfig(dataDir: string, env: Record<string, string | undefined> = {}): Config {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, BASE_URL: 'http://127.0.0.1:3999', LOG_LEVEL: 'silent', SEED_DEMO: 'never', ...env });
  config.database = { client: 'better-sqlite3', filename: path.join(dataDir, 'verein.sqlite') };
  return config;
}

/** A context on the data directory's database; Stripe on when `env` has STRIPE_SECRET_KEY. */
export function openDuesContext(dataDir: string, env: Record<string, string | undefined> = {}, opts: { tuning?: GatewayTuning; clock?: Clock } = {}): Context {
  const config = duesConfig(dataDir, env);
  const db = createDb(config.database);
  const gateway = createGateway(config, opts.tuning);
  return createContext({ config, db, clock: opts.clock ?? systemClock, log: createLogger('silent'), transport: noTransport, gateway });
}

export async function closeContext(ctx: Context): Promise<void> {
  ctx.outbox.close();
  await ctx.db.destroy();
}

export async function insertMembers(db: Knex, categories: number[], members: number, from = 1): Promise<void> {
  const now = new Date().toISOString();
  const bands = ['1-49', '50-249', '250+'];
  await db.transaction(async (trx) => {
    for (let start = from; start < from + members; start += 200) {
      const orgs = [];
      for (let i = start; i < Math.min(from + members, start + 200); i++) {
        const name = `Harzer Mitglied ${i} GmbH`;
        orgs.push({
          member_number: i, legal_name: name, street: `Bergstraße ${i}`, postcode: '38640', city: 'Goslar', country: 'DE',
          vat_id: i % 3 === 0 ? `DE${String(100000000 + i)}` : '', category_id: categories[i % categories.length], employee_band: bands[i % 3],
          status: 'active', join_date: '2020-01-01', name_key: name.toLowerCase(), created_at: now, updated_at: now,
        });
      }
      await trx('organisations').insert(orgs);
      const ids = await trx('organisations').whereBetween('member_number', [start, start + orgs.length - 1]).orderBy('member_number').select('id', 'member_number');
      await trx('contacts').insert(ids.map((o: { id: number; member_number: number }) => ({
        organisation_id: o.id, name: `Buchhaltung ${o.member_number}`, email: `billing${o.member_number}@mitglied.example`, is_billing: true,
        locale: o.member_number % 4 === 0 ? 'en' : 'de', created_at: now, updated_at: now,
      })));
    }
    const c = await trx('counters').where({ name: 'member_number' }).update({ value: from + members - 1 });
    if (!c) await trx('counters').insert({ name: 'member_number', value: from + members - 1 });
  });
}

/** Creates a temporary data directory with the database described above; returns its path. */
export async function createDuesDataDir(members: number, year: number, prefix = 'verein-dues-'): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const ctx = openDuesContext(dataDir);
  try {
    await migrate(ctx.db);
    await ctx.settings.updateAssociation(ACTOR, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    const cats = await makeCategories(ctx);
    await insertMembers(ctx.db, [cats.company, cats.research, cats.supporting], members);
    await ctx.dues.freezeFeeSchedule(ACTOR, year);
  } catch (err) {
    await closeContext(ctx);
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  await closeContext(ctx);
  return dataDir;
}
