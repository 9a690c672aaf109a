import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import type { Browser } from '../helpers/http.ts';
import { ACTOR, BOARD_EMAIL, loginAs, makeWorld, post, visible, type World } from './portal.fixtures.ts';

describe('member portal: organisation change requests decided by the board', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let w: World;
  let anna: Browser;
  let bernd: Browser;
  let board: Browser;

  before(async () => {
    env = await createTestEnv();
    w = await makeWorld(env);
    anna = await loginAs(env, 'anna@harzer.example');
    bernd = await loginAs(env, 'bernd@harzer.example');
    board = await loginAs(env, 'board@test.example');
  });
  after(async () => env.close());

  async function formValues(b: Browser): Promise<Record<string, string>> {
    const html = (await b.get('/portal/organisation')).text;
    const v: Record<string, string> = {};
    for (const m of html.matchAll(/<input id="f-(\w+)" name="\w+" type="text" value="([^"]*)"/g)) v[m[1]] = m[2].replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
    for (const m of html.matchAll(/<textarea id="f-(\w+)"[^>]*>([^<]*)<\/textarea>/g)) v[m[1]] = m[2];
    v.country = /<option value="(\w+)" selected>/.exec(html.slice(html.indexOf('name="country"')))![1];
    v.employeeBand = /<option value="([^"]+)" selected>/.exec(html.slice(html.indexOf('name="employeeBand"')))?.[1] ?? '';
    return v;
  }

  const requests = () => env.db('organisation_change_requests').orderBy('id');

  it('stores only the changed fields as a pending request; the register stays as it is until the board decides', async () => {
    const values = await formValues(anna);
    expect(values).to.include({ legalName: 'Harzer Spezialchemie GmbH', city: 'Goslar', country: 'DE', employeeBand: '50-249', vatId: 'DE626018158' });
    const before = (await env.ctx.members.get(w.orgA))!;
    const res = await post(anna, '/portal/organisation', { ...values, street: 'Bergstraße 5', postcode: '38678', city: 'Clausthal-Zellerfeld', website: 'harzer-chemie.example' }, '/portal/organisation');
    expect(res.status).to.equal(303);
    const rows = await requests();
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ status: 'pending', requested_by_label: 'Anna Adler' });
    expect(Number(rows[0].organisation_id)).to.equal(w.orgA);
    expect(JSON.parse(rows[0].changes)).to.deep.equal({ street: 'Bergstraße 5', postcode: '38678', city: 'Clausthal-Zellerfeld', website: 'https://harzer-chemie.example' });
    expect(JSON.parse(rows[0].previous)).to.deep.equal({ street: 'Am Rammelsberg 12', postcode: '38640', city: 'Goslar', website: 'https://example.org' });
    expect((await env.ctx.members.get(w.orgA))).to.deep.equal(before);
    // the member sees the pending request, on the overview and on its own page
    const page = await anna.get(res.headers.location);
    expect(page.text).to.contain('Ihr Änderungsantrag wurde an den Vorstand geschickt.');
    expect(visible(page.text)).to.match(/Ort\s+Goslar\s+Clausthal-Zellerfeld/);
    const overview = visible((await anna.get('/portal')).text);
    expect(overview).to.contain('Offene Änderungsanträge');
    expect(overview).to.match(/Ort ?: Goslar → Clausthal-Zellerfeld/);
    // the board is told
    const mail = (await env.db('mail_messages').where({ template: 'portal_change_requested', to_address: BOARD_EMAIL }).first())!;
    expect(mail.subject).to.contain('Änderungsantrag von Harzer Spezialchemie GmbH');
    expect(mail.text_body).to.contain('Ort: Goslar → Clausthal-Zellerfeld');
    expect(await env.db('audit_log').where({ action: 'change_request.created', entity_id: rows[0].id, actor_label: 'Anna Adler' }).first()).to.be.an('object');
  });

  it('nothing changed: no request; invalid input: per-field errors with the input kept', async () => {
    const values = await formValues(anna);
    const same = await post(anna, '/portal/organisation', values, '/portal/organisation');
    expect(same.status).to.equal(303);
    expect((await anna.get(same.headers.location)).text).to.contain('Sie haben nichts geändert');
    expect(await requests()).to.have.length(1);
    const bad = await post(anna, '/portal/organisation', { ...values, vatId: 'DE12', city: '', legalName: 'Harzer Chemie GmbH' }, '/portal/organisation');
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('Diese USt-IdNr. hat nicht das richtige Format');
    expect(bad.text).to.match(/id="e-city"/);
    expect(bad.text).to.contain('value="Harzer Chemie GmbH"');
    expect(bad.text).to.contain('value="DE12"');
    expect(await requests()).to.have.length(1);
  });

  it('the board lists pending requests and sees before, requested and current value per field', async () => {
    const list = await board.get('/board/change-requests');
    expect(list.status).to.equal(200);
    expect(visible(list.text)).to.contain('Harzer Spezialchemie GmbH');
    // the member number, not "M-[object Object]" (issue 10)
    expect(list.text).not.to.contain('[object Object]');
    expect(visible(list.text)).to.match(/M-\d{4} · Harzer Spezialchemie GmbH/);
    const [r] = await requests();
    expect(list.text).to.contain(`href="/board/change-requests/${r.id}"`);
    const detail = await board.get(`/board/change-requests/${r.id}`);
    expect(detail.status).to.equal(200);
    const text = visible(detail.text);
    expect(text).to.match(/Ort\s+Goslar\s+Clausthal-Zellerfeld\s+Goslar/);
    expect(text).to.match(/Website\s+https:\/\/example.org\s+https:\/\/harzer-chemie.example/);
    expect(text).not.to.contain('inzwischen geändert');
    // the board finds the requests from the navigation on every page
    expect((await board.get('/board/members')).text).to.match(/<a href="\/board\/change-requests"[^>]*>Änderungsanträge<\/a>/);
  });

  it('approves: the organisation is updated through the register, audited, and the requester gets an e-mail', async () => {
    const [r] = await requests();
    const version = (await env.ctx.members.get(w.orgA))!.version;
    const res = await post(board, `/board/change-requests/${r.id}/approve`, { note: 'Danke, übernommen.' }, `/board/change-requests/${r.id}`);
    expect(res.status).to.equal(303);
    expect((await board.get(res.headers.location)).text).to.contain('Die Änderungen wurden ins Mitgliederverzeichnis übernommen.');
    const org = (await env.ctx.members.get(w.orgA))!;
    expect(org).to.include({ street: 'Bergstraße 5', postcode: '38678', city: 'Clausthal-Zellerfeld', website: 'https://harzer-chemie.example', legalName: 'Harzer Spezialchemie GmbH', version: version + 1 });
    const row = (await requests())[0];
    expect(row).to.include({ status: 'approved', decided_by_label: 'Berta Vorstand', decision_note: 'Danke, übernommen.' });
    expect(row.decided_at).to.be.a('string');
    const audit = (await env.db('audit_log').where({ action: 'member.updated', entity_id: w.orgA }).orderBy('id', 'desc').first())!;
    expect(audit.actor_label).to.equal('Berta Vorstand');
    expect(JSON.parse(audit.after!)).to.deep.equal({ street: 'Bergstraße 5', postcode: '38678', city: 'Clausthal-Zellerfeld', website: 'https://harzer-chemie.example' });
    expect(await env.db('audit_log').where({ action: 'change_request.approved', entity_id: r.id, actor_label: 'Berta Vorstand' }).first()).to.be.an('object');
    const mail = (await env.db('mail_messages').where({ template: 'portal_change_approved' }).first())!;
    expect(mail).to.include({ to_address: 'anna@harzer.example', locale: 'de' });
    expect(mail.subject).to.equal('Ihr Änderungsantrag für Harzer Spezialchemie GmbH wurde übernommen');
    expect(mail.text_body).to.contain('Ort: Goslar → Clausthal-Zellerfeld');
    expect(mail.text_body).to.contain('Danke, übernommen.');
    expect(mail.text_body).to.contain(`/portal/requests/${r.id}`);
    // the member sees the outcome; the board's list is empty; a second approval changes nothing
    expect(visible((await anna.get(`/portal/requests/${r.id}`)).text)).to.contain('übernommen');
    expect((await board.get('/board/change-requests')).text).to.contain('Es liegen keine offenen Änderungsanträge vor.');
    expect(visible((await board.get('/board/change-requests?show=decided')).text)).to.contain('Harzer Spezialchemie GmbH');
    const again = await post(board, `/board/change-requests/${r.id}/approve`, {}, '/board/change-requests');
    expect(again.status).to.equal(303);
    expect((await board.get(again.headers.location)).text).to.contain('Über diesen Antrag ist bereits entschieden.');
    expect((await env.ctx.members.get(w.orgA))!.version).to.equal(version + 1);
    expect(await env.db('mail_messages').where({ template: 'portal_change_approved' })).to.have.length(1);
  });

  it('rejects with a required note; the register stays, the requester is told in their language (English)', async () => {
    const values = await formValues(bernd);
    await post(bernd, '/portal/organisation', { ...values, fieldOfActivity: 'Polymere und Spezialchemie', employeeBand: '250+' }, '/portal/organisation');
    const r = (await requests()).at(-1)!;
    expect(JSON.parse(r.changes)).to.deep.equal({ fieldOfActivity: 'Polymere und Spezialchemie', employeeBand: '250+' });
    const detail = visible((await board.get(`/board/change-requests/${r.id}`)).text);
    expect(detail).to.match(/Beschäftigte\s+50–249 Beschäftigte\s+250 und mehr Beschäftigte/);
    const noNote = await post(board, `/board/change-requests/${r.id}/reject`, { note: '  ' }, `/board/change-requests/${r.id}`);
    expect(noNote.status).to.equal(422);
    expect(noNote.text).to.contain('Bitte eine Begründung angeben.');
    expect((await requests()).at(-1)!.status).to.equal('pending');
    const before = (await env.ctx.members.get(w.orgA))!;
    const res = await post(board, `/board/change-requests/${r.id}/reject`, { note: 'Bitte Nachweis der Beschäftigtenzahl schicken.' }, `/board/change-requests/${r.id}`);
    expect(res.status).to.equal(303);
    expect((await env.ctx.members.get(w.orgA))).to.deep.equal(before);
    expect((await requests()).at(-1)).to.include({ status: 'rejected', decision_note: 'Bitte Nachweis der Beschäftigtenzahl schicken.' });
    expect(await env.db('audit_log').where({ action: 'change_request.rejected', entity_id: r.id }).first()).to.be.an('object');
    const mail = (await env.db('mail_messages').where({ template: 'portal_change_rejected' }).first())!;
    expect(mail).to.include({ to_address: 'bernd@harzer.example', locale: 'en' });
    expect(mail.subject).to.equal('Your change request for Harzer Spezialchemie GmbH has been rejected');
    expect(mail.text_body).to.contain('Employees: 50–249 employees → 250 or more employees');
    expect(mail.text_body).to.contain('Bitte Nachweis der Beschäftigtenzahl schicken.');
    const page = visible((await bernd.get(`/portal/requests/${r.id}`)).text);
    expect(page).to.contain('rejected');
    expect(page).to.contain('Bitte Nachweis der Beschäftigtenzahl schicken.');
  });

  it('a conflict: the register changed the same field meanwhile; approving shows it and applies nothing', async () => {
    const values = await formValues(anna);
    await post(anna, '/portal/organisation', { ...values, legalName: 'Harzer Spezialchemie AG', legalForm: 'AG' }, '/portal/organisation');
    const r = (await requests()).at(-1)!;
    // the board renames the organisation in the register in the meantime
    const org = (await env.ctx.members.get(w.orgA))!;
    await env.ctx.members.updateOrganisation(ACTOR, w.orgA, { ...org, legalName: 'Harzer Spezialchemie SE', notes: org.notes ?? '', version: org.version });
    const detail = await board.get(`/board/change-requests/${r.id}`);
    expect(visible(detail.text)).to.contain('Die Daten wurden seit dem Antrag geändert.');
    expect(visible(detail.text)).to.match(/Name \(laut Register\)\s+Harzer Spezialchemie GmbH\s+Harzer Spezialchemie AG\s+Harzer Spezialchemie SE\s+inzwischen geändert/);
    const res = await post(board, `/board/change-requests/${r.id}/approve`, {}, `/board/change-requests/${r.id}`);
    expect(res.status).to.equal(409);
    expect(res.text).to.contain('Die Daten wurden seit dem Antrag geändert.');
    const now = (await env.ctx.members.get(w.orgA))!;
    expect(now).to.include({ legalName: 'Harzer Spezialchemie SE', legalForm: 'GmbH', version: org.version + 1 });
    expect((await requests()).at(-1)!.status).to.equal('pending');
    expect(await env.db('mail_messages').where({ template: 'portal_change_approved' })).to.have.length(1);
    // a change elsewhere in the register is no conflict: the request applies on the current version
    const values2 = await formValues(anna);
    await post(anna, '/portal/organisation', { ...values2, registerEntry: 'Amtsgericht Braunschweig HRB 2' }, '/portal/organisation');
    const r2 = (await requests()).at(-1)!;
    const o2 = (await env.ctx.members.get(w.orgA))!;
    await env.ctx.members.updateOrganisation(ACTOR, w.orgA, { ...o2, city: 'Goslar', notes: 'Notiz', version: o2.version });
    const ok = await post(board, `/board/change-requests/${r2.id}/approve`, {}, `/board/change-requests/${r2.id}`);
    expect(ok.status).to.equal(303);
    expect((await env.ctx.members.get(w.orgA))).to.include({ registerEntry: 'Amtsgericht Braunschweig HRB 2', city: 'Goslar', notes: 'Notiz', legalName: 'Harzer Spezialchemie SE' });
    // the conflicting request can still be rejected
    const rej = await post(board, `/board/change-requests/${r.id}/reject`, { note: 'Bereits als SE eingetragen.' }, `/board/change-requests/${r.id}`);
    expect(rej.status).to.equal(303);
  });

  it('the member may withdraw a pending request, not a decided one', async () => {
    const values = await formValues(anna);
    await post(anna, '/portal/organisation', { ...values, legalForm: 'SE' }, '/portal/organisation');
    const r = (await requests()).at(-1)!;
    const res = await post(anna, `/portal/requests/${r.id}/withdraw`, {}, `/portal/requests/${r.id}`);
    expect(res.status).to.equal(303);
    expect((await anna.get(res.headers.location)).text).to.contain('Der Antrag wurde zurückgezogen.');
    expect((await requests()).at(-1)!.status).to.equal('withdrawn');
    const approve = await post(board, `/board/change-requests/${r.id}/approve`, {}, '/board/change-requests');
    expect((await board.get(approve.headers.location)).text).to.contain('Über diesen Antrag ist bereits entschieden.');
    expect((await env.ctx.members.get(w.orgA))!.legalForm).to.equal('GmbH');
    const first = (await requests())[0];
    await post(anna, `/portal/requests/${first.id}/withdraw`, {}, `/portal/requests/${first.id}`);
    expect((await anna.get(`/portal/requests/${first.id}`)).text).to.contain('Über diesen Antrag ist bereits entschieden.');
    expect((await requests())[0].status).to.equal('approved');
  });

  it('only the board decides: member contacts get 403 on the board pages', async () => {
    const [r] = await requests();
    expect((await anna.get('/board/change-requests')).status).to.equal(403);
    expect((await anna.get(`/board/change-requests/${r.id}`)).status).to.equal(403);
    const res = await post(anna, `/board/change-requests/${r.id}/reject`, { note: 'x' });
    expect(res.status).to.equal(403);
  });

  it('offers and keeps a country the organisation fields accept beyond the usual list (Norway), as the register does', async () => {
    await env.db('organisations').where({ id: w.orgB }).update({ country: 'NO', postcode: '0150' }); // as an approved application from Oslo stores it
    const carla = await loginAs(env, 'carla@okertal.example');
    const html = (await carla.get('/portal/organisation')).text;
    const select = html.slice(html.indexOf('name="country"'), html.indexOf('</select>', html.indexOf('name="country"')));
    expect(select).to.match(/<option value="NO" selected>Norwegen<\/option>/);
    expect(select.match(/ selected>/g)).to.have.length(1);
  });
});
