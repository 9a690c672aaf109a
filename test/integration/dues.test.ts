import { expect } from 'chai';
import request from 'supertest';
import type { Express, Router } from 'express';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import { disabledGateway } from '../../server/stripe/gateway.ts';
import { portalInvoicesRouter } from '../../server/dues/portal-invoices.routes.ts';
import { runDuesCli, runRemindersCli } from '../../server/cli/dues.ts';
import type { NewContact } from '../../server/members/members.service.ts';
import type { Context } from '../../server/context.ts';

const actor = { userId: null, label: 'test' };
/** Money as the pages show it (Intl puts a no-break space before €). */
const eur = (s: string) => `${s}\u00a0€`;

async function makeOrg(ctx: Context, o: { name: string; categoryId: number; band?: string; joinDate: string; contacts?: Partial<NewContact>[]; exitDate?: string }): Promise<number> {
  const id = await ctx.db.transaction(async (trx) => {
    const r = await ctx.members.createOrganisation(trx, actor, {
      legalName: o.name, legalForm: 'GmbH', street: 'Hauptstraße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', registerEntry: '',
      vatId: '', fieldOfActivity: 'Chemie', employeeBand: o.band ?? '1-49', categoryId: o.categoryId, joinDate: o.joinDate,
    }, (o.contacts ?? []).map((c) => ({
      name: c.name ?? 'Kontakt', email: c.email ?? '', phone: '', position: '', isRepresentative: c.isRepresentative ?? false, isBilling: c.isBilling ?? false,
      locale: c.locale ?? 'de', consentEmailInvitations: false,
    })), { invite: false, welcome: false });
    return r.organisationId;
  });
  if (o.exitDate) await ctx.db('organisations').where({ id }).update({ status: 'former', exit_date: o.exitDate });
  return id;
}

/** Mounts a router (the portal's invoice routes, which the lead mounts in app.ts) before the 404 handler. */
function mountBeforeNotFound(app: Express, path: string, router: Router) {
  const stack = (app as unknown as { router: { stack: { name: string }[] } }).router.stack;
  const lastRouter = stack.map((l) => l.name).lastIndexOf('router');
  app.use(path, router);
  const layer = stack.pop()!;
  stack.splice(lastRouter + 1, 0, layer);
}

async function mails(env: TestEnv, template?: string) {
  const q = env.db('mail_messages').orderBy('id');
  if (template) q.where({ template });
  return q;
}

