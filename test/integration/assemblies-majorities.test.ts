import { expect } from 'chai';
import ICAL from 'ical.js';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { makeOrg, linkFor, TEST_ACTOR } from './assemblies.fixtures.ts';

/** The text of the error shown under a field of an item's result form (count-field partial). */
function fieldError(html: string, id: string): string | undefined {
  const m = html.match(new RegExp(`<small id="e-${id}" class="field-error">([^<]*)</small>`));
  return m?.[1];
}

/** The text of one agenda item's <article> on the results page. */
function article(html: string, itemId: number): string {
  const start = html.indexOf(`<article id="item-${itemId}">`);
  if (start < 0) throw new Error(`no article for item ${itemId}`);
  return html.slice(start, html.indexOf('</article>', start));
}

const decode = (s: string) => s.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;/g, "'");

describe('assemblies: majorities by kind, checked counts, locking and amendments, times in Europe/Berlin', function () {
  this.timeout(90_000);
  let env: TestEnv;
  let board: Browser;
  let other: Browser;
  let assemblyId: number;
  const orgs: number[] = [];
  const item: Record<string, number> = {};

  before(async () => {
    env = await createTestEnv();
    const cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeUser(env.ctx, 'board2@test.example', ['board']);
    for (let i = 1; i <= 13; i++) orgs.push(await makeOrg(env.ctx, { name: `Mitglied ${i} GmbH`, categoryId: cats.company, repEmail: `m${i}@m.example` }));
    orgs.push(await makeOrg(env.ctx, { name: 'Ohne Mail KG', categoryId: cats.company })); // a letter
    await env.ctx.settings.updateRules(TEST_ACTOR, { ...(await env.ctx.settings.rules()), quorumPercent: 50 });
    assemblyId = await env.ctx.assemblies.assembly.create(TEST_ACTOR, {
      title: 'MV 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 120, format: 'in_person',
      location: 'Goslar', participationInfo: '', copyAllContacts: false,
    });
    const add = async (key: string, title: string, kind: 'report' | 'resolution' | 'election' | 'bylaws_change' | 'purpose_change' | 'dissolution') => {
      item[key] = await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, assemblyId, { title, kind, description: '', proposedText: kind.endsWith('_change') ? '§ 5 neu' : '' });
    };
    await add('report', 'Bericht', 'report');
    await add('discharge', 'Entlastung', 'resolution');
    await add('bylaws', 'Satzungsänderung § 5', 'bylaws_change');
    await add('purpose', 'Zweckänderung', 'purpose_change');
    await add('dissolution', 'Auflösung', 'dissolution');
    await add('election', 'Wahl der Kassenprüfer', 'election');
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, assemblyId);
    await env.ctx.assemblies.jobs.idle(assemblyId);
    // answers: one RSVP, one proxy (Mitglied 13 to Mitglied 12), one motion
    const link = (await linkFor(env.ctx, 'm13@m.example')).slice(3);
    const r = await env.ctx.assemblies.answers.resolveLink(link);
    if (!r.ok) throw new Error('link');
    await env.ctx.assemblies.answers.rsvp(TEST_ACTOR, r.invitation, { attending: 'no', peopleCount: 0, names: '' }, 'link');
    await env.ctx.assemblies.answers.giveProxy(TEST_ACTOR, r.invitation, orgs[11], 'link');
    await env.ctx.assemblies.answers.submitMotion(TEST_ACTOR, r.invitation, { title: 'Antrag', body: 'Text', submittedBy: 'Rep' }, 'link');
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    other = new Browser(env.app);
    await other.login('board2@test.example', PASSWORD);
  });
  after(async () => env.close());

  /** Checks in the first `n` members (Mitglied 12 holds Mitglied 13's proxy). */
  async function checkIn(n: number) {
    for (const o of orgs.slice(0, n)) await env.ctx.assemblies.day.checkIn(TEST_ACTOR, assemblyId, o, 'in', `Person ${o}`);
  }

  const record = (b: Browser, itemId: number, data: Record<string, string>) =>
    b.submit(`/board/assemblies/${assemblyId}/results`, data, `/board/assemblies/${assemblyId}/resolutions/${itemId}`);

  it('shows the majorities of the BGB on the settings page, in words, and keeps an edited one', async () => {
    await makeUser(env.ctx, 'admin@test.example', ['admin']);
    const admin = new Browser(env.app);
    await admin.login('admin@test.example', PASSWORD);
    const page = await admin.get('/admin/settings');
    expect(page.text).to.contain('Erforderliche Mehrheiten je Art des Tagesordnungspunkts');
    expect(decode(page.text)).to.match(/<option value="cast:3\/4:ge" selected>mindestens ¾ der abgegebenen Stimmen/);
    expect(page.text).to.contain('BGB: Zustimmung aller stimmberechtigten Mitglieder; abwesende Mitglieder können in Textform zustimmen.');
    // stored rules from before majorities existed read as the BGB's
    const before = await env.ctx.settings.rules();
    const { majorities: _m, ...older } = before;
    await env.db('settings').where({ key: 'rules' }).update({ value: JSON.stringify(older) });
    const r = await env.db.transaction((trx) => env.ctx.settings.rules(trx)); // in a transaction: not from the cache
    expect(r.majorities.bylaws_change).to.deep.equal({ num: 3, den: 4, strict: false, base: 'cast', absentConsents: false });
    expect(r.majorities.purpose_change).to.include({ num: 1, den: 1, base: 'members', absentConsents: true });
    // the admin sets ⅔ for a bylaws change, then back
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...(await env.ctx.settings.association()), ...older })) {
      if (typeof v === 'boolean') { if (v) values[k] = '1'; } else values[k] = String(v);
    }
    const saved = await admin.submit('/admin/settings', { ...values, majority_bylaws_change: 'cast:2/3:ge' });
    expect(saved.status, (saved.text.match(/field-error">[^<]*/g) ?? []).join()).to.equal(303);
    expect((await env.ctx.settings.rules()).majorities.bylaws_change).to.include({ num: 2, den: 3, strict: false, base: 'cast' });
    expect((await env.ctx.settings.rules()).majorities.resolution).to.include({ num: 1, den: 2, strict: true });
    const bad = await admin.submit('/admin/settings', { ...values, majority_dissolution: 'cast:5/4:ge' });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.match(/<small id="e-majority_dissolution" class="field-error">/);
    await env.ctx.settings.updateRules(TEST_ACTOR, before);
  });

  it('a bylaws change needs ¾ of the votes cast: 8 to 3 is rejected, 9 to 3 adopted, and the page says so in words', async () => {
    env.clock.set('2026-12-19T17:30:00Z');
    await checkIn(12); // 12 own votes and one by proxy: 13 present
    let res = await record(board, item.bylaws, { yes: '8', no: '3', abstain: '1', invalid: '1', note: '', version: '0' });
    expect(res.status).to.equal(303);
    let page = await board.get(`/board/assemblies/${assemblyId}/results`);
    let text = decode(article(page.text, item.bylaws));
    expect(text).to.contain('Erforderliche Mehrheit: mindestens ¾ der abgegebenen Stimmen; Enthaltungen und ungültige Stimmen zählen nicht');
    expect(text).to.contain('abgelehnt mit 8 von 11 abgegebenen Stimmen, erforderlich ¾ = 8,25');
    expect(text).to.contain('badge-bad');
    expect((await env.ctx.assemblies.day.resolutions(assemblyId)).get(item.bylaws)).to.include({ adopted: false, yes: 8, no: 3, invalid: 1, votesPresent: 13 });

    res = await record(board, item.bylaws, { yes: '9', no: '3', abstain: '1', invalid: '0', note: '', version: '1' });
    expect(res.status).to.equal(303);
    page = await board.get(`/board/assemblies/${assemblyId}/results`);
    text = decode(article(page.text, item.bylaws));
    expect(text).to.contain('angenommen mit 9 von 12 abgegebenen Stimmen, erforderlich ¾ = 9');
    expect(text).to.contain('badge-ok');
    // a simple resolution: more yes than no, abstentions do not count
    await record(board, item.discharge, { yes: '5', no: '4', abstain: '4', invalid: '0', note: '' });
    text = decode(article((await board.get(`/board/assemblies/${assemblyId}/results`)).text, item.discharge));
    expect(text).to.contain('angenommen mit 5 von 9 abgegebenen Stimmen, erforderlich mehr als ½ = 4,5');
    // in English
    const en = await board.get(`/board/assemblies/${assemblyId}/results?lang=en`);
    expect(decode(article(en.text, item.bylaws))).to.contain('adopted with 9 of 12 votes cast, required ¾ = 9');
    expect(decode(article(en.text, item.bylaws))).to.contain('Required majority: at least ¾ of the votes cast');
    await board.get(`/board/assemblies/${assemblyId}/results?lang=de`);
    const [audit] = await env.ctx.audit.list({ action: 'assembly.resolution_recorded' });
    expect(audit.after).to.include({ votesPresent: 13 });
  });

  it('refuses counts above the votes present, negative or not whole, next to the field, keeping what was typed', async () => {
    const res = await record(board, item.dissolution, { yes: '25', no: '-1', abstain: '1,5', invalid: '0', note: 'Notiz bleibt' });
    expect(res.status).to.equal(422);
    expect(fieldError(res.text, `${item.dissolution}-yes`)).to.equal('Mehr als die 13 anwesenden Stimmen.');
    expect(fieldError(res.text, `${item.dissolution}-no`)).to.equal('Die Zahl darf nicht negativ sein.');
    expect(fieldError(res.text, `${item.dissolution}-abstain`)).to.equal('Bitte eine ganze Zahl angeben.');
    expect(res.text).to.match(new RegExp(`id="f-${item.dissolution}-yes" type="text" name="yes" inputmode="numeric" value="25"`));
    expect(res.text).to.contain('value="Notiz bleibt"');
    const sum = await record(board, item.dissolution, { yes: '10', no: '3', abstain: '1', invalid: '0', note: '' });
    expect(sum.status).to.equal(422);
    expect(sum.text).to.contain('Zusammen 14 Stimmen, aber nur 13 anwesend (selbst und per Vollmacht).');
    expect((await env.ctx.assemblies.day.resolutions(assemblyId)).has(item.dissolution)).to.equal(false);
  });

  it('a change of purpose needs all voting members; absent ones consent in Textform', async () => {
    let res = await record(board, item.purpose, { yes: '13', no: '0', abstain: '0', invalid: '0', absentConsents: '0', note: '' });
    expect(res.status).to.equal(303);
    let text = decode(article((await board.get(`/board/assemblies/${assemblyId}/results`)).text, item.purpose));
    expect(text).to.contain('abgelehnt mit 13 Zustimmungen von 14 stimmberechtigten Mitgliedern, erforderlich alle = 14');
    res = await record(board, item.purpose, { yes: '13', no: '0', abstain: '0', invalid: '0', absentConsents: '1', note: '', version: '1' });
    expect(res.status).to.equal(303);
    text = decode(article((await board.get(`/board/assemblies/${assemblyId}/results`)).text, item.purpose));
    expect(text).to.contain('angenommen mit 14 Zustimmungen von 14 stimmberechtigten Mitgliedern, erforderlich alle = 14');
  });

  it('tells the second of two board members saving at once that the result changed', async () => {
    const pageA = await board.get(`/board/assemblies/${assemblyId}/results`);
    const pageB = await other.get(`/board/assemblies/${assemblyId}/results`);
    const version = article(pageA.text, item.discharge).match(/name="version" value="(\d+)"/)![1];
    const post = (b: Browser, page: string, data: Record<string, string>) =>
      b.agent.post(`/board/assemblies/${assemblyId}/resolutions/${item.discharge}`).type('form').send({ ...data, version, _csrf: Browser.csrfFrom(page) });
    const first = await post(board, pageA.text, { yes: '6', no: '4', abstain: '3', invalid: '0', note: '' });
    expect(first.status).to.equal(303);
    const second = await post(other, pageB.text, { yes: '2', no: '9', abstain: '2', invalid: '0', note: '' });
    expect(second.status).to.equal(422);
    expect(second.text).to.contain('Das Ergebnis wurde inzwischen von jemand anderem geändert.');
    expect(second.text).to.match(new RegExp(`id="f-${item.discharge}-no" type="text" name="no" inputmode="numeric" value="9"`)); // what was typed stays
    expect((await env.ctx.assemblies.day.resolutions(assemblyId)).get(item.discharge)).to.include({ yes: 6, no: 4 });
  });

  it('warns when the assembly is not quorate at recording', async () => {
    for (const o of orgs.slice(1, 12)) await env.ctx.assemblies.day.checkIn(TEST_ACTOR, assemblyId, o, 'out', '');
    const res = await record(board, item.dissolution, { yes: '1', no: '0', abstain: '0', invalid: '0', note: '' });
    expect(res.status).to.equal(303);
    const page = await board.get(`/board/assemblies/${assemblyId}/results`);
    expect(page.text).to.contain('Achtung: Die Versammlung war bei der Erfassung nicht beschlussfähig.');
    expect(page.text).to.contain('Die Versammlung ist nicht beschlussfähig (mindestens 7 Stimmen nötig, anwesend 1).');
    expect(article(page.text, item.dissolution)).to.contain('bei der Erfassung nicht beschlussfähig');
    await checkIn(12);
  });

  it('locks the results once the minutes are sent: a correction needs a reason, is kept in the history and audited', async () => {
    await env.ctx.assemblies.minutes.save(TEST_ACTOR, assemblyId, 'Protokoll der MV 2026');
    await env.ctx.assemblies.minutes.send(TEST_ACTOR, assemblyId);
    await env.ctx.assemblies.jobs.idle(assemblyId);
    const mails = await env.db('mail_messages').where({ template: 'assembly_minutes' });
    expect(mails.length).to.be.greaterThan(0);
    expect(mails[0].text_body).to.contain('TOP 3 Satzungsänderung § 5: angenommen (Ja 9, Nein 3, Enthaltungen 1).');
    expect(mails[0].text_body).to.contain('Erforderliche Mehrheit: mindestens ¾ der abgegebenen Stimmen; Enthaltungen und ungültige Stimmen zählen nicht. Ergebnis: angenommen mit 9 von 12 abgegebenen Stimmen, erforderlich ¾ = 9.');

    let page = await board.get(`/board/assemblies/${assemblyId}/results`);
    expect(article(page.text, item.bylaws)).to.contain('Das Protokoll ist versandt: Das Ergebnis ist festgeschrieben.');
    const refused = await record(board, item.bylaws, { yes: '9', no: '2', abstain: '2', invalid: '0', note: '', version: '2', reason: '' });
    expect(refused.status).to.equal(422);
    expect(fieldError(refused.text, `${item.bylaws}-reason`)).to.equal('Das Protokoll ist versandt: Bitte die Berichtigung begründen.');
    expect((await env.ctx.assemblies.day.resolutions(assemblyId)).get(item.bylaws)).to.include({ yes: 9, no: 3 });

    const ok = await record(board, item.bylaws, { yes: '9', no: '2', abstain: '2', invalid: '0', note: '', version: '2', reason: 'Zählfehler: eine Nein-Stimme war eine Enthaltung (Stimmzettel geprüft)' });
    expect(ok.status).to.equal(303);
    page = await board.get(`/board/assemblies/${assemblyId}/results`);
    const text = decode(article(page.text, item.bylaws));
    expect(text).to.contain('Verlauf der Berichtigungen');
    expect(text).to.contain('Nein 3 → 2, Enthaltungen 1 → 2');
    expect(text).to.contain('Zählfehler: eine Nein-Stimme war eine Enthaltung');
    expect(text).to.contain('angenommen mit 9 von 11 abgegebenen Stimmen, erforderlich ¾ = 8,25');
    const [audit] = await env.ctx.audit.list({ action: 'assembly.resolution_amended' });
    expect(audit.before).to.include({ itemId: item.bylaws, no: 3 });
    expect(audit.after).to.include({ no: 2, reason: 'Zählfehler: eine Nein-Stimme war eine Enthaltung (Stimmzettel geprüft)' });
    expect(await env.db('assembly_resolution_amendments').where({ agenda_item_id: item.bylaws })).to.have.length(1);

    // a result first recorded after the minutes went out is an amendment too
    const late = await record(board, item.election, { yes: '10', no: '1', abstain: '0', invalid: '0', note: '', version: '0', reason: '' });
    expect(late.status).to.equal(422);
    expect(fieldError(late.text, `${item.election}-reason`)).to.equal('Das Protokoll ist versandt: Bitte die Berichtigung begründen.');
    await record(board, item.election, { yes: '10', no: '1', abstain: '0', invalid: '0', note: '', version: '0', reason: 'Im Protokoll vergessen' });
    const after = decode(article((await board.get(`/board/assemblies/${assemblyId}/results`)).text, item.election));
    expect(after).to.contain('nach Versand des Protokolls nachgetragen: Ja 10, Nein 1, Enthaltungen 0, ungültig 0. Begründung: Im Protokoll vergessen');
    expect(after).to.contain('angenommen mit 10 von 11 abgegebenen Stimmen, erforderlich mehr als ½ = 5,5');
  });

  it('shows member numbers, never "[object Object]" or "undefined", on every assembly page and print view', async () => {
    const base = `/board/assemblies/${assemblyId}`;
    const pages = ['/board/assemblies', base, `${base}/edit`, `${base}/recipients`, `${base}/answers`, `${base}/day`, `${base}/print`, `${base}/results`, `${base}/preview`, `${base}/preview/html`];
    for (const url of pages) {
      const res = await board.get(url);
      expect(res.status, url).to.equal(200);
      expect(res.text, url).not.to.contain('[object Object]');
      expect(res.text, url).not.to.match(/\bundefined\b/);
      expect(res.text, url).not.to.match(/M-(?!\d{4})/);
    }
    for (const url of [`${base}/recipients`, `${base}/answers`, `${base}/day`, `${base}/print`]) {
      expect((await board.get(url)).text, url).to.match(/M-01\d\d/);
    }
    // the overview names each voting item's majority
    expect(decode((await board.get(base)).text)).to.contain('Erforderliche Mehrheit: mindestens ¾ der abgegebenen Stimmen');
    const letters = await board.submit(`${base}/recipients`, {}, `${base}/letters`);
    expect(letters.status).to.equal(200);
    expect(letters.text).not.to.contain('[object Object]');
    expect(letters.text).not.to.match(/\bundefined\b/);
  });
});

