import fs from 'node:fs';
import { closeContext, createDuesDataDir, openDuesContext } from '../test/fakes/dues-fixture.ts';
import { FixedClock } from '../server/clock.ts';
import { mergeResults, type Scenario } from './dues.ts';

/**
 * Bank benchmark (issue 12): `bank-import-10000`: a CAMT.053 (.001.08) statement with 10,000
 * bookings imported and matched against 10,000 open invoices, on a SQLite file database, as
 * the upload at /treasurer/bank does it (read, refuse or store each line once, then the
 * proposals for every open credit). Of the bookings, 60 % name their invoice number (written
 * in several loose ways), 20 % pay from an IBAN learned earlier, 10 % only match by amount and
 * name, 10 % match nothing. Target: under 10 s, RSS growth under 150 MB. Setup (members and
 * invoices) is not measured. Standalone: `node --import tsx bench/bank.ts`; BENCH_BANK_N
 * (10000) changes the size.
 */

const YEAR = 2027;
const ACTOR = { userId: null, label: 'bench' };
const TARGETS = { seconds: 10, rssGrowthMb: 150 };
const n = (): number => Number(process.env.BENCH_BANK_N ?? 10_000);

function ibanOf(i: number): string {
  // a syntactically plausible German IBAN per member (the check digits are not checked on a payer's IBAN)
  return `DE00${String(10000000 + i).padStart(8, '0')}${String(i).padStart(10, '0')}`;
}

function statement(invoices: { number: string; name: string; cents: number }[]): string {
  const entries = invoices.map((inv, i) => {
    const kind = i % 10;
    const num = inv.number;
    const text = kind < 2 ? `Mitgliedsbeitrag ${num}` : kind < 4 ? `RE${num.slice(0, 4)}-${Number(num.slice(5))}` : kind < 6 ? `Beitrag ${num.replace('-', ' ')}` : kind < 8 ? 'Beitrag' : kind < 9 ? 'Jahresbeitrag' : 'Spende';
    const name = kind === 9 ? `Unbekannt ${i}` : inv.name;
    const cents = kind === 9 ? 1234 + i : inv.cents;
    const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    return `<Ntry><Amt Ccy="EUR">${amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2027-03-05</Dt></BookgDt><ValDt><Dt>2027-03-05</Dt></ValDt>`
      + `<AcctSvcrRef>BENCH${i}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>`
      + `<NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>${name}</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>${ibanOf(i)}</IBAN></Id></DbtrAcct></RltdPties>`
      + `<RmtInf><Ustrd>${text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2027-03-06T05:00:00+01:00</CreDtTm></GrpHdr>`
    + `<Stmt><Id>BENCH-1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>${entries.join('\n')}</Stmt></BkToCstmrStmt></Document>`;
}

export async function runBankBench(): Promise<Scenario[]> {
  const dataDir = await createDuesDataDir(n(), YEAR, 'verein-bank-');
  const clock = new FixedClock('2027-03-10T09:00:00Z');
  const ctx = openDuesContext(dataDir, {}, { clock });
  try {
    // setup: one invoice issued by the dues service, copied for every other member (fast), and learned IBANs for a fifth
    const orgs = await ctx.db('organisations').orderBy('member_number').select('id', 'legal_name');
    const first = await ctx.dues.issueDuesInvoice(ACTOR, orgs[0].id, YEAR);
    if (!first.issued) throw new Error('the first invoice was not issued');
    const row = await ctx.db('invoices').where({ id: first.invoiceId }).first();
    await ctx.db.transaction(async (trx) => {
      for (let i = 1; i < orgs.length; i += 500) {
        await trx('invoices').insert(orgs.slice(i, i + 500).map((o: { id: number; legal_name: string }, j: number) => {
          const { id: _id, ...rest } = row!;
          const k = i + j;
          return { ...rest, number: `${YEAR}-${String(k + 1).padStart(4, '0')}`, organisation_id: o.id, recipient_name: o.legal_name, dues_key: `${YEAR}-${o.id}`, amount_cents: 30000 + (k % 50) * 1000 };
        }));
      }
      const payers = orgs.map((o: { id: number }, i: number) => ({ iban: ibanOf(i), organisation_id: o.id, source_line_id: null, learned_at: '2027-01-01T00:00:00Z' })).filter((_: unknown, i: number) => i % 10 === 6 || i % 10 === 7);
      for (let i = 0; i < payers.length; i += 500) await trx('bank_payer_ibans').insert(payers.slice(i, i + 500));
    });
    const invoices = (await ctx.db('invoices').orderBy('id').select('number', 'recipient_name', 'amount_cents'))
      .map((r: { number: string; recipient_name: string; amount_cents: number }) => ({ number: r.number, name: r.recipient_name, cents: Number(r.amount_cents) }));
    const xml = Buffer.from(statement(invoices));
    if (global.gc) global.gc();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const result = await ctx.bank.import(ACTOR, 'bench.xml', xml);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    let t1 = performance.now();
    const proposals = await ctx.bank.proposals();
    const proposalsSeconds = (performance.now() - t1) / 1000;
    t1 = performance.now();
    await ctx.bank.overview();
    const overviewSeconds = (performance.now() - t1) / 1000;
    const rssGrowthMb = Math.round((peak - rss0) / 1024 / 1024);
    const s: Scenario = {
      name: `bank-import-${n()}`, bookings: result.newLines, openInvoices: invoices.length, fileMb: Math.round(xml.length / 1024 / 1024 * 10) / 10,
      sure: result.sure, proposals: proposals.length, proposalsSeconds: Math.round(proposalsSeconds * 1000) / 1000, overviewSeconds: Math.round(overviewSeconds * 1000) / 1000, wallSeconds: Math.round(seconds * 100) / 100, cpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100, rssGrowthMb, peakRssMb: Math.round(peak / 1024 / 1024),
      targets: { seconds: TARGETS.seconds, rssGrowthMb: TARGETS.rssGrowthMb }, pass: seconds < TARGETS.seconds && rssGrowthMb < TARGETS.rssGrowthMb && result.newLines === n(),
    };
    return [s];
  } finally {
    await closeContext(ctx);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const scenarios = await runBankBench();
  for (const s of scenarios) console.log(JSON.stringify(s));
  mergeResults(scenarios);
  process.exit(0);
}
