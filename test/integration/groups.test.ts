import { expect } from 'chai';
import { createTestEnv, MemoryTransport, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { ACTOR, loginAs, makeWorld, post, visible, type World } from './portal.fixtures.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';

/**
 * Working groups (issue 16 item 1 and 4): every action per role (board, lead, member of the
 * group, member contact outside it), meetings with invitations and personal RSVP links, PDF
 * documents, messages to the group, and contacts of organisations that leave the association
 * leaving their groups after their last day of membership.
 */

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');

const GROUP = {
  nameDe: 'Standortmarketing', nameEn: 'Location marketing',
  purposeDe: 'Den Landkreis Goslar als Industrie- und Wissenschaftsstandort bekannt machen.', purposeEn: 'Making the Goslar district known as a location for industry and science.',
  leadEmail: 'anna@harzer.example', sponsorUserId: '', access: 'open',
};
const MEETING = {
  title: 'Auftakt', date: '2026-12-10', time: '18:00', durationMinutes: '90', format: 'hybrid',
  location: 'Kaiserpfalz Goslar', onlineLink: 'https://meet.example/ag', agenda: '1. Begrüßung\n2. Ziele 2027',
};

describe('working groups', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let w: World;
  let board: Browser; // the board
  let anna: Browser; // org A, the lead
  let bernd: Browser; // org A, not in the group
  let carla: Browser; // org B, joins
  let dieter: Browser; // org B
  let treasurer: Browser;
  let openId: number;
  let closedId: number;

  const groupCount = async () => Number((await env.db('working_groups').count({ n: '*' }).first())!.n);
  const memberNames = async (id: number) => (await env.ctx.groups.access({ userId: null, label: 't', email: '', contactId: null, isBoard: true }, id)).members.map((m) => m.name);
  const mailsTo = async (to: string, template: string) => env.db('mail_messages').where({ to_address: to, template }).orderBy('id');
  const linkIn = (text: string): string => {
    const m = text.match(/http:\/\/127\.0\.0\.1:3999\/g\/([A-Za-z0-9_-]{43})/);
    if (!m) throw new Error('no RSVP link in mail');
    return m[1];
  };
  async function upload(b: Browser, base: string, id: number, file: Buffer, name: string, title = 'Protokoll der Auftaktsitzung') {
    const page = await b.get(`${base}/${id}`);
    return b.agent.post(`${base}/${id}/documents`).field('_csrf', Browser.csrfFrom(page.text)).field('title', title).field('kind', 'minutes').field('meetingId', '').attach('file', file, name);
  }

  before(async () => {
    env = await createTestEnv({ transport: new MemoryTransport() });
    w = await makeWorld(env);
    board = await loginAs(env, 'board@test.example');
    anna = await loginAs(env, 'anna@harzer.example');
    bernd = await loginAs(env, 'bernd@harzer.example');
    carla = await loginAs(env, 'carla@okertal.example');
    dieter = await loginAs(env, 'dieter@okertal.example');
    await makeUser(env.ctx, 'kasse@test.example', ['treasurer'], 'Tim Kasse');
    treasurer = new Browser(env.app);
    await treasurer.login('kasse@test.example', PASSWORD);
  });
  after(async () => env.close());

  describe('the board creates groups', () => {
    it('refuses a lead who is no contact of a member, with the message next to the field, keeping what was typed', async () => {
      const res = await post(board, '/board/groups/new', { ...GROUP, leadEmail: 'niemand@example.org' }, '/board/groups/new');
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-leadEmail" class="field-error">Kein Kontakt einer Mitgliedsorganisation/);
      expect(res.text).to.contain('value="Standortmarketing"');
      expect(await groupCount()).to.equal(0);
    });

    it('refuses an empty name and a missing access choice', async () => {
      const res = await post(board, '/board/groups/new', { ...GROUP, nameDe: ' ', access: 'irgendwie' }, '/board/groups/new');
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-nameDe" class="field-error">Bitte einen Namen angeben/);
      expect(res.text).to.match(/id="e-access" class="field-error">/);
    });

    it('creates an open group with a lead and a board sponsor, and one by invitation; both audited', async () => {
      const sponsor = (await env.db('users').where({ email: 'board@test.example' }).first())!.id;
      let res = await post(board, '/board/groups/new', { ...GROUP, sponsorUserId: String(sponsor) }, '/board/groups/new');
      expect(res.status).to.equal(303);
      openId = Number(res.headers.location.split('/').pop());
      res = await post(board, '/board/groups/new', { ...GROUP, nameDe: 'Innovationsfinanzierung', nameEn: 'Innovation finance', access: 'invitation' }, '/board/groups/new');
      closedId = Number(res.headers.location.split('/').pop());
      const page = visible((await board.get(`/board/groups/${openId}`)).text);
      expect(page).to.contain('Leitung: Anna Adler (Harzer Spezialchemie GmbH)');
      expect(page).to.contain('Pate/Patin im Vorstand: Berta Vorstand');
      expect(page).to.contain('offen für alle Mitglieder');
      expect(visible((await board.get(`/board/groups/${openId}?lang=en`)).text)).to.contain('Location marketing');
      await board.get('/board/groups?lang=de');
      expect(await memberNames(openId)).to.deep.equal(['Anna Adler']); // the lead is in the group
      const audit = await env.db('audit_log').where({ action: 'group.created' });
      expect(audit).to.have.length(2);
    });

    it('lets the board edit a group; a stale version is refused', async () => {
      const g = (await env.db('working_groups').where({ id: openId }).first())!;
      let res = await post(board, `/board/groups/${openId}/edit`, { ...GROUP, purposeDe: 'Standort sichtbar machen.', version: String(g.version) }, `/board/groups/${openId}/edit`);
      expect(res.status).to.equal(303);
      res = await post(board, `/board/groups/${openId}/edit`, { ...GROUP, version: String(g.version) }, `/board/groups/${openId}/edit`);
      expect(res.status).to.equal(422);
      expect(visible(res.text)).to.contain('Inzwischen hat jemand anderes etwas geändert');
      expect((await env.db('working_groups').where({ id: openId }).first())!.purpose_de).to.equal('Standort sichtbar machen.');
    });

    it('keeps the board pages from member contacts and the treasurer', async () => {
      for (const b of [anna, carla, treasurer]) {
        expect((await b.get('/board/groups')).status).to.equal(403);
        expect((await b.get('/board/groups/new')).status).to.equal(403);
      }
      const res = await anna.agent.post('/board/groups/new').type('form').send({ ...GROUP, _csrf: Browser.csrfFrom((await anna.get('/portal').then((r) => r)).text) });
      expect(res.status).to.equal(403);
      expect(await groupCount()).to.equal(2);
      expect((await new Browser(env.app).get('/board/groups')).status).to.equal(303); // anonymous: to the login
      expect((await new Browser(env.app).get(`/portal/groups/${openId}`)).status).to.equal(303);
    });
  });

  describe('member contacts join and leave', () => {
    it('shows a non-member the groups but not their meetings, documents or members', async () => {
      const list = visible((await carla.get('/portal/groups')).text);
      expect(list).to.contain('Standortmarketing');
      expect(list).to.contain('Innovationsfinanzierung');
      const page = visible((await carla.get(`/portal/groups/${openId}`)).text);
      expect(page).to.contain('Sitzungen, Dokumente und Mitglieder sehen nur die Mitglieder der Gruppe.');
      expect(page).not.to.contain('Anna Adler ·');
      expect((await carla.get(`/portal/groups/${openId}/meetings/new`)).status).to.equal(403);
    });

    it('lets a contact join an open group and leave it again (audited)', async () => {
      const res = await post(carla, `/portal/groups/${openId}/join`, {}, `/portal/groups/${openId}`);
      expect(res.status).to.equal(303);
      expect(await memberNames(openId)).to.include('Carla Carstens');
      expect(visible((await carla.get(`/portal/groups/${openId}`)).text)).to.contain('Anna Adler · Harzer Spezialchemie GmbH');
      await post(carla, `/portal/groups/${openId}/leave`, {}, `/portal/groups/${openId}`);
      expect(await memberNames(openId)).not.to.include('Carla Carstens');
      await post(carla, `/portal/groups/${openId}/join`, {}, `/portal/groups/${openId}`);
      expect(await memberNames(openId)).to.include('Carla Carstens');
      expect((await env.db('audit_log').where({ action: 'group.left' })).length).to.equal(1);
      expect((await env.db('audit_log').where({ action: 'group.joined' })).length).to.equal(2);
    });

    it('keeps the lead in the group', async () => {
      await post(anna, `/portal/groups/${openId}/leave`, {}, `/portal/groups/${openId}`);
      expect(await memberNames(openId)).to.include('Anna Adler');
      expect(visible((await anna.get(`/portal/groups/${openId}`)).text)).to.contain('Die Leitung bleibt in der Gruppe');
    });

    it('a group by invitation: joining is refused, a request goes to the lead, who accepts it', async () => {
      await post(carla, `/portal/groups/${closedId}/join`, {}, `/portal/groups/${closedId}`);
      expect(visible((await carla.get(`/portal/groups/${closedId}`)).text)).to.contain('Dieser Gruppe tritt man auf Einladung bei');
      expect(await memberNames(closedId)).not.to.include('Carla Carstens');
      await post(carla, `/portal/groups/${closedId}/request`, { message: 'Wir finanzieren gerade ein Technikum.' }, `/portal/groups/${closedId}`);
      expect(visible((await carla.get(`/portal/groups/${closedId}`)).text)).to.contain('Ihre Anfrage liegt der Leitung vor.');
      const lead = visible((await anna.get(`/portal/groups/${closedId}`)).text);
      expect(lead).to.contain('Anfragen zur Aufnahme');
      expect(lead).to.contain('Wir finanzieren gerade ein Technikum.');
      const rid = (await env.db('group_join_requests').where({ group_id: closedId }).first())!.id;
      // a member who is not the lead cannot decide (bernd is not in the group; carla is no member yet)
      expect((await post(bernd, `/portal/groups/${closedId}/requests/${rid}/accept`, {}, '/portal/groups')).status).to.equal(403);
      await post(anna, `/portal/groups/${closedId}/requests/${rid}/accept`, {}, `/portal/groups/${closedId}`);
      expect(await memberNames(closedId)).to.include('Carla Carstens');
      expect((await env.db('group_join_requests').where({ id: rid }).first())!.status).to.equal('accepted');
    });

    it('the board declines a request; a request can be withdrawn', async () => {
      await post(dieter, `/portal/groups/${closedId}/request`, { message: '' }, `/portal/groups/${closedId}`);
      const rid = (await env.db('group_join_requests').where({ group_id: closedId, status: 'pending' }).first())!.id;
      await post(board, `/board/groups/${closedId}/requests/${rid}/decline`, {}, `/board/groups/${closedId}`);
      expect((await env.db('group_join_requests').where({ id: rid }).first())!.status).to.equal('declined');
      expect(await memberNames(closedId)).not.to.include('Dieter Dorn');
      await post(dieter, `/portal/groups/${closedId}/request`, { message: 'Noch einmal' }, `/portal/groups/${closedId}`);
      await post(dieter, `/portal/groups/${closedId}/request/withdraw`, {}, `/portal/groups/${closedId}`);
      expect((await env.db('group_join_requests').where({ group_id: closedId }).orderBy('id', 'desc').first())!.status).to.equal('withdrawn');
    });

    it('the lead adds and removes members by e-mail; a plain member cannot', async () => {
      let res = await post(anna, `/portal/groups/${openId}/members`, { email: 'unbekannt@example.org' }, `/portal/groups/${openId}`);
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-email" class="field-error">Kein Kontakt einer Mitgliedsorganisation/);
      expect(res.text).to.contain('value="unbekannt@example.org"');
      res = await post(anna, `/portal/groups/${openId}/members`, { email: 'Dieter@Okertal.example' }, `/portal/groups/${openId}`);
      expect(res.status).to.equal(303);
      expect(await memberNames(openId)).to.include('Dieter Dorn');
      expect((await post(carla, `/portal/groups/${openId}/members/${w.c.dieter}/remove`, {}, `/portal/groups/${openId}`)).status).to.equal(403);
      expect((await post(carla, `/portal/groups/${openId}/members`, { email: 'bernd@harzer.example' }, `/portal/groups/${openId}`)).status).to.equal(403);
      await post(anna, `/portal/groups/${openId}/members/${w.c.dieter}/remove`, {}, `/portal/groups/${openId}`);
      expect(await memberNames(openId)).not.to.include('Dieter Dorn');
      await post(board, `/board/groups/${openId}/members`, { email: 'dieter@okertal.example' }, `/board/groups/${openId}`);
      expect(await memberNames(openId)).to.include('Dieter Dorn');
    });
  });

  describe('meetings', () => {
    let meetingId: number;

    it('refuses a time in the spring gap and asks which hour is meant in the autumn night', async () => {
      let res = await post(anna, `/portal/groups/${openId}/meetings/new`, { ...MEETING, date: '2027-03-28', time: '02:30' }, `/portal/groups/${openId}/meetings/new`);
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-time" class="field-error">Diese Uhrzeit gibt es an diesem Tag nicht/);
      res = await post(anna, `/portal/groups/${openId}/meetings/new`, { ...MEETING, date: '2027-10-31', time: '02:30' }, `/portal/groups/${openId}/meetings/new`);
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('Diese Uhrzeit gibt es an diesem Tag zweimal');
      expect(res.text).to.contain('name="dst" value="later"');
      res = await post(anna, `/portal/groups/${openId}/meetings/new`, { ...MEETING, date: '2027-10-31', time: '02:30', dst: 'later' }, `/portal/groups/${openId}/meetings/new`);
      expect(res.status).to.equal(303);
      const m = (await env.db('group_meetings').where({ group_id: openId }).orderBy('id', 'desc').first())!;
      expect(m.starts_at).to.equal('2027-10-31T01:30:00.000Z'); // 02:30 CET
      await env.db('group_meetings').where({ id: m.id }).delete();
      await env.db('mail_messages').where({ related_type: 'group_meeting', related_id: m.id }).delete();
    });

    it('refuses a hybrid meeting without a link and a past date, keeping what was typed', async () => {
      let res = await post(anna, `/portal/groups/${openId}/meetings/new`, { ...MEETING, onlineLink: '' }, `/portal/groups/${openId}/meetings/new`);
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-onlineLink" class="field-error">Bitte den Link zur Videokonferenz angeben/);
      expect(res.text).to.contain('2. Ziele 2027</textarea>');
      res = await post(anna, `/portal/groups/${openId}/meetings/new`, { ...MEETING, date: '2026-11-01' }, `/portal/groups/${openId}/meetings/new`);
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-date" class="field-error">Die Sitzung muss in der Zukunft liegen/);
    });

    it('a plain member and a non-member cannot schedule', async () => {
      expect((await carla.get(`/portal/groups/${openId}/meetings/new`)).status).to.equal(403);
      expect((await post(carla, `/portal/groups/${openId}/meetings/new`, MEETING, `/portal/groups/${openId}`)).status).to.equal(403);
      expect((await bernd.get(`/portal/groups/${openId}/meetings/new`)).status).to.equal(403);
    });

    it('the lead schedules a meeting: every member gets an invitation with a personal link and a calendar file', async () => {
      const res = await post(anna, `/portal/groups/${openId}/meetings/new`, MEETING, `/portal/groups/${openId}/meetings/new`);
      expect(res.status).to.equal(303);
      meetingId = Number((await env.db('group_meetings').where({ group_id: openId }).first())!.id);
      for (const to of ['anna@harzer.example', 'carla@okertal.example', 'dieter@okertal.example']) {
        const [m] = await mailsTo(to, 'group_meeting_invitation');
        expect(m, to).not.to.equal(undefined);
        expect(m.subject).to.equal('Einladung: Standortmarketing am 10.12.2026, 18:00 Uhr');
        expect(m.text_body).to.contain('Kaiserpfalz Goslar');
        expect(m.text_body).to.contain('2. Ziele 2027');
        expect(JSON.parse(m.attachments!)[0].filename).to.equal('termin.ics');
      }
      expect(await mailsTo('bernd@harzer.example', 'group_meeting_invitation')).to.have.length(0);
      const page = visible((await carla.get(`/portal/groups/${openId}`)).text);
      expect(page).to.contain('10.12.2026, 18:00 Uhr · Auftakt');
    });

    it('the contact answers through the personal link without signing in; a wrong link changes nothing', async () => {
      const [m] = await mailsTo('carla@okertal.example', 'group_meeting_invitation');
      const token = linkIn(m.text_body);
      const visitor = new Browser(env.app);
      const page = await visitor.get(`/g/${token}`);
      expect(page.status).to.equal(200);
      expect(visible(page.text)).to.contain('Antwort für Carla Carstens');
      const res = await visitor.submit(`/g/${token}`, { answer: 'yes' });
      expect(res.status).to.equal(303);
      const row = (await env.db('group_meeting_rsvps').where({ meeting_id: meetingId, contact_id: w.c.carla }).first())!;
      expect(row.answer).to.equal('yes');
      expect(row.token_hash).not.to.equal(token); // only the hash is stored
      expect((await visitor.get(`/g/${'x'.repeat(43)}`)).status).to.equal(404);
      expect((await visitor.submit(`/g/${token}`, { answer: 'vielleicht' })).status).to.equal(422);
      expect(visible((await anna.get(`/portal/groups/${openId}`)).text)).to.contain('1 Zusagen, 0 Absagen, 0 vielleicht, 2 ohne Antwort');
    });

    it('members answer in the portal too; a non-member cannot', async () => {
      await post(dieter, `/portal/groups/${openId}/meetings/${meetingId}/rsvp`, { answer: 'no' }, `/portal/groups/${openId}`);
      expect((await env.db('group_meeting_rsvps').where({ meeting_id: meetingId, contact_id: w.c.dieter }).first())!.answer).to.equal('no');
      expect((await post(bernd, `/portal/groups/${openId}/meetings/${meetingId}/rsvp`, { answer: 'yes' }, `/portal/groups/${openId}`)).status).to.equal(403);
    });

    it('a change goes to the members as an update with the same link', async () => {
      const values = { ...MEETING, time: '17:00', version: '1' };
      expect((await post(carla, `/portal/groups/${openId}/meetings/${meetingId}/edit`, values, `/portal/groups/${openId}`)).status).to.equal(403);
      const res = await post(board, `/board/groups/${openId}/meetings/${meetingId}/edit`, values, `/board/groups/${openId}/meetings/${meetingId}/edit`);
      expect(res.status).to.equal(303);
      const [inv] = await mailsTo('carla@okertal.example', 'group_meeting_invitation');
      const [upd] = await mailsTo('carla@okertal.example', 'group_meeting_update');
      expect(upd.subject).to.equal('Geändert: Standortmarketing am 10.12.2026, 17:00 Uhr');
      expect(linkIn(upd.text_body)).to.equal(linkIn(inv.text_body));
      expect((await env.db('group_meetings').where({ id: meetingId }).first())!.sequence).to.equal(1);
    });
  });

  describe('documents', () => {
    it('refuses a file that is not a PDF, whatever its name, and an empty upload', async () => {
      let res = await upload(anna, '/portal/groups', openId, Buffer.from('<html>kein PDF</html>'), 'protokoll.pdf');
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-file" class="field-error">Nur PDF-Dateien sind erlaubt/);
      expect(res.text).to.contain('value="Protokoll der Auftaktsitzung"');
      res = await upload(anna, '/portal/groups', openId, Buffer.alloc(0), 'leer.pdf');
      expect(res.status).to.equal(422);
      expect(await env.db('group_documents').select('id')).to.have.length(0);
    });

    it('refuses a file over the size limit', async () => {
      const big = Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024 + 1)]);
      const res = await upload(board, '/board/groups', openId, big, 'gross.pdf');
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('Die Datei ist größer als 10 MB.');
      expect(await env.db('group_documents').select('id')).to.have.length(0);
    });

    it('a member cannot upload; the lead can; members and the board read it, others cannot', async () => {
      expect((await upload(carla, '/portal/groups', openId, PDF, 'p.pdf')).status).to.equal(403);
      expect((await upload(bernd, '/portal/groups', openId, PDF, 'p.pdf')).status).to.equal(403);
      const res = await upload(anna, '/portal/groups', openId, PDF, 'Protokoll März.pdf');
      expect(res.status).to.equal(303);
      const doc = (await env.db('group_documents').first())!;
      const got = await carla.get(`/portal/groups/${openId}/documents/${doc.id}`);
      expect(got.status).to.equal(200);
      expect(got.headers['content-type']).to.equal('application/pdf');
      expect((await board.get(`/board/groups/${openId}/documents/${doc.id}`)).status).to.equal(200);
      expect((await bernd.get(`/portal/groups/${openId}/documents/${doc.id}`)).status).to.equal(403);
      expect((await bernd.get(`/portal/groups/${closedId}/documents/${doc.id}`)).status).to.equal(403);
      expect((await carla.get(`/portal/groups/${closedId}/documents/${doc.id}`)).status).to.equal(404); // the document is not the other group's
      expect((await env.db('audit_log').where({ action: 'group.document_uploaded' })).length).to.equal(1);
    });
  });

  describe('messages', () => {
    it('a member writes to the group: every other member gets it, naming the sender, answers to the sender', async () => {
      const res = await post(carla, `/portal/groups/${openId}/message`, { subject: 'Messestand Hannover', body: 'Wer kommt mit zur Messe?' }, `/portal/groups/${openId}`);
      expect(res.status).to.equal(303);
      const [m] = await mailsTo('anna@harzer.example', 'group_message');
      expect(m.subject).to.equal('[Standortmarketing] Messestand Hannover');
      expect(m.text_body).to.contain('Carla Carstens schreibt an die Arbeitsgruppe Standortmarketing');
      expect(m.text_body).to.contain('Wer kommt mit zur Messe?');
      expect(m.reply_to).to.equal('carla@okertal.example');
      expect(await mailsTo('dieter@okertal.example', 'group_message')).to.have.length(1);
      expect(await mailsTo('carla@okertal.example', 'group_message')).to.have.length(0);
      expect(await mailsTo('bernd@harzer.example', 'group_message')).to.have.length(0);
    });

    it('a non-member cannot write to the group; an empty message is refused next to the field', async () => {
      expect((await post(bernd, `/portal/groups/${openId}/message`, { subject: 'Hallo', body: 'Spam' }, '/portal/groups')).status).to.equal(403);
      const res = await post(carla, `/portal/groups/${openId}/message`, { subject: 'Hallo', body: '  ' }, `/portal/groups/${openId}`);
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-body" class="field-error">Bitte eine Nachricht schreiben/);
      expect(res.text).to.contain('value="Hallo"');
    });
  });

  describe('the board overview and the register', () => {
    it('the overview shows groups, their next meeting and membership', async () => {
      const page = visible((await board.get('/board/groups')).text);
      expect(page).to.contain('Standortmarketing');
      expect(page).to.contain('3 Personen aus 2 Organisationen');
      expect(page).to.contain('10.12.2026, 17:00 Uhr');
      expect(page).to.contain('keine geplant'); // the group by invitation
    });

    it("the register's member page shows the organisation's groups", async () => {
      const page = visible((await board.get(`/board/members/${w.orgB}`)).text);
      expect(page).to.contain('Arbeitsgruppen');
      expect(page).to.match(/Standortmarketing : (Carla Carstens, Dieter Dorn|Dieter Dorn, Carla Carstens)/);
      expect(page).to.contain('Innovationsfinanzierung : Carla Carstens');
    });
  });

  describe('leaving the association', () => {
    it('contacts of an organisation that leaves are in their groups on the last day and out of them the day after', async () => {
      const org = (await env.ctx.members.get(w.orgB))!;
      const { exitDate } = await env.ctx.members.dissolve(ACTOR, w.orgB, { effectiveDate: '2026-12-16', note: 'Auflösung', version: org.version });
      expect(exitDate).to.equal('2026-12-15');
      const [inv] = await mailsTo('carla@okertal.example', 'group_meeting_invitation');
      const token = linkIn(inv.text_body);

      env.clock.set('2026-12-15T22:30:00Z'); // 23:30 in Berlin on the last day
      expect(await memberNames(openId)).to.include('Carla Carstens');
      expect(visible((await carla.get(`/portal/groups/${openId}`)).text)).to.contain('Protokolle und Dokumente');

      env.clock.set('2026-12-15T23:30:00Z'); // 00:30 in Berlin the day after
      expect(await memberNames(openId)).to.deep.equal(['Anna Adler']);
      expect(await memberNames(closedId)).to.deep.equal(['Anna Adler']);
      const page = visible((await carla.get(`/portal/groups/${openId}`)).text);
      expect(page).to.contain('Sitzungen, Dokumente und Mitglieder sehen nur die Mitglieder der Gruppe.');
      const doc = (await env.db('group_documents').first())!;
      expect((await carla.get(`/portal/groups/${openId}/documents/${doc.id}`)).status).to.equal(403);
      expect((await new Browser(env.app).get(`/g/${token}`)).status).to.equal(410);
      expect(await post(carla, `/portal/groups/${openId}/join`, {}, '/portal/groups').then((r) => r.status)).to.equal(303);
      expect(await memberNames(openId)).to.deep.equal(['Anna Adler']); // a former member's contact cannot join again
      await post(anna, `/portal/groups/${openId}/meetings/new`, { ...MEETING, date: '2027-01-14', title: 'Januar' }, `/portal/groups/${openId}/meetings/new`);
      const januar = (await env.db('group_meetings').where({ title: 'Januar' }).first())!;
      expect(await env.db('mail_messages').where({ related_type: 'group_meeting', related_id: januar.id }).pluck('to_address')).to.deep.equal(['anna@harzer.example']);
      expect(visible((await board.get(`/board/members/${w.orgB}`)).text)).to.contain('Keine Kontaktperson ist in einer Arbeitsgruppe.');
    });

    it('cancelling a meeting tells the members still in the group (METHOD:CANCEL)', async () => {
      const mid = (await env.db('group_meetings').where({ title: 'Auftakt' }).first())!.id;
      expect((await post(carla, `/portal/groups/${openId}/meetings/${mid}/cancel`, {}, '/portal/groups')).status).to.equal(403);
      await post(anna, `/portal/groups/${openId}/meetings/${mid}/cancel`, {}, `/portal/groups/${openId}`);
      const cancels = await env.db('mail_messages').where({ template: 'group_meeting_cancel' }).pluck('to_address');
      expect(cancels).to.deep.equal(['anna@harzer.example']);
      const ics = Buffer.from(JSON.parse((await env.db('mail_messages').where({ template: 'group_meeting_cancel' }).first())!.attachments!)[0].contentBase64, 'base64').toString('utf8');
      expect(ics).to.contain('METHOD:CANCEL');
      expect(ics).to.contain('STATUS:CANCELLED');
    });
  });
});
