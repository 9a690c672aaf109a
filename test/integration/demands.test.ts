import { expect } from 'chai';
import { createTestEnv, MemoryTransport, type TestEnv } from '../helpers/context.ts';
import type { Browser } from '../helpers/http.ts';
import { ACTOR, loginAs, makeWorld, post, visible, type World } from './portal.fixtures.ts';
import { makeOrg } from './assemblies.fixtures.ts';

/**
 * The minority's demand for an assembly (§ 37 BGB), issue 10 item 7: a member contact demands
 * an assembly in the portal, other member organisations support it (once per organisation), the
 * threshold is counted against today's members, the board is mailed when it is reached, and the
 * demand stays on the board's assemblies page until an assembly with its items is convened.
 */
describe('minority demand (§ 37 BGB)', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let w: World;
  let anna: Browser; // org A
  let bernd: Browser; // org A, a second contact
  let carla: Browser; // org B
  let board: Browser;
  const extra: number[] = [];

  const leave = async (id: number) => {
    const org = (await env.ctx.members.get(id))!;
    await env.ctx.members.dissolve(ACTOR, id, { effectiveDate: '2026-11-20', note: 'test', version: org.version });
  };
  const demandId = async (): Promise<number> => Number((await env.db('minority_demands').max({ id: 'id' }).first())!.id);
  const boardMails = async () => env.db('mail_messages').where({ template: 'demand_threshold_reached' });

  before(async () => {
    env = await createTestEnv({ transport: new MemoryTransport() });
    w = await makeWorld(env);
    // 12 members: A, B and ten more → 10 % of 12 = 1.2, so 2 supporters are needed
    for (let i = 0; i < 10; i++) extra.push(await makeOrg(env.ctx, { name: `Mitglied ${i} GmbH`, categoryId: w.cats.company }));
    anna = await loginAs(env, 'anna@harzer.example');
    bernd = await loginAs(env, 'bernd@harzer.example');
    carla = await loginAs(env, 'carla@okertal.example');
    board = await loginAs(env, 'board@test.example');
  });
  after(async () => env.close());

  describe('the demand form', () => {
    it('explains Textform and the threshold in words, in German and English', async () => {
      const de = visible((await anna.get('/portal/demands/new')).text);
      expect(de).to.contain('schriftlich unter Angabe des Zwecks und der Gründe');
      expect(de).to.contain('in Textform');
      expect(de).to.contain('der zehnte Teil der Mitglieder (10 %), wie § 37 Abs. 1 BGB es vorsieht');
      const en = visible((await anna.get('/portal/demands/new?lang=en')).text);
      expect(en).to.contain('in text form');
      expect(en).to.contain('one tenth of the members (10 %)');
      expect((await anna.get('/portal/demands?lang=de')).text).to.contain('aria-current="page">Versammlung verlangen'); // back to German
    });

    it('refuses an empty purpose with the message next to the field and keeps the reasons typed', async () => {
      const res = await post(anna, '/portal/demands/new', { purpose: '   ', reasons: 'Der Vorstand informiert nicht über den Haushalt.' }, '/portal/demands/new');
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-purpose" class="field-error">Bitte den Zweck der Versammlung angeben/);
      expect(res.text).to.contain('Der Vorstand informiert nicht über den Haushalt.</textarea>');
      expect(await env.db('minority_demands').select('id')).to.have.length(0);
    });

    it('refuses control characters and a huge text, each next to its field, keeping the other field', async () => {
      const ctrl = await post(anna, '/portal/demands/new', { purpose: 'Neuwahl\u0007 des Vorstands', reasons: 'Gründe' }, '/portal/demands/new');
      expect(ctrl.status).to.equal(422);
      // the form layer (server/web/forms.ts) removes it and says so next to the field
      expect(ctrl.text).to.match(/id="e-purpose" class="field-error">Hier stand ein unsichtbares Steuerzeichen/);
      expect(ctrl.text).to.contain('>Gründe</textarea>');
      const huge = await post(anna, '/portal/demands/new', { purpose: 'Neuwahl des Vorstands', reasons: 'x'.repeat(10_001) }, '/portal/demands/new');
      expect(huge.status).to.equal(422);
      expect(huge.text).to.match(/id="e-reasons" class="field-error">Höchstens 10000 Zeichen/);
      expect(huge.text).to.contain('value="Neuwahl des Vorstands"');
      expect(await env.db('minority_demands').select('id')).to.have.length(0);
    });

    it('refuses a post without the CSRF token', async () => {
      const res = await anna.agent.post('/portal/demands/new').type('form').send({ purpose: 'Neuwahl', reasons: 'Gründe' });
      expect(res.status).to.equal(403);
      expect(await env.db('minority_demands').select('id')).to.have.length(0);
    });

    it('keeps the board and other roles out of the portal pages, and members out of the board pages', async () => {
      expect((await board.get('/portal/demands')).status).to.equal(403);
      expect((await anna.get('/board/demands')).status).to.equal(403);
      const forged = await post(anna, '/board/demands/1/reject', { reason: 'x', version: '1' }, '/portal/demands');
      expect(forged.status).to.equal(403);
    });
  });

  describe('demand, support, withdraw, threshold', () => {
    let id: number;

    it('stores the demand with its first supporter, the demanding organisation, and audits it', async () => {
      const res = await post(anna, '/portal/demands/new', { purpose: 'Neuwahl des Vorstands', reasons: 'Der Vorstand ist seit Monaten nicht erreichbar.\nDer Haushalt fehlt.' }, '/portal/demands/new');
      expect(res.status).to.equal(303);
      id = await demandId();
      const page = visible((await anna.get('/portal/demands')).text);
      expect(page).to.contain('Neuwahl des Vorstands');
      expect(page).to.contain('1 von 12 Mitgliedern unterstützen das Verlangen; nötig sind 2, es fehlt noch 1.');
      expect(page).to.contain('Ihre Organisation unterstützt dieses Verlangen.');
      const audit = await env.db('audit_log').where({ entity_type: 'minority_demand', entity_id: id }).orderBy('id');
      expect(audit.map((a) => a.action)).to.deep.equal(['demand.created']);
      expect(await boardMails()).to.have.length(0);
    });

    it('counts one support per organisation: a second contact of A is told A already supports it', async () => {
      const page = visible((await bernd.get('/portal/demands')).text); // Bernd reads English
      expect(page).to.contain('Your organisation supports this demand.');
      // a forged post of the support button by A's second contact
      const res = await post(bernd, `/portal/demands/${id}/support`, {}, '/portal/demands');
      expect(res.status).to.equal(303);
      expect(visible((await bernd.get('/portal/demands')).text)).to.contain('Your organisation already supports this demand (one support per member, not per contact).');
      expect(await env.db('minority_demand_supports').where({ demand_id: id })).to.have.length(1);
    });

    it('lets B withdraw, and an organisation withdraw only its own support', async () => {
      const before = await env.db('minority_demand_supports').where({ demand_id: id, organisation_id: w.orgA }).first();
      // carla (B) does not support yet: withdrawing changes nothing, certainly not A's support
      await post(carla, `/portal/demands/${id}/withdraw`, {}, '/portal/demands');
      expect(visible((await carla.get('/portal/demands')).text)).to.contain('Ihre Organisation unterstützt dieses Verlangen derzeit nicht.');
      expect(await env.db('minority_demand_supports').where({ demand_id: id, organisation_id: w.orgA }).first()).to.deep.equal(before);
    });

    it('grows the threshold when members join: B supports, 2 of 21, 3 needed, the board is not told', async () => {
      for (let i = 0; i < 9; i++) extra.push(await makeOrg(env.ctx, { name: `Neu ${i} AG`, categoryId: w.cats.company, joinDate: '2026-11-01' }));
      await post(carla, `/portal/demands/${id}/support`, {}, '/portal/demands');
      const page = visible((await carla.get('/portal/demands')).text);
      expect(page).to.contain('Ihre Organisation unterstützt das Verlangen jetzt.');
      expect(page).to.contain('2 von 21 Mitgliedern unterstützen das Verlangen; nötig sind 3, es fehlt noch 1.');
      expect(await boardMails()).to.have.length(0);
    });

    it('withdraws and supports again while open', async () => {
      await post(carla, `/portal/demands/${id}/withdraw`, {}, '/portal/demands');
      expect(visible((await carla.get('/portal/demands')).text)).to.contain('1 von 21 Mitgliedern unterstützen das Verlangen; nötig sind 3, es fehlen noch 2.');
      await post(carla, `/portal/demands/${id}/support`, {}, '/portal/demands');
      expect(visible((await carla.get('/portal/demands')).text)).to.contain('2 von 21 Mitgliedern');
      const actions = (await env.db('audit_log').where({ entity_type: 'minority_demand', entity_id: id }).orderBy('id')).map((a) => a.action);
      expect(actions).to.deep.equal(['demand.created', 'demand.supported', 'demand.support_withdrawn', 'demand.supported']);
    });

    it('is reached when members leave (19 members, 2 needed): the board users are mailed once', async () => {
      await leave(extra[0]);
      await leave(extra[1]);
      const list = visible((await board.get('/board/demands')).text);
      expect(list).to.contain('2 von 19 Mitgliedern unterstützen das Verlangen; nötig sind 2 – erreicht.');
      expect(list).to.contain('Quorum erreicht – Vorstand muss einberufen');
      const mails = await boardMails();
      expect(mails.map((m) => m.to_address)).to.deep.equal(['board@test.example']);
      expect(mails[0].subject).to.equal('Minderheitsverlangen erreicht das Quorum: Neuwahl des Vorstands');
      expect(mails[0].text_body).to.contain('2 von 19 Mitgliedern unterstützen es; nötig sind 2.');
      expect(mails[0].text_body).to.contain(`/board/demands/${id}`);
      await env.ctx.outbox.flush();
      const sent = (env.transport as MemoryTransport).sent.filter((m) => m.to === 'board@test.example');
      expect(sent.map((m) => m.subject)).to.include('Minderheitsverlangen erreicht das Quorum: Neuwahl des Vorstands');
      // looking again does not mail again
      await board.get('/board/demands');
      await board.get('/board/assemblies');
      expect(await boardMails()).to.have.length(1);
      const audit = (await env.db('audit_log').where({ entity_type: 'minority_demand', entity_id: id, action: 'demand.threshold_reached' }));
      expect(audit).to.have.length(1);
    });

    it('no longer counts a supporter that has left, and shows it on the board page', async () => {
      await leave(w.orgB); // 18 members, 2 needed, only A counts
      const page = visible((await board.get(`/board/demands/${id}`)).text);
      expect(page).to.contain('1 von 18 Mitgliedern unterstützen das Verlangen; nötig sind 2, es fehlt noch 1.');
      expect(page).to.contain('Okertal Polymere AG');
      expect(page).to.contain('nein, kein Mitglied mehr');
      // a contact of a former member can no longer support
      await post(carla, `/portal/demands/${id}/support`, {}, '/portal/demands');
      expect(visible((await carla.get('/portal/demands')).text)).to.contain('Ihre Organisation ist derzeit kein Mitglied.');
      expect(await boardMails()).to.have.length(1);
    });
  });

  describe('the board: dashboard until convened, link, reject', () => {
    let id: number;
    let assemblyId: number;
    let itemId: number;

    before(async () => {
      // a fresh demand by A that B cannot support (B has left): with 18 members and 2 needed, a new joiner supports
      await post(anna, '/portal/demands/new', { purpose: 'Satzungsänderung § 5', reasons: 'Die Beiträge sind zu hoch.' }, '/portal/demands/new');
      id = await demandId();
      const dora = extra[5];
      await env.ctx.demands.support({ userId: null, label: 'Rep Mitglied 5' }, dora, null, id);
      assemblyId = await env.ctx.assemblies.assembly.create(ACTOR, {
        title: 'Außerordentliche MV', kind: 'extraordinary', date: '2026-12-19', time: '18:00', durationMinutes: 120, format: 'in_person', location: 'Goslar', participationInfo: '', copyAllContacts: false,
      });
      itemId = await env.ctx.assemblies.assembly.addAgendaItem(ACTOR, assemblyId, { title: 'Änderung § 5 der Satzung', kind: 'bylaws_change', description: '', proposedText: '§ 5 neu' });
    });

    it('lists a reached demand on the assemblies page', async () => {
      const page = visible((await board.get('/board/assemblies')).text);
      expect(page).to.contain('Verlangte Versammlungen');
      expect(page).to.contain('Satzungsänderung § 5');
    });

    it('refuses a link without agenda items, with the message next to the field', async () => {
      const res = await post(board, `/board/demands/${id}/link`, { assemblyId: String(assemblyId), version: '1' }, `/board/demands/${id}`);
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('Bitte mindestens einen Tagesordnungspunkt wählen');
      expect(res.text).to.match(new RegExp(`<option value="${assemblyId}" selected>`));
    });

    it('keeps a linked demand on the assemblies page until that assembly is convened, then it is "erfüllt"', async () => {
      const res = await post(board, `/board/demands/${id}/link`, { assemblyId: String(assemblyId), items: String(itemId), version: '1' }, `/board/demands/${id}`);
      expect(res.status).to.equal(303);
      let page = visible((await board.get('/board/assemblies')).text);
      expect(page).to.contain('Satzungsänderung § 5');
      expect(page).to.contain('einer Versammlung zugeordnet, noch nicht einberufen');
      await env.ctx.assemblies.sending.startSending(ACTOR, assemblyId);
      await env.ctx.assemblies.jobs.idle(assemblyId);
      page = visible((await board.get('/board/assemblies')).text);
      expect(page).not.to.contain('Satzungsänderung § 5');
      const detail = visible((await board.get(`/board/demands/${id}`)).text);
      expect(detail).to.contain('erfüllt');
      expect(detail).to.contain('TOP 1: Änderung § 5 der Satzung');
      const audit = await env.db('audit_log').where({ entity_type: 'minority_demand', entity_id: id, action: 'demand.linked' });
      expect(audit).to.have.length(1);
      expect(JSON.parse(audit[0].after ?? '{}')).to.deep.include({ assemblyId, agendaItemIds: [itemId] });
    });

    it('records a rejection with its reason and names § 37 Abs. 2 BGB; a contact of the org then sees it', async () => {
      await post(anna, '/portal/demands/new', { purpose: 'Auflösung', reasons: 'Kein Zweck mehr.' }, '/portal/demands/new');
      const rid = await demandId();
      const page = visible((await board.get(`/board/demands/${rid}`)).text);
      expect(page).to.contain('das Amtsgericht am Sitz des Vereins die Mitglieder');
      const empty = await post(board, `/board/demands/${rid}/reject`, { reason: '', version: '1' }, `/board/demands/${rid}`);
      expect(empty.status).to.equal(422);
      expect(empty.text).to.match(/id="e-reason" class="field-error">Bitte den Grund der Ablehnung angeben/);
      const ok = await post(board, `/board/demands/${rid}/reject`, { reason: 'Das Quorum ist nicht erreicht.', version: '1' }, `/board/demands/${rid}`);
      expect(ok.status).to.equal(303);
      const again = await post(board, `/board/demands/${rid}/reject`, { reason: 'Noch einmal', version: '2' }, `/board/demands/${rid}`);
      expect(again.status).to.equal(422); // the form is gone; a forged post changes nothing
      expect(visible(again.text)).to.contain('Dieses Verlangen ist nicht mehr offen');
      const row = await env.db('minority_demands').where({ id: rid }).first();
      expect(row).to.include({ status: 'rejected', rejection_reason: 'Das Quorum ist nicht erreicht.' });
      const mine = visible((await anna.get('/portal/demands')).text);
      expect(mine).to.contain('vom Vorstand abgelehnt');
      expect(mine).to.contain('Das Quorum ist nicht erreicht.');
      // supporting a rejected demand is refused
      await post(carla, `/portal/demands/${rid}/support`, {}, '/portal/demands');
      expect(await env.db('minority_demand_supports').where({ demand_id: rid })).to.have.length(1);
    });

    it('shows the threshold setting in words on the admin settings page and saves another share', async () => {
      const { makeUser } = await import('../helpers/fixtures.ts');
      await makeUser(env.ctx, 'admin@test.example', ['admin']);
      const admin = await loginAs(env, 'admin@test.example');
      const page = visible((await admin.get('/admin/settings')).text);
      expect(page).to.contain('Minderheitsverlangen (§ 37 BGB)');
      expect(page).to.contain('der zehnte Teil der Mitglieder, wenn die Satzung nichts anderes bestimmt');
      const bad = await admin.submit('/admin/settings', { ...(await settingsForm(admin)), minorityDemandPercent: '0' }, '/admin/settings');
      expect(bad.status).to.equal(422);
      expect(bad.text).to.match(/id="e-minorityDemandPercent" class="field-error"/);
      const ok = await admin.submit('/admin/settings', { ...(await settingsForm(admin)), minorityDemandPercent: '20' }, '/admin/settings');
      expect(ok.status).to.equal(303);
      expect((await env.ctx.settings.rules()).minorityDemandPercent).to.equal(20);
      expect(visible((await anna.get('/portal/demands')).text)).to.contain('20 % der Mitglieder, wie die Satzung es bestimmt');
    });
  });
});

/** The settings form's current values (inputs, checked boxes and radios, selected options). */
async function settingsForm(b: Browser): Promise<Record<string, string>> {
  const html = (await b.get('/admin/settings')).text;
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*>/g)) {
    const tag = m[0];
    const name = tag.match(/name="([^"]+)"/)?.[1];
    if (!name || name === '_csrf') continue;
    const value = (tag.match(/value="([^"]*)"/)?.[1] ?? '').replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x3D;/g, '=');
    const type = tag.match(/type="([^"]+)"/)?.[1] ?? 'text';
    if ((type === 'checkbox' || type === 'radio') && !/ checked/.test(tag)) continue;
    out[name] = value;
  }
  for (const m of html.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const sel = m[2].match(/<option value="([^"]*)" selected>/)?.[1];
    if (sel !== undefined) out[m[1]] = sel;
  }
  for (const m of html.matchAll(/<textarea[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g)) out[m[1]] = m[2];
  return out;
}
