import fs from 'node:fs';
import os from 'node:os';
import { closeContext, createDuesDataDir, openDuesContext } from '../test/fakes/dues-fixture.ts';
import { FixedClock } from '../server/clock.ts';
import { insertId } from '../server/db/knex.ts';
import { mergeResults, type Scenario } from './dues.ts';

/**
 * SEPA benchmark (issue 12): `bank-pain008-10000`: 10,000 members, each with an open dues
 * invoice and a core mandate, on a SQLite file database. Timed: the collection run (10,000
 * debits and pre-notifications in one transaction) and the pain.008 file of all 10,000 debits
 * (version .001.08 and .001.02, built, sums checked). Target: the file under 5 s.
 * Standalone: `node --import tsx bench/sepa.ts`; BENCH_SEPA_DEBITS (10000).
 */

const N = Number(process.env.BENCH_SEPA_DEBITS ?? 10_000);
const YEAR = 2027;
const ACTOR = { userId: null, label: 'bench' };
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
export const SEPA_TARGETS = { fileSeconds: 5 };

async function scenario(): Promise<Scenario> {
  const dataDir = await createDuesDataDir(N, YEAR, 'verein-sepa-');
  const clock = new FixedClock('2027-03-10T09:00:00Z');
  const ctx = openDuesContext(dataDir, {}, { clock });
  try {
    const a = await ctx.settings.association();
    await ctx.settings.updateAssociation(ACTOR, { ...a, sepaCreditorId: 'DE98ZZZ09999999999' });
    // the invoices and mandates written directly (issuing 10,000 invoices with PDFs is the dues benchmark's part)
    const orgs: { id: number; member_number: number; legal_name: string }[] = await ctx.db('organisations').select('id', 'member_number', 'legal_name').orderBy('id');
    const issuer = JSON.stringify({ name: a.name, street: a.street, postcode: a.postcode, city: a.city, country: a.country, taxNumber: a.taxNumber, registerCourt: '', registerNumber: '', contactEmail: a.contactEmail, website: '', bankHolder: a.bankHolder, iban: a.iban, bic: a.bic, bankName: a.bankName });
    const now = clock.now().toISOString();
    await ctx.db.transaction(async (trx) => {
      for (const [i, o] of orgs.entries()) {
        await insertId(trx, 'invoices', {
          number: `${YEAR}-${String(i + 1).padStart(5, '0')}`, year: YEAR, kind: 'invoice', dues_key: `${YEAR}-${o.id}`, organisation_id: o.id, member_number: o.member_number,
          recipient_name: o.legal_name, recipient_street: 'Bergstraße 1', recipient_postcode: '38640', recipient_city: 'Goslar', recipient_country: 'DE', recipient_vat_id: '',
          contact_name: 'Buchhaltung', contact_email: `fibu${i}@example.org`, issuer, description: `Mitgliedsbeitrag ${YEAR}`, pro_rata_note: '', tax_note: '',
          period_start: `${YEAR}-01-01`, period_end: `${YEAR}-12-31`, amount_cents: 25_000 + (i % 7) * 5_000, issue_date: '2027-03-01', due_date: '2027-03-31', status: 'open', paid_cents: 0,
          locale: i % 4 === 0 ? 'en' : 'de', reminder_level: 0, reminders_stopped: false, created_at: now, updated_at: now,
        });
        await insertId(trx, 'sepa_mandates', {
          organisation_id: o.id, reference: `M${String(o.id).padStart(5, '0')}-B`, scheme: 'CORE', iban: 'DE02120300000000202051', bic: '', holder: o.legal_name,
          signed_on: '2027-01-15', source: 'paper', last_used_on: null, first_used: false, revoked_reason: '', created_at: now, updated_at: now,
        });
      }
    });
    const ids = (await ctx.sepa.preview('2027-03-24')).map((x) => x.invoiceId);
    const rss0 = process.memoryUsage().rss;
    let t = process.hrtime.bigint();
    const run = await ctx.sepa.createRun(ACTOR, { dueDate: '2027-03-24', invoiceIds: ids });
    const runSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    t = process.hrtime.bigint();
    const f08 = await ctx.sepa.file(ACTOR, run.runId, 'CORE', 'FRST', '001.08');
    const fileSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    t = process.hrtime.bigint();
    const f02 = await ctx.sepa.file(ACTOR, run.runId, 'CORE', 'FRST', '001.02');
    const file02Seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const count = (f08.xml.match(/<DrctDbtTxInf>/g) ?? []).length;
    const ctrl = /<CtrlSum>([\d.]+)<\/CtrlSum>/.exec(f08.xml)?.[1];
    const ok = count === N && ctrl === (run.totalCents / 100).toFixed(2) && (f02.xml.match(/<DrctDbtTxInf>/g) ?? []).length === N;
    return {
      name: `bank-pain008-${N}`, debits: run.count, runSeconds: round(runSeconds), fileSeconds: round(fileSeconds), file02Seconds: round(file02Seconds),
      fileMb: round(Buffer.byteLength(f08.xml) / 1024 / 1024), rssGrowthMb: round((process.memoryUsage().rss - rss0) / 1024 / 1024, 1), sumsAgree: ok,
      targets: { fileSeconds: SEPA_TARGETS.fileSeconds }, pass: ok && fileSeconds < SEPA_TARGETS.fileSeconds, loadAverage: os.loadavg().map((x) => round(x)),
    };
  } finally {
    await closeContext(ctx);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const s = await scenario();
console.log(JSON.stringify(s, null, 2));
mergeResults([s]);