describe('assemblies: a time that does not exist or exists twice in Europe/Berlin', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let board: Browser;
  const FORM = { title: 'Außerordentliche MV', kind: 'extraordinary', durationMinutes: '120', format: 'in_person', location: 'Goslar', participationInfo: '' };

  before(async () => {
    env = await createTestEnv();
    await makeUser(env.ctx, 'board@test.example', ['board']);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('refuses a time in the spring gap with a message next to the field', async () => {
    const res = await board.submit('/board/assemblies/new', { ...FORM, date: '2027-03-28', time: '02:30' }, '/board/assemblies');
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/<small id="e-time" class="field-error">Diese Uhrzeit gibt es an diesem Tag nicht/);
    expect(res.text).to.contain('value="02:30"');
    expect(await env.db('assemblies')).to.have.length(0);
    // the service refuses it too (CLI, any later path)
    let err: unknown;
    try {
      await env.ctx.assemblies.assembly.create(TEST_ACTOR, { ...FORM, kind: 'extraordinary', format: 'in_person', durationMinutes: 120, copyAllContacts: false, date: '2027-03-28', time: '02:30' });
    } catch (e) { err = e; }
    expect(err).to.have.property('fields').that.has.property('time');
  });

  it('asks which of the two doubled October times is meant, and stores the one chosen', async () => {
    const res = await board.submit('/board/assemblies/new', { ...FORM, date: '2027-10-31', time: '02:30' }, '/board/assemblies');
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('Welche der beiden Uhrzeiten ist gemeint?');
    expect(res.text).to.contain('02:30 Sommerzeit (MESZ, UTC+2)');
    expect(res.text).to.contain('02:30 Winterzeit (MEZ, UTC+1)');
    expect(res.text).to.match(/<small id="e-timeOffset" class="field-error">Diese Uhrzeit gibt es an diesem Tag zweimal/);
    const winter = await board.submit('/board/assemblies/new', { ...FORM, date: '2027-10-31', time: '02:30', timeOffset: 'winter' }, '/board/assemblies');
    expect(winter.status).to.equal(303);
    const summer = await board.submit('/board/assemblies/new', { ...FORM, date: '2027-10-31', time: '02:30', timeOffset: 'summer' }, '/board/assemblies');
    expect(summer.status).to.equal(303);
    const rows = await env.db('assemblies').orderBy('id');
    expect(rows.map((r) => r.starts_at)).to.deep.equal(['2027-10-31T01:30:00.000Z', '2027-10-31T00:30:00.000Z']);
    // the edit form keeps the choice
    const edit = await board.get(`/board/assemblies/${rows[0].id}/edit`);
    expect(edit.text).to.match(/name="timeOffset" value="winter" checked/);
  });

  it('warns that resolutions are void (nichtig), not voidable, when the notice period is missed', async () => {
    const id = await env.ctx.assemblies.assembly.create(TEST_ACTOR, { ...FORM, kind: 'extraordinary', format: 'in_person', durationMinutes: 90, copyAllContacts: false, date: '2026-11-30', time: '18:00' });
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Wahl', kind: 'election', description: '', proposedText: '' });
    const page = await board.get(`/board/assemblies/${id}`);
    expect(page.text).to.contain('Beschlüsse einer nicht ordnungsgemäß einberufenen Versammlung sind nichtig.');
    expect(page.text).not.to.contain('anfechtbar');
    const en = await board.get(`/board/assemblies/${id}?lang=en`);
    expect(en.text).to.contain('Resolutions of an assembly not properly convened are void.');
    await board.get(`/board/assemblies/${id}?lang=de`);
  });

  it('writes the calendar file with TZID=Europe/Berlin and a VTIMEZONE that ical.js reads', async () => {
    const cats = await makeCategories(env.ctx);
    await makeOrg(env.ctx, { name: 'Mitglied GmbH', categoryId: cats.company, repEmail: 'm@m.example' });
    const id = await env.ctx.assemblies.assembly.create(TEST_ACTOR, { ...FORM, kind: 'extraordinary', format: 'in_person', durationMinutes: 90, copyAllContacts: false, date: '2026-12-19', time: '18:00' });
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Wahl', kind: 'election', description: '', proposedText: '' });
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);
    const [row] = await env.db('mail_messages').where({ to_address: 'm@m.example' });
    const ics = Buffer.from(JSON.parse(row.attachments!)[0].contentBase64, 'base64').toString('utf8');
    expect(ics).to.contain('DTSTART;TZID=Europe/Berlin:20261219T180000');
    const cal = new ICAL.Component(ICAL.parse(ics));
    const tz = cal.getFirstSubcomponent('vtimezone')!;
    expect(tz.getFirstPropertyValue('tzid')).to.equal('Europe/Berlin');
    expect(tz.getAllSubcomponents().map((c) => c.name).sort()).to.deep.equal(['daylight', 'standard']);
    ICAL.TimezoneService.register(tz);
    const ev = new ICAL.Event(cal.getFirstSubcomponent('vevent')!);
    expect(ev.startDate.toJSDate().toISOString()).to.equal('2026-12-19T17:00:00.000Z');
    expect(ev.endDate.toJSDate().toISOString()).to.equal('2026-12-19T18:30:00.000Z');
    const a = await env.ctx.assemblies.assembly.get(id);
    expect(ev.uid).to.equal(a.uid);
    expect(cal.getFirstPropertyValue('method')).to.equal('REQUEST');
    expect(ev.component.getFirstPropertyValue('sequence')).to.equal(0);
  });
});
