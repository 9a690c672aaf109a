import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { makeOrg, TEST_ACTOR } from './assemblies.fixtures.ts';
import { LateNoticeError } from '../../server/assemblies/assemblies.model.ts';
import { runInvitationsCli } from '../../server/cli/assemblies.ts';
import { DEFAULT_RULES } from '../../server/settings/settings.schemas.ts';

const FORM = {
  title: 'Ordentliche Mitgliederversammlung 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: '120',
  format: 'in_person', location: 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar', participationInfo: '',
};
const START = '2026-11-25T09:00:00Z';

/** The message shown next to a form field (field partial: <small id="e-NAME">). */
function fieldError(html: string, name: string): string | undefined {
  return html.match(new RegExp(`id="e-${name}" class="field-error">([^<]*)<`))?.[1]?.replace(/&quot;/g, '"').replace(/&#x27;/g, "'");
}

describe('assemblies: notice for every change after the invitation (issue 10, item 3)', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let board: Browser;

  before(async () => {
    env = await createTestEnv();
    const cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'a@harz.example' });
    await makeOrg(env.ctx, { name: 'Clausthal Research Institute', categoryId: cats.research, repEmail: 'b@tu.example', repLocale: 'en' });
    await makeOrg(env.ctx, { name: 'Oker Pigmente AG', categoryId: cats.company, repEmail: 'c@oker.example' });
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  afterEach(() => env.clock.set(START));
  after(async () => env.close());

  /** An assembly on 19.12.2026 with two items, invited on 25.11.2026 (in time: last day 04.12.). */
  async function invited(title: string, form: Record<string, string> = {}): Promise<number> {
    env.clock.set(START);
    const res = await board.submit('/board/assemblies/new', { ...FORM, ...form, title }, '/board/assemblies');
    expect(res.status).to.equal(303);
    const id = Number(res.headers.location.split('/').pop());
    for (const item of [{ title: 'Bericht des Vorstands', kind: 'report' }, { title: 'Satzungsänderung § 5', kind: 'bylaws_change', proposedText: '§ 5 lautet künftig: …' }]) {
      await board.submit(`/board/assemblies/${id}`, { description: '', proposedText: '', ...item }, `/board/assemblies/${id}/agenda`);
    }
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);
    return id;
  }

  async function mails(id: number, kind: string): Promise<number> {
    const ids = (await env.ctx.assemblies.sending.invitations(id)).map((i) => i.id);
    const [{ n }] = await env.db('mail_messages').where({ template: `assembly_${kind}` }).whereIn('related_id', ids).count({ n: '*' });
    return Number(n);
  }

  async function overridesAudit(id: number) {
    return env.ctx.audit.list({ entityType: 'assembly', entityId: id, action: 'assembly.late_notice_override' });
  }

  async function lateItems(id: number) {
    return (await env.ctx.assemblies.assembly.agenda(id)).map((i) => [i.title, i.lateNotice]);
  }

  it('refuses to move the assembly to a date whose notice has passed; with a reason the update is sent, the reason audited and every item marked', async () => {
    const id = await invited('Verlegt');
    const before = await env.ctx.assemblies.assembly.get(id);
    env.clock.set('2026-12-01T09:00:00Z'); // for 12.12. the last day was 27.11.
    const refused = await board.submit(`/board/assemblies/${id}/edit`, { ...FORM, title: 'Verlegt', date: '2026-12-12' }, `/board/assemblies/${id}`);
    expect(refused.status).to.equal(422);
    expect(fieldError(refused.text, 'date')).to.contain('Die Einladungsfrist ist für den geänderten Termin verpasst: Letzter Tag für den Versand der Änderung war der 27.11.2026 (14 Tage Frist).');
    expect(fieldError(refused.text, 'noticeReason')).to.contain('Beschlüsse zu nicht ordnungsgemäß angekündigten Punkten sind nichtig (nicht bloß anfechtbar).');
    expect(refused.text).to.contain('value="2026-12-12"'); // what was typed is kept
    // nothing written, nothing sent
    const still = await env.ctx.assemblies.assembly.get(id);
    expect([still.startsAt, still.sequence, still.updatePending]).to.deep.equal([before.startsAt, before.sequence, false]);
    expect(await overridesAudit(id)).to.have.length(0);
    expect(await mails(id, 'update')).to.equal(0);

    const ok = await board.submit(`/board/assemblies/${id}/edit`, { ...FORM, title: 'Verlegt', date: '2026-12-12', noticeReason: 'Saal am 19.12. nicht verfügbar' }, `/board/assemblies/${id}`);
    expect(ok.status).to.equal(303);
    const moved = await env.ctx.assemblies.assembly.get(id);
    expect(moved.local.date).to.equal('2026-12-12');
    expect(moved.sequence).to.equal(before.sequence + 1);
    const audit = await overridesAudit(id);
    expect(audit).to.have.length(1);
    expect(audit[0].after).to.include({ change: 'update', reason: 'Saal am 19.12. nicht verfügbar', lastSendDay: '2026-11-27', sendDay: '2026-12-01' });
    const page = await board.get(`/board/assemblies/${id}`);
    expect(page.text).to.contain('Die verspätete Änderung wurde beim Speichern begründet');
    expect(page.text).to.contain('Saal am 19.12. nicht verfügbar');
    // the recorded reason covers the sending: no second reason asked
    const sent = await board.submit(`/board/assemblies/${id}`, {}, `/board/assemblies/${id}/send-update`);
    expect(sent.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(id);
    expect(await mails(id, 'update')).to.equal(3);
    expect(await lateItems(id)).to.deep.equal([['Bericht des Vorstands', 'update'], ['Satzungsänderung § 5', 'update']]);
    const results = await board.get(`/board/assemblies/${id}/results`);
    expect(results.text).to.contain('nicht fristgerecht angekündigt');
    expect(results.text).to.contain('Beschlüsse zu diesem Punkt sind nichtig (nicht bloß anfechtbar)');

    // afterwards: the minutes sent to the members say it next to the resolution
    env.clock.set('2026-12-12T20:00:00Z');
    const inv = (await env.ctx.assemblies.sending.invitations(id))[0];
    await env.ctx.assemblies.day.checkIn(TEST_ACTOR, id, inv.organisationId, 'in', 'Anna Berg');
    const bylaws = (await env.ctx.assemblies.assembly.agenda(id))[1];
    await env.ctx.assemblies.day.recordResolution(TEST_ACTOR, id, bylaws.id, { yes: '1', no: '0', abstain: '0', invalid: '0', absentConsents: '0', note: '', reason: '' });
    await env.ctx.assemblies.minutes.save(TEST_ACTOR, id, 'Protokoll der verlegten Versammlung');
    await env.ctx.assemblies.minutes.send(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);
    const minutes = await env.db('mail_messages').where({ template: 'assembly_minutes', to_address: 'a@harz.example' }).first();
    expect(minutes?.text_body).to.match(/Satzungsänderung § 5[^\n]*Nicht fristgerecht angekündigt: Beschluss nichtig\./);
  });

  it('refuses a late change of place next to the field; a title change needs no notice', async () => {
    const id = await invited('Ortswechsel');
    env.clock.set('2026-12-10T09:00:00Z'); // last day for 19.12. was 04.12.
    const refused = await board.submit(`/board/assemblies/${id}/edit`, { ...FORM, title: 'Ortswechsel', location: 'TU Clausthal, Aula' }, `/board/assemblies/${id}`);
    expect(refused.status).to.equal(422);
    expect(fieldError(refused.text, 'location')).to.contain('letzter Tag für den Versand der Änderung war der 04.12.2026'.replace('letzter', 'Letzter'));
    expect(fieldError(refused.text, 'date')).to.equal(undefined);
    expect((await env.ctx.assemblies.assembly.get(id)).location).to.equal(FORM.location);
    // the service refuses it on every path (CLI, later ones), not only the form
    let caught: unknown;
    try {
      await env.ctx.assemblies.assembly.update(TEST_ACTOR, id, { ...FORM, title: 'Ortswechsel', location: 'TU Clausthal, Aula', kind: 'ordinary', format: 'in_person', durationMinutes: 120, copyAllContacts: false, timeOffset: undefined });
    } catch (err) { caught = err; }
    expect(caught).to.be.instanceOf(LateNoticeError);
    expect((await env.ctx.assemblies.assembly.get(id)).location).to.equal(FORM.location);
    const title = await board.submit(`/board/assemblies/${id}/edit`, { ...FORM, title: 'Ortswechsel (neuer Titel)' }, `/board/assemblies/${id}`);
    expect(title.status).to.equal(303);
    expect(await overridesAudit(id)).to.have.length(0);
  });

  it('refuses an update saved in time but sent after the last day, with the message next to the reason; sent with a reason', async () => {
    const id = await invited('Spät gesendet');
    env.clock.set('2026-12-02T09:00:00Z');
    const saved = await board.submit(`/board/assemblies/${id}/edit`, { ...FORM, title: 'Spät gesendet', location: 'TU Clausthal, Aula' }, `/board/assemblies/${id}`);
    expect(saved.status).to.equal(303); // in time: no reason asked
    env.clock.set('2026-12-08T09:00:00Z');
    const page = await board.get(`/board/assemblies/${id}`);
    expect(page.text).to.contain('Die Einladungsfrist ist für den geänderten Termin verpasst (letzter Tag: 04.12.2026, 14 Tage Frist)');
    const refused = await board.submit(`/board/assemblies/${id}`, { updateReason: '' }, `/board/assemblies/${id}/send-update`);
    expect(refused.status).to.equal(422);
    expect(fieldError(refused.text, 'updateReason')).to.contain('Letzter Tag für den Versand der Änderung war der 04.12.2026');
    expect(await mails(id, 'update')).to.equal(0);
    expect((await env.ctx.assemblies.assembly.get(id)).updatePending).to.equal(true);
    expect(await lateItems(id)).to.deep.equal([['Bericht des Vorstands', null], ['Satzungsänderung § 5', null]]);

    const ok = await board.submit(`/board/assemblies/${id}`, { updateReason: 'Wasserschaden im Saal' }, `/board/assemblies/${id}/send-update`);
    expect(ok.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(id);
    expect(await mails(id, 'update')).to.equal(3);
    const audit = await overridesAudit(id);
    expect(audit).to.have.length(1);
    expect(audit[0].after).to.include({ change: 'update', reason: 'Wasserschaden im Saal' });
    expect(audit[0].actorLabel).to.equal('board');
    expect(await lateItems(id)).to.deep.equal([['Bericht des Vorstands', 'update'], ['Satzungsänderung § 5', 'update']]);
  });

  it('refuses a late supplementary agenda; with a reason it is sent and the new item marked', async () => {
    const id = await invited('Ergänzung');
    env.clock.set('2026-12-03T09:00:00Z'); // still in time: adding needs no reason
    const add = await board.submit(`/board/assemblies/${id}`, { title: 'Satzungsänderung § 9', kind: 'bylaws_change', description: '', proposedText: '§ 9 neu' }, `/board/assemblies/${id}/agenda`);
    expect(add.status).to.equal(303);
    env.clock.set('2026-12-11T09:00:00Z'); // 8 days before: the case
    const page = await board.get(`/board/assemblies/${id}`);
    expect(page.text).to.contain('Die Frist für die Ergänzung der Tagesordnung ist verpasst (letzter Tag: 04.12.2026, 14 Tage Frist)');
    expect(page.text).to.contain('14 Tage wie die Einladung (die Satzung sieht keine eigene Frist vor)');
    const refused = await board.submit(`/board/assemblies/${id}`, { supplementReason: '  ' }, `/board/assemblies/${id}/supplement`);
    expect(refused.status).to.equal(422);
    expect(fieldError(refused.text, 'supplementReason')).to.contain('Die Frist für die Ergänzung der Tagesordnung ist verpasst: Letzter Tag für den Versand war der 04.12.2026 (14 Tage Frist).');
    expect(await mails(id, 'supplement')).to.equal(0);
    expect((await env.ctx.assemblies.assembly.agenda(id))[2].supplementSentAt).to.equal(null);
    // the service refuses it on every path
    let caught: unknown;
    try { await env.ctx.assemblies.sending.sendSupplement(TEST_ACTOR, id); } catch (err) { caught = err; }
    expect(caught).to.be.instanceOf(LateNoticeError);

    const ok = await board.submit(`/board/assemblies/${id}`, { supplementReason: 'Auflage des Registergerichts' }, `/board/assemblies/${id}/supplement`);
    expect(ok.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(id);
    expect(await mails(id, 'supplement')).to.equal(3);
    expect(await lateItems(id)).to.deep.equal([['Bericht des Vorstands', null], ['Satzungsänderung § 5', null], ['Satzungsänderung § 9', 'supplement']]);
    const audit = await overridesAudit(id);
    expect(audit).to.have.length(1);
    expect(audit[0].after).to.include({ change: 'supplement', reason: 'Auflage des Registergerichts', lastSendDay: '2026-12-04', sendDay: '2026-12-11' });
    const shown = await board.get(`/board/assemblies/${id}`);
    expect(shown.text).to.contain('Verspätete Ergänzung der Tagesordnung, freigegeben von board');
    expect(shown.text).to.contain('nicht fristgerecht angekündigt');
  });

  it('refuses a new agenda item after the period (form and motions); with a reason it is added, marked and later sent without asking again', async () => {
    const id = await invited('Neuer Punkt');
    env.clock.set('2026-12-10T09:00:00Z');
    const item = { title: 'Auflösung des Arbeitskreises', kind: 'resolution', description: 'kurzfristig', proposedText: '' };
    const refused = await board.submit(`/board/assemblies/${id}`, item, `/board/assemblies/${id}/agenda`);
    expect(refused.status).to.equal(422);
    expect(fieldError(refused.text, 'noticeReason')).to.contain('Für einen neuen Tagesordnungspunkt ist die Frist verpasst: Letzter Tag für die Ankündigung war der 04.12.2026 (14 Tage Frist).');
    expect(refused.text).to.contain('value="Auflösung des Arbeitskreises"');
    expect(await env.ctx.assemblies.assembly.agenda(id)).to.have.length(2);
    expect(await overridesAudit(id)).to.have.length(0);

    const ok = await board.submit(`/board/assemblies/${id}`, { ...item, noticeReason: 'Dringlichkeitsantrag' }, `/board/assemblies/${id}/agenda`);
    expect(ok.status).to.equal(303);
    expect(await lateItems(id)).to.deep.equal([['Bericht des Vorstands', null], ['Satzungsänderung § 5', null], ['Auflösung des Arbeitskreises', 'item']]);
    const audit = await overridesAudit(id);
    expect(audit[0].after).to.include({ change: 'item', reason: 'Dringlichkeitsantrag', lastSendDay: '2026-12-04', sendDay: '2026-12-10' });
    // its reason is recorded: the supplement with it goes out without a second one
    const sent = await board.submit(`/board/assemblies/${id}`, {}, `/board/assemblies/${id}/supplement`);
    expect(sent.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(id);
    expect(await mails(id, 'supplement')).to.equal(3);
    expect(await lateItems(id)).to.deep.equal([['Bericht des Vorstands', null], ['Satzungsänderung § 5', null], ['Auflösung des Arbeitskreises', 'item']]);

    // a member's motion put on the agenda late: refused without a reason, on the page
    const inv = (await env.ctx.assemblies.sending.invitations(id))[0];
    await env.db('assembly_motions').insert({ assembly_id: id, organisation_id: inv.organisationId, title: 'Antrag auf Beitragssenkung', body: 'Senkung um 10 %', submitted_by: '', via: 'link', created_at: '2026-12-01T10:00:00.000Z' });
    const motion = (await env.db('assembly_motions').where({ assembly_id: id }).first())!;
    const answers = await board.get(`/board/assemblies/${id}/answers`);
    expect(answers.text).to.contain('Begründung für den verspäteten Tagesordnungspunkt');
    const noReason = await board.submit(`/board/assemblies/${id}/answers`, {}, `/board/assemblies/${id}/motions/${motion.id}/agenda`);
    expect((await board.get(noReason.headers.location)).text).to.contain('Für einen neuen Tagesordnungspunkt ist die Frist verpasst');
    expect(await env.ctx.assemblies.assembly.agenda(id)).to.have.length(3);
    await board.submit(`/board/assemblies/${id}/answers`, { noticeReason: 'Antrag fristgerecht gestellt, Satzung erlaubt Ergänzung' }, `/board/assemblies/${id}/motions/${motion.id}/agenda`);
    expect((await lateItems(id))[3]).to.deep.equal(['Antrag auf Beitragssenkung', 'item']);
  });

  it('lets every change in time through without a reason, with the bylaws\' own supplement period shown in words', async () => {
    await env.ctx.settings.updateRules(TEST_ACTOR, { ...(await env.ctx.settings.rules()), supplementNoticeOwn: true, supplementNoticeDays: 7 });
    try {
      const id = await invited('Alles rechtzeitig');
      env.clock.set('2026-12-08T09:00:00Z'); // invitation notice for 19.12. passed, the 7 days for supplements not (last day 11.12.)
      const page = await board.get(`/board/assemblies/${id}`);
      expect(page.text).to.contain('7 Tage nach der Satzung, gerechnet ab dem Tag nach dem Versand');
      expect(page.text).to.contain('bis zum 11.12.2026 versandt sein');
      const add = await board.submit(`/board/assemblies/${id}`, { title: 'Wahl der Kassenprüfer', kind: 'election', description: '', proposedText: '' }, `/board/assemblies/${id}/agenda`);
      expect(add.status).to.equal(303);
      const sup = await board.submit(`/board/assemblies/${id}`, {}, `/board/assemblies/${id}/supplement`);
      expect(sup.status).to.equal(303);
      await env.ctx.assemblies.jobs.idle(id);
      expect(await mails(id, 'supplement')).to.equal(3);
      // moving the assembly later re-checks against the new date: 20.01.2027 → last day 05.01.2027, in time
      const moved = await board.submit(`/board/assemblies/${id}/edit`, { ...FORM, title: 'Alles rechtzeitig', date: '2027-01-20' }, `/board/assemblies/${id}`);
      expect(moved.status).to.equal(303);
      const upd = await board.submit(`/board/assemblies/${id}`, {}, `/board/assemblies/${id}/send-update`);
      expect(upd.status).to.equal(303);
      await env.ctx.assemblies.jobs.idle(id);
      expect(await mails(id, 'update')).to.equal(3);
      expect((await lateItems(id)).every(([, late]) => late === null)).to.equal(true);
      expect(await overridesAudit(id)).to.have.length(0);
    } finally {
      await env.ctx.settings.updateRules(TEST_ACTOR, { ...DEFAULT_RULES });
    }
  });

  it('refuses a late invitation on the command line too; with --override-reason every item is marked', async () => {
    env.clock.set(START);
    const res = await board.submit('/board/assemblies/new', { ...FORM, title: 'Per CLI', date: '2026-12-06' }, '/board/assemblies');
    const id = Number(res.headers.location.split('/').pop());
    await board.submit(`/board/assemblies/${id}`, { title: 'Wahl', kind: 'election', description: '', proposedText: '' }, `/board/assemblies/${id}/agenda`);
    let message = '';
    try { await runInvitationsCli(env.ctx, id, () => undefined); } catch (err) { message = (err as Error).message; } // why: the CLI throws Error objects
    expect(message).to.contain('Die Einladungsfrist ist verpasst (letzter Tag: 2026-11-21');
    expect((await env.ctx.assemblies.assembly.get(id)).status).to.equal('draft');
    expect(await env.ctx.assemblies.sending.invitations(id)).to.have.length(0);
    await runInvitationsCli(env.ctx, id, () => undefined, { overrideReason: 'Vorstand zurückgetreten' });
    expect((await env.ctx.assemblies.assembly.get(id)).status).to.equal('invited');
    expect(await lateItems(id)).to.deep.equal([['Wahl', 'invitation']]);
  });
});