describe('dues: fee schedule, dues run, invoices, payments, cancellations, reminders, dashboard', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let cats: Record<string, number>;
  const org: Record<string, number> = {};
  let treasurer: Browser;

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-01-05T09:00:00Z');
    cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    org.big = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, band: '250+', joinDate: '2015-03-01', contacts: [
      { name: 'Vera Vorstand', email: 'vera@harzer.example', isRepresentative: true },
      { name: 'Buchhaltung', email: 'buchhaltung@harzer.example', isBilling: true },
    ] });
    org.lab = await makeOrg(env.ctx, { name: 'Institut für Polymerforschung', categoryId: cats.research, joinDate: '2027-10-15', contacts: [{ name: 'Dr. Lee', email: 'lee@ipf.example', isRepresentative: true, locale: 'en' }] });
    org.honorary = await makeOrg(env.ctx, { name: 'Ehrenmitglied AG', categoryId: cats.honorary, joinDate: '2001-01-01', contacts: [{ name: 'Ehre', email: 'ehre@example.org', isRepresentative: true }] });
    org.december = await makeOrg(env.ctx, { name: 'Förderfreunde Oker GmbH', categoryId: cats.supporting, joinDate: '2027-12-31', contacts: [{ name: 'Frau Fö', email: 'foerder@oker.example', isRepresentative: true }] });
    org.gone = await makeOrg(env.ctx, { name: 'Ausgetreten GmbH', categoryId: cats.company, joinDate: '2010-01-01', exitDate: '2026-12-31' });
    org.future = await makeOrg(env.ctx, { name: 'Neu 2028 GmbH', categoryId: cats.company, joinDate: '2028-02-01' });
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeUser(env.ctx, 'admin@test.example', ['admin']);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('freezes the fee schedule of a year from the categories (treasurer, audited)', async () => {
    const page = await treasurer.get('/treasurer/fees/2027');
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('Für 2027 ist noch keine Beitragsordnung festgelegt');
    const res = await treasurer.submit('/treasurer/fees/2027', { year: '2027' }, '/treasurer/fees');
    expect(res.status).to.equal(303);
    const after = await treasurer.get('/treasurer/fees/2027');
    expect(after.text).to.contain(eur('2.500,00'));
    expect(after.text).to.contain('anteilig ab dem Beitrittsmonat');
    const schedule = await env.ctx.dues.feeSchedule(2027);
    expect(schedule.map((s) => s.categoryId).sort()).to.deep.equal(Object.values(cats).sort());
    expect(await env.db('audit_log').where({ action: 'fee_schedule.frozen' }).first()).to.be.an('object');
  });

  it('previews the run: amounts, pro-rata notes, free members skipped, former and future members left out, totals', async () => {
    const p = await env.ctx.dues.preview(2027);
    const byOrg = new Map(p.rows.map((r) => [r.organisationId, r]));
    expect(byOrg.get(org.big)).to.include({ amountCents: 250000, skip: null, proRata: false });
    expect(byOrg.get(org.lab)).to.include({ amountCents: 7500, months: 3, proRata: true, skip: null });
    expect(byOrg.get(org.december)).to.include({ amountCents: 2083, months: 1, proRata: true });
    expect(byOrg.get(org.honorary)).to.include({ skip: 'free' });
    expect(byOrg.has(org.gone)).to.equal(false);
    expect(byOrg.has(org.future)).to.equal(false);
    expect(p.toInvoice).to.deep.equal({ count: 3, cents: 250000 + 7500 + 2083 });
    const page = await treasurer.get('/treasurer/runs/new/2027');
    expect(page.status).to.equal(200);
    expect(page.text).to.contain(eur('2.595,83'));
    expect(page.text).to.contain('beitragsfrei');
    expect(page.text).to.contain(`anteilig 3/12 von ${eur('300,00')} (Beitritt 15.10.2027)`);
  });

  it('runs the year as a job from the page: one invoice per member, numbered in member order, e-mailed with the PDF to the billing contact', async () => {
    const res = await treasurer.submit('/treasurer/runs/new/2027', { year: '2027' }, '/treasurer/runs');
    expect(res.status).to.equal(303);
    const runId = Number(/\/treasurer\/runs\/(\d+)$/.exec(res.headers.location)![1]);
    const run = await env.ctx.duesRuns.run(runId);
    const job = await env.ctx.jobs.waitFor(run.job.id);
    expect(job!.status).to.equal('done');
    expect(job!.result).to.include({ issued: 3, skipped: 1, failed: 0 });
    const invoices = await env.db('invoices').where({ year: 2027 }).orderBy('number');
    expect(invoices.map((i) => [i.number, i.organisation_id, i.amount_cents])).to.deep.equal([
      ['2027-0001', org.big, 250000], ['2027-0002', org.lab, 7500], ['2027-0003', org.december, 2083],
    ]);
    expect(invoices[0]).to.include({ issue_date: '2027-01-05', due_date: '2027-02-04', status: 'open', period_start: '2027-01-01', period_end: '2027-12-31' });
    expect(invoices[1]).to.include({ locale: 'en', period_start: '2027-10-15', description: 'Membership dues 2027' }); // h/money: from the join date
    const m = await mails(env, 'dues_invoice');
    expect(m.map((x) => x.to_address)).to.deep.equal(['buchhaltung@harzer.example', 'lee@ipf.example', 'foerder@oker.example']);
    expect(m[0].subject).to.contain('Rechnung 2027-0001');
    expect(m[1].subject).to.contain('Invoice 2027-0002');
    const att = JSON.parse(m[0].attachments!);
    expect(att[0]).to.include({ filename: 'Rechnung-2027-0001.pdf', contentType: 'application/pdf' });
    expect(Buffer.from(att[0].contentBase64, 'base64').subarray(0, 5).toString()).to.equal('%PDF-');
    expect(m[0].text_body).to.contain('DE89 3704 0044 0532 0130 00');

    const page = await treasurer.get(`/treasurer/runs/${runId}`);
    expect(page.text).to.match(/<progress[^>]*value="4"[^>]*max="4"/);
    expect(page.text).not.to.contain('http-equiv="refresh"');
  });

  it('a second run of the same year issues nothing new: members already invoiced are skipped', async () => {
    const { jobId } = await env.ctx.duesRuns.start(actor, 2027);
    const job = await env.ctx.jobs.waitFor(jobId);
    expect(job!.result).to.include({ issued: 0, skipped: 4 });
    expect(Number((await env.db('invoices').where({ year: 2027 }).count({ n: '*' }).first())!.n)).to.equal(3);
    expect((await env.ctx.dues.preview(2027)).skipped.invoiced).to.equal(3);
  });

  it('refuses a second run of a year while one runs, and shows the progress page refreshing itself', async () => {
    await env.ctx.dues.freezeFeeSchedule(actor, 2028);
    const first = await env.ctx.duesRuns.create(actor, 2028);
    const runId = Number((await env.db('dues_runs').where({ job_id: first.job.id }).first())!.id);
    // another process is running it: status running, heartbeat fresh
    await env.db('jobs').where({ id: first.job.id }).update({ status: 'running', progress: 1, total: 4, locked_until: '2027-01-05T09:01:00.000Z' });
    let refused: unknown;
    try { await env.ctx.duesRuns.create(actor, 2028); } catch (err) { refused = err; }
    expect(refused).to.have.property('code', 'job_running');
    const res = await treasurer.submit('/treasurer/runs/new/2028', { year: '2028' }, '/treasurer/runs');
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/treasurer/runs/new/2028');
    const preview = await treasurer.get('/treasurer/runs/new/2028');
    expect(preview.text).to.contain('läuft bereits');
    expect(preview.text).not.to.contain('action="/treasurer/runs"');
    const page = await treasurer.get(`/treasurer/runs/${runId}`);
    expect(page.text).to.contain('<meta http-equiv="refresh" content="2">');
    expect(page.text).to.match(/<progress[^>]*value="1"[^>]*max="4"/);
    // in this process a start while the job executes is refused too
    await env.db('jobs').where({ id: first.job.id }).update({ status: 'queued', locked_until: null });
    const exec = env.ctx.jobs.execute(first.job.id);
    const again = await env.ctx.duesRuns.create(actor, 2028).catch((e) => e);
    expect(again).to.have.property('code', 'job_running');
    expect((await exec).status).to.equal('done');
  });

  it('resumes a crashed run: each member gets exactly one invoice and the numbers stay gapless', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push(await makeOrg(env.ctx, { name: `Resume ${i} GmbH`, categoryId: cats.research, joinDate: '2020-01-01', contacts: [{ name: 'R', email: `r${i}@resume.example`, isRepresentative: true }] }));
    await env.ctx.dues.freezeFeeSchedule(actor, 2029);
    const { job } = await env.ctx.duesRuns.create(actor, 2029);
    // the process dies while writing the 4th invoice: its transaction (number included) rolls back
    const outbox = env.ctx.outbox;
    const original = outbox.enqueue.bind(outbox);
    let calls = 0;
    outbox.enqueue = async (trx, input) => {
      if (input.template === 'dues_invoice' && ++calls === 4) throw new Error('simulated crash');
      return original(trx, input);
    };
    try {
      await env.ctx.jobs.execute(job.id);
    } finally {
      outbox.enqueue = original;
    }
    // members before the crash were invoiced (the one without e-mail sends none); the 4th e-mail's member was not
    expect((await env.db('jobs').where({ id: job.id }).first())!.status).to.equal('failed');
    expect(Number((await env.db('invoices').where({ year: 2029 }).count({ n: '*' }).first())!.n)).to.equal(4);
    expect(await env.db('invoices').where({ year: 2029, organisation_id: ids[0] }).first()).to.equal(undefined);
    // what a crash leaves behind: the job 'running' under its key, its heartbeat stopped
    await env.db('jobs').where({ id: job.id }).update({ status: 'running', unique_key: 'dues-2029', locked_until: '2027-01-05T08:00:00.000Z' });
    const again = await env.ctx.duesRuns.create(actor, 2029);
    expect(again.resumed).to.equal(true);
    expect(again.job.id).to.equal(job.id);
    const done = await env.ctx.jobs.execute(job.id);
    expect(done.status).to.equal('done');
    const invoices = await env.db('invoices').where({ year: 2029, kind: 'invoice' }).orderBy('number');
    const count = new Map<number, number>();
    for (const i of invoices) count.set(Number(i.organisation_id), (count.get(Number(i.organisation_id)) ?? 0) + 1);
    const expected = (await env.ctx.dues.preview(2029)).rows.filter((r) => r.skip !== 'free').map((r) => r.organisationId);
    expect([...count.keys()].sort()).to.deep.equal([...expected].sort());
    expect([...count.values()].every((n) => n === 1)).to.equal(true);
    expect(invoices.map((i) => i.number)).to.deep.equal(invoices.map((_, k) => `2029-${String(k + 1).padStart(4, '0')}`));
    const mailed = (await mails(env, 'dues_invoice')).filter((m) => m.subject.includes('2029-')).map((m) => /2029-\d{4}/.exec(m.subject)![0]);
    expect(mailed.sort()).to.deep.equal(invoices.filter((i) => i.contact_email).map((i) => i.number)); // each e-mail once
  });

  it('a live run holds its key: taking over is refused until its heartbeat stops, then the worker resumes it', async () => {
    await env.ctx.dues.freezeFeeSchedule(actor, 2033);
    const { job } = await env.ctx.duesRuns.create(actor, 2033);
    await env.db('jobs').where({ id: job.id }).update({ status: 'running', locked_until: '2027-01-05T09:00:30.000Z' });
    let refused: unknown;
    try { await env.ctx.duesRuns.create(actor, 2033); } catch (err) { refused = err; }
    expect(refused).to.have.property('code', 'job_running');
    expect(await env.ctx.jobs.resumeStale()).to.equal(0);
    env.clock.advance(60_000);
    // at start-up (or now and then) the worker picks up runs whose heartbeat stopped
    expect(await env.ctx.jobs.resumeStale()).to.equal(1);
    expect((await env.ctx.jobs.waitFor(job.id))!.status).to.equal('done');
    expect(Number((await env.db('invoices').where({ year: 2033 }).count({ n: '*' }).first())!.n)).to.be.greaterThan(0);
    env.clock.set('2027-01-05T09:00:00Z');
  });

  it('issues 50 invoices at once with numbers that have no gap and no duplicate', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 50; i++) ids.push(await makeOrg(env.ctx, { name: `Parallel ${i} KG`, categoryId: cats.supporting, joinDate: '2020-01-01' }));
    await env.ctx.dues.freezeFeeSchedule(actor, 2030);
    const results = await Promise.all(ids.map((id) => env.ctx.dues.issueDuesInvoice(actor, id, 2030)));
    const numbers = results.map((r) => (r.issued ? r.number : 'skipped'));
    expect(new Set(numbers).size).to.equal(50);
    expect([...numbers].sort()).to.deep.equal(Array.from({ length: 50 }, (_, i) => `2030-${String(i + 1).padStart(4, '0')}`));
    // and never a second dues invoice for the same member and year, even asked twice at once
    const twice = await Promise.all([env.ctx.dues.issueDuesInvoice(actor, ids[0], 2030), env.ctx.dues.issueDuesInvoice(actor, ids[0], 2030)]);
    expect(twice.map((r) => r.issued)).to.deep.equal([false, false]);
  });

  it('records bank transfers typed the German way: partial payment, full payment, overpayment flagged', async () => {
    env.clock.set('2027-02-21T09:00:00Z'); // h/money: a payment is never dated after today
    const inv = (await env.db('invoices').where({ number: '2027-0001' }).first())!;
    const url = `/treasurer/invoices/${inv.id}`;
    const bad = await treasurer.submit(url, { date: '2027-01-20', amount: 'zwölf', reference: 'x' }, `${url}/payments`);
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('Bitte einen Betrag angeben, z. B. 1.200,00.');
    let res = await treasurer.submit(url, { date: '2027-01-20', amount: '1.000,00', reference: '2027-0001 Teilzahlung' }, `${url}/payments`);
    expect(res.status).to.equal(303);
    let now = await env.ctx.dues.get(inv.id);
    expect(now).to.include({ status: 'partially_paid', paidCents: 100000, openCents: 150000 });
    res = await treasurer.submit(url, { date: '20.02.2027', amount: '1.500,00', reference: '=SUM(1+1)' }, `${url}/payments`);
    expect(res.status).to.equal(303);
    now = await env.ctx.dues.get(inv.id);
    expect(now).to.include({ status: 'paid', paidCents: 250000, openCents: 0 });
    res = await treasurer.submit(url, { date: '2027-02-21', amount: '10', reference: 'doppelt' }, `${url}/payments`);
    expect(res.status).to.equal(303);
    const payments = await env.ctx.payments.forInvoice(inv.id);
    expect(payments.map((p) => [p.date, p.amountCents, p.overpayment])).to.deep.equal([['2027-01-20', 100000, false], ['2027-02-20', 150000, false], ['2027-02-21', 1000, true]]);
    const page = await treasurer.get(url);
    expect(page.text).to.contain('Überzahlung');
    expect(page.text).to.contain('bezahlt');
    env.clock.set('2027-01-05T09:00:00Z');
  });

  it('cancels an invoice only through a cancellation invoice with its own number; then a new invoice can be issued', async () => {
    const inv = (await env.db('invoices').where({ number: '2027-0002' }).first())!;
    const url = `/treasurer/invoices/${inv.id}`;
    const noReason = await treasurer.submit(url, { reason: '' }, `${url}/cancel`);
    expect(noReason.status).to.equal(422);
    const stripeCalls: number[] = [];
    // the Stripe sync the dues service was built with; its cancel recorded instead for this test
    const stripe = env.ctx.stripe;
    const cancelOnStripe = stripe.cancelOnStripe;
    stripe.cancelOnStripe = async (id: number) => { stripeCalls.push(id); };
    await env.db('invoices').where({ id: inv.id }).update({ stripe_invoice_id: 'in_test_2' });
    try {
      const res = await treasurer.submit(url, { reason: 'Falsche Mitgliedsart' }, `${url}/cancel`);
      expect(res.status).to.equal(303);
    } finally {
      stripe.cancelOnStripe = cancelOnStripe;
    }
    expect(stripeCalls).to.deep.equal([inv.id]);
    const orig = await env.ctx.dues.get(inv.id);
    expect(orig.status).to.equal('cancelled');
    const canc = await env.ctx.dues.get(orig.cancelledByInvoiceId!);
    expect(canc).to.include({ kind: 'cancellation', number: '2027-0004', amountCents: -7500, cancelsInvoiceId: inv.id, cancelsNumber: '2027-0002' });
    const mail = (await mails(env, 'dues_cancellation'))[0];
    expect(mail.to_address).to.equal('lee@ipf.example');
    expect(JSON.parse(mail.attachments!)[0].filename).to.equal('Cancellation-2027-0004.pdf');
    // cancelling twice is refused
    const again = await env.ctx.dues.cancelInvoice(actor, inv.id, 'nochmal').catch((e) => e);
    expect(again).to.have.property('code', 'already_cancelled');
    // a new invoice for that member and year
    const re = await treasurer.submit(url, {}, `${url}/reissue`);
    expect(re.status).to.equal(303);
    const fresh = (await env.db('invoices').where({ organisation_id: org.lab, year: 2027, kind: 'invoice' }).whereNot({ id: inv.id }).first())!;
    expect(fresh).to.include({ number: '2027-0005', amount_cents: 7500, status: 'open' });
    expect(re.headers.location).to.equal(`/treasurer/invoices/${fresh.id}`);
    // and only one
    expect((await env.ctx.dues.issueDuesInvoice(actor, org.lab, 2027)).issued).to.equal(false);
  });

  it('a category change after the run touches neither the frozen schedule nor issued invoices; it applies to later years', async () => {
    const cat = (await env.ctx.settings.category(cats.supporting))!;
    await env.ctx.settings.saveCategory(actor, { ...cat, feeRule: { type: 'fixed', amountCents: 40000 } });
    const s2027 = (await env.ctx.dues.feeSchedule(2027)).find((s) => s.categoryId === cats.supporting)!;
    expect(s2027.rule).to.deep.equal({ type: 'fixed', amountCents: 25000 });
    expect((await env.db('invoices').where({ number: '2027-0003' }).first())!.amount_cents).to.equal(2083);
    const res = await treasurer.submit('/treasurer/fees/2027', { year: '2027' }, '/treasurer/fees');
    expect(res.status).to.equal(303);
    expect((await treasurer.get('/treasurer/fees/2027')).text).to.contain('schon Rechnungen ausgestellt');
    expect((await env.ctx.dues.feeSchedule(2027)).find((s) => s.categoryId === cats.supporting)!.rule).to.deep.equal({ type: 'fixed', amountCents: 25000 });
    await env.ctx.dues.freezeFeeSchedule(actor, 2031);
    expect((await env.ctx.dues.feeSchedule(2031)).find((s) => s.categoryId === cats.supporting)!.rule).to.deep.equal({ type: 'fixed', amountCents: 40000 });
  });

  it('sends the first and second reminder at the configured days after the due date, once each, not for stopped invoices', async () => {
    // open 2027 invoices: 2027-0003 (december joiner) and 2027-0005 (reissued, due later); stop reminders on 2027-0005
    const stopped = (await env.db('invoices').where({ number: '2027-0005' }).first())!;
    const s = await treasurer.submit(`/treasurer/invoices/${stopped.id}`, { stopped: '1' }, `/treasurer/invoices/${stopped.id}/reminders`);
    expect(s.status).to.equal(303);
    const before = (await mails(env)).length;
    env.clock.set('2027-02-17T09:00:00Z'); // due 04.02. + 13 days
    expect(await env.ctx.reminders.sendDue()).to.deep.equal({ first: 0, second: 0 });
    env.clock.set('2027-02-18T09:00:00Z'); // + 14 days
    const r1 = await env.ctx.reminders.sendDue();
    expect(r1.first).to.be.greaterThan(0);
    const first = (await mails(env, 'dues_reminder_1')).filter((m) => m.subject.includes('2027-0003'));
    expect(first).to.have.length(1);
    expect(first[0].subject).to.contain('Zahlungserinnerung');
    expect(first[0].text_body).to.contain('20,83');
    expect(await env.ctx.reminders.sendDue()).to.deep.equal({ first: 0, second: 0 });
    env.clock.set('2027-03-04T09:00:00Z'); // + 28 days
    const lines: string[] = [];
    expect(await runRemindersCli(env.ctx, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('')).to.match(/[1-9]\d* second/);
    const second = (await mails(env, 'dues_reminder_2')).filter((m) => m.subject.includes('2027-0003'));
    expect(second).to.have.length(1);
    expect(second[0].subject).to.contain('Zweite Zahlungserinnerung');
    const all = await mails(env);
    expect(all.slice(before).some((m) => m.subject.includes('2027-0005'))).to.equal(false);
    expect(all.slice(before).some((m) => m.subject.includes('2027-0001'))).to.equal(false); // paid
    const overdue = await treasurer.get('/treasurer/overdue');
    expect(overdue.text).to.contain('2027-0003');
    expect(overdue.text).not.to.contain('2027-0001');
  });

  it('shows the dashboard numbers of a year with a chart of payments per month', async () => {
    const d = await env.ctx.dues.dashboard(2027);
    // counting: 2027-0001 (2,500 paid 2,510), 2027-0003 (20.83 open, overdue), 2027-0005 (75 open, due 04.02.? no: issued 05.01. → due 04.02.)
    expect(d.invoiced).to.deep.equal({ count: 3, cents: 250000 + 2083 + 7500 });
    expect(d.paid).to.deep.equal({ count: 1, cents: 251000 });
    expect(d.open).to.deep.equal({ count: 2, cents: 2083 + 7500 });
    expect(d.overdue).to.deep.equal({ count: 2, cents: 2083 + 7500 });
    expect(d.cancelled.count).to.equal(1);
    expect(d.months.find((m) => m.month === '2027-01')!.cents).to.equal(100000);
    expect(d.months.find((m) => m.month === '2027-02')!.cents).to.equal(151000);
    const page = await treasurer.get('/treasurer?year=2027');
    expect(page.status).to.equal(200);
    expect(page.text).to.contain(eur('2.595,83')); // invoiced
    expect(page.text).to.contain(eur('2.510,00')); // paid
    expect(page.text).to.contain(eur('95,83')); // open and overdue
    expect(page.text).to.match(/<svg[^>]*role="img"/);
    expect((page.text.match(/<rect /g) ?? []).length).to.equal(12);
    const list = await treasurer.get('/treasurer/invoices?year=2027&status=paid');
    expect(list.text).to.contain('2027-0001');
    expect(list.text).not.to.contain('2027-0003');
    const search = await treasurer.get('/treasurer/invoices?q=polymer');
    expect(search.text).to.contain('2027-0002');
    expect(search.text).to.contain('2027-0005');
    expect(search.text).not.to.contain('2027-0001');
    const pdf = await treasurer.get(`/treasurer/invoices/${(await env.db('invoices').where({ number: '2027-0001' }).first())!.id}/pdf`);
    expect(pdf.headers['content-type']).to.contain('application/pdf');
  });

  it('exports invoices and payments as CSV for German Excel with DATEV-style columns, formulas neutralised', async () => {
    const inv = await treasurer.agent.get('/treasurer/export/invoices-2027.csv').buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = []; res.on('data', (c: Buffer) => chunks.push(c)); res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(inv.status).to.equal(200);
    const buf = inv.body as Buffer;
    expect([...buf.subarray(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
    const lines = buf.toString('utf8').slice(1).trim().split('\r\n');
    expect(lines[0]).to.equal('Belegdatum;Belegnummer;Mitglied;Betrag;Konto;Gegenkonto;Zahlungsdatum;Art;Status;Buchungstext');
    const first = lines.find((l) => l.includes(';2027-0001;'))!.split(';');
    expect(first.slice(0, 7)).to.deep.equal(['05.01.2027', '2027-0001', 'M-0001 Harzer Spezialchemie GmbH', '2500,00', '10001', '4000', '21.02.2027']);
    const storno = lines.find((l) => l.includes(';2027-0004;'))!.split(';');
    expect(storno[3]).to.equal('-75,00');
    expect(storno[7]).to.equal('Stornorechnung');
    const p2 = await treasurer.get('/treasurer/export/payments-2027.csv');
    const plines = p2.text.replace(/^\ufeff/, '').trim().split('\r\n');
    expect(plines).to.have.length(4);
    expect(plines[2].split(';').slice(0, 6)).to.deep.equal(['20.02.2027', '2027-0001', 'M-0001 Harzer Spezialchemie GmbH', '1500,00', '1800', '10001']);
    expect(plines[2]).to.contain(";'=SUM(1+1)");
    expect(await env.db('audit_log').where({ action: 'invoices.exported' }).first()).to.be.an('object');
  });

  it('lets a member see and download only their own organisation\'s invoices in the portal', async () => {
    mountBeforeNotFound(env.app, '/portal', portalInvoicesRouter(env.ctx));
    const memberUser = await env.ctx.users.create(actor, { email: 'buchhaltung@harzer.example', displayName: 'Buchhaltung', roles: ['member'], password: PASSWORD });
    await env.db('contacts').where({ email: 'buchhaltung@harzer.example' }).update({ user_id: memberUser });
    const member = new Browser(env.app);
    await member.login('buchhaltung@harzer.example', PASSWORD);
    const list = await member.get('/portal/invoices');
    expect(list.status).to.equal(200);
    expect(list.text).to.contain('2027-0001');
    expect(list.text).not.to.contain('2027-0003');
    const own = (await env.db('invoices').where({ number: '2027-0001' }).first())!;
    const other = (await env.db('invoices').where({ number: '2027-0003' }).first())!;
    const pdf = await member.get(`/portal/invoices/${own.id}.pdf`);
    expect(pdf.status).to.equal(200);
    expect(pdf.headers['content-type']).to.contain('application/pdf');
    expect((await member.get(`/portal/invoices/${other.id}.pdf`)).status).to.equal(404);
    expect((await env.ctx.dues.invoicesForOrganisation(org.big)).map((i) => i.number)).to.include('2027-0001').and.not.include('2027-0003');
  });

  it('lets only the treasurer act; admin reads; board sees the dashboard only; members and anonymous get nothing', async () => {
    const inv = (await env.db('invoices').where({ number: '2027-0003' }).first())!;
    const anon = await request(env.app).get('/treasurer');
    expect(anon.status).to.equal(303);
    expect(anon.headers.location).to.equal('/login');
    const board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    expect((await board.get('/treasurer?year=2027')).status).to.equal(200);
    expect((await board.get('/treasurer/invoices')).status).to.equal(403);
    expect((await board.get('/treasurer/export/invoices-2027.csv')).status).to.equal(403);
    const admin = new Browser(env.app);
    await admin.login('admin@test.example', PASSWORD);
    expect((await admin.get(`/treasurer/invoices/${inv.id}`)).status).to.equal(200);
    const token = Browser.csrfFrom((await admin.get(`/treasurer/invoices/${inv.id}`)).text);
    const post = await admin.agent.post(`/treasurer/invoices/${inv.id}/payments`).type('form').send({ _csrf: token, date: '2027-03-01', amount: '20,83' });
    expect(post.status).to.equal(403);
    const member = new Browser(env.app);
    await member.login('buchhaltung@harzer.example', PASSWORD);
    expect((await member.get('/treasurer')).status).to.equal(403);
    expect((await member.get(`/treasurer/invoices/${inv.id}/pdf`)).status).to.equal(403);
    expect((await env.ctx.dues.get(inv.id)).paidCents).to.equal(0);
  });

  it('runs the dues run from the command line with a progress bar', async () => {
    const out: string[] = [];
    expect(await runDuesCli(env.ctx, 2032, (s) => out.push(s))).to.equal(0);
    const text = out.join('');
    expect(text).to.contain('Fee schedule 2032 set');
    expect(text).to.match(/\[#{30}\] \d+\/\d+/);
    expect(text).to.match(/Issued \d+ invoice\(s\)/);
    expect(Number((await env.db('invoices').where({ year: 2032 }).count({ n: '*' }).first())!.n)).to.be.greaterThan(50);
    const bad: string[] = [];
    expect(await runDuesCli(env.ctx, 1999, (s) => bad.push(s))).to.equal(1);
    expect(bad.join('')).to.contain('--year');
  });
});

describe('dues with Stripe on: the e-mail waits for the payment link', function () {
  this.timeout(30_000);
  let env: TestEnv;
  before(async () => {
    env = await createTestEnv({ gateway: { ...disabledGateway, enabled: true } });
    env.clock.set('2027-01-05T09:00:00Z');
    // invoices are issued only with the association's tax number and tax note (§ 14 Abs. 4 UStG)
    await env.ctx.settings.updateAssociation(actor, { ...(await env.ctx.settings.association()), taxNumber: '21/270/12345' });
  });
  after(async () => env.close());

  it('pushes each invoice to Stripe after it committed, mails it with the pay link, and retries what Stripe refused on the next run', async () => {
    const cats = await makeCategories(env.ctx);
    const a = await makeOrg(env.ctx, { name: 'Alpha GmbH', categoryId: cats.research, joinDate: '2020-01-01', contacts: [{ name: 'A', email: 'a@alpha.example', isBilling: true }] });
    const b = await makeOrg(env.ctx, { name: 'Beta GmbH', categoryId: cats.research, joinDate: '2020-01-01', contacts: [{ name: 'B', email: 'b@beta.example', isBilling: true }] });
    let failFor: number | null = b;
    const pushed: number[] = [];
    // the Stripe sync the dues service was built with (its gateway says Stripe is on); its push replaced
    env.ctx.stripe.pushInvoice = async (id: number) => {
      const row = (await env.db('invoices').where({ id }).first())!;
      expect(row.mailed_at).to.equal(null); // local invoice committed, not yet mailed
      if (row.organisation_id === failFor) throw new Error('stripe 503');
      pushed.push(id);
      await env.db('invoices').where({ id }).update({ stripe_invoice_id: `in_${id}`, hosted_invoice_url: `https://pay.example/in_${id}` });
    };
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    const { jobId } = await env.ctx.duesRuns.start(actor, 2027);
    const job = await env.ctx.jobs.waitFor(jobId);
    expect(job!.result).to.include({ issued: 2, failed: 1 });
    let m = await mails(env, 'dues_invoice');
    expect(m.map((x) => x.to_address)).to.deep.equal(['a@alpha.example']);
    expect(m[0].text_body).to.contain(`https://pay.example/in_${pushed[0]}`);
    failFor = null;
    const second = await env.ctx.duesRuns.start(actor, 2027);
    expect((await env.ctx.jobs.waitFor(second.jobId))!.result).to.include({ issued: 0, failed: 0 });
    m = await mails(env, 'dues_invoice');
    expect(m.map((x) => x.to_address)).to.deep.equal(['a@alpha.example', 'b@beta.example']);
    expect(m[1].html_body).to.contain('https://pay.example/in_');
    expect(Number((await env.db('invoices').count({ n: '*' }).first())!.n)).to.equal(2);
    void a;
  });
});
