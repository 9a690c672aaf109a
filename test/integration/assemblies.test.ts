import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/logger.ts';
import { makeOrg, linkFor, TEST_ACTOR } from './assemblies.fixtures.ts';

const FORM = {
  title: 'Ordentliche Mitgliederversammlung 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: '120',
  format: 'in_person', location: 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar', participationInfo: '',
};

describe('assemblies: preparing and sending invitations', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let board: Browser;
  let cats: Record<string, number>;
  const org: Record<string, number> = {};

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    await makeUser(env.ctx, 'admin@test.example', ['admin']);
    org.a = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'a@harz.example', others: ['a2@harz.example'] });
    org.b = await makeOrg(env.ctx, { name: 'Clausthal Research Institute', categoryId: cats.research, repEmail: 'b@tu.example', repLocale: 'en' });
    org.c = await makeOrg(env.ctx, { name: 'Oker Pigmente AG', categoryId: cats.company, repEmail: 'c@oker.example' });
    org.d = await makeOrg(env.ctx, { name: 'Ohne Mail KG', categoryId: cats.company });
    org.leaving = await makeOrg(env.ctx, { name: 'Kündigt Ende Jahr GmbH', categoryId: cats.company, repEmail: 'l@leaving.example', exitDate: '2026-12-31' });
    org.supporting = await makeOrg(env.ctx, { name: 'Förderbank Harz', categoryId: cats.supporting, repEmail: 's@foerder.example' });
    org.former = await makeOrg(env.ctx, { name: 'Ehemals GmbH', categoryId: cats.company, repEmail: 'f@former.example', exitDate: '2026-06-30' });
    org.future = await makeOrg(env.ctx, { name: 'Neumitglied GmbH', categoryId: cats.company, repEmail: 'n@new.example', joinDate: '2027-01-01' });
    // these tests follow bylaws that invite only the members with a vote (the default, every member, is in assemblies-attendance.test.ts)
    await env.ctx.settings.updateRules({ userId: null, label: 'test' }, { ...(await env.ctx.settings.rules()), attendanceRight: 'voting_members' });
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => env.close());

  async function createAssembly(form: Record<string, string> = FORM): Promise<number> {
    const res = await board.submit('/board/assemblies/new', form, '/board/assemblies');
    expect(res.status).to.equal(303);
    return Number(res.headers.location.split('/').pop());
  }

  async function addItem(id: number, item: Record<string, string>) {
    const res = await board.submit(`/board/assemblies/${id}`, item, `/board/assemblies/${id}/agenda`);
    expect(res.status).to.equal(303);
  }

  it('lets only the board manage assemblies', async () => {
    const anon = await new Browser(env.app).get('/board/assemblies');
    expect(anon.status).to.equal(303);
    expect(anon.headers.location).to.equal('/login');
    for (const who of ['treasurer', 'admin']) {
      const b = new Browser(env.app);
      await b.login(`${who}@test.example`, PASSWORD);
      expect((await b.get('/board/assemblies')).status).to.equal(403);
      expect((await b.get('/board/assemblies/new')).status).to.equal(403);
    }
    expect((await board.get('/board/assemblies')).status).to.equal(200);
  });

  it('requires how members take part electronically for hybrid and virtual assemblies (§ 32 Abs. 2 BGB)', async () => {
    const res = await board.submit('/board/assemblies/new', { ...FORM, format: 'virtual', location: '' }, '/board/assemblies');
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('§ 32 Abs. 2 BGB');
    expect(res.text).to.contain('value="Ordentliche Mitgliederversammlung 2026"');
    const inPerson = await board.submit('/board/assemblies/new', { ...FORM, location: '' }, '/board/assemblies');
    expect(inPerson.status).to.equal(422);
    expect(inPerson.text).to.contain('Bitte den Ort der Versammlung angeben.');
  });

  it('builds the agenda in order: add, move, edit, delete; bylaws changes need the proposed wording', async () => {
    const id = await createAssembly();
    const page = await board.get(`/board/assemblies/${id}`);
    expect(page.text).to.contain('Letzter Tag für den Versand');
    expect(page.text).to.contain('04.12.2026'); // 19.12. − 14 days − 1
    expect(page.text).to.contain('noch rechtzeitig');
    const bad = await board.submit(`/board/assemblies/${id}`, { title: 'Satzungsänderung § 5', kind: 'bylaws_change', description: '', proposedText: '' }, `/board/assemblies/${id}/agenda`);
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('vorgeschlagenen Wortlaut');
    await addItem(id, { title: 'Bericht des Vorstands', kind: 'report', description: '', proposedText: '' });
    await addItem(id, { title: 'Entlastung des Vorstands', kind: 'resolution', description: '', proposedText: '' });
    await addItem(id, { title: 'Satzungsänderung § 5', kind: 'bylaws_change', description: 'Beitragsordnung', proposedText: '§ 5 lautet künftig: …' });
    let agenda = await env.ctx.assemblies.assembly.agenda(id);
    expect(agenda.map((i) => i.title)).to.deep.equal(['Bericht des Vorstands', 'Entlastung des Vorstands', 'Satzungsänderung § 5']);
    await board.submit(`/board/assemblies/${id}`, { direction: 'up' }, `/board/assemblies/${id}/agenda/${agenda[2].id}/move`);
    agenda = await env.ctx.assemblies.assembly.agenda(id);
    expect(agenda.map((i) => i.title)).to.deep.equal(['Bericht des Vorstands', 'Satzungsänderung § 5', 'Entlastung des Vorstands']);
    const edit = await board.submit(`/board/assemblies/${id}/agenda/${agenda[0].id}/edit`, { title: 'Jahresbericht des Vorstands', kind: 'report', description: '', proposedText: '' }, `/board/assemblies/${id}/agenda/${agenda[0].id}`);
    expect(edit.status).to.equal(303);
    await board.submit(`/board/assemblies/${id}`, {}, `/board/assemblies/${id}/agenda/${agenda[2].id}/delete`);
    agenda = await env.ctx.assemblies.assembly.agenda(id);
    expect(agenda.map((i) => [i.position, i.title])).to.deep.equal([[1, 'Jahresbericht des Vorstands'], [2, 'Satzungsänderung § 5']]);
  });

  it('refuses to send without an agenda', async () => {
    const id = await createAssembly({ ...FORM, title: 'Ohne Tagesordnung' });
    const res = await board.submit(`/board/assemblies/${id}`, {}, `/board/assemblies/${id}/send`);
    expect(res.status).to.equal(303);
    const page = await board.get(res.headers.location);
    expect(page.text).to.contain('Ohne Tagesordnung kann nicht eingeladen werden.');
    expect((await env.ctx.assemblies.assembly.get(id)).status).to.equal('draft');
    expect(await env.ctx.assemblies.sending.invitations(id)).to.have.length(0);
  });

  let mainId: number;

  it('previews the invitation exactly as the member gets it', async () => {
    mainId = await createAssembly();
    await addItem(mainId, { title: 'Bericht des Vorstands', kind: 'report', description: 'Rückblick 2026', proposedText: '' });
    await addItem(mainId, { title: 'Satzungsänderung § 5', kind: 'bylaws_change', description: '', proposedText: 'Der Jahresbeitrag wird von der Mitgliederversammlung festgesetzt.' });
    const res = await board.get(`/board/assemblies/${mainId}/preview`);
    expect(res.status).to.equal(200);
    expect(res.text).to.contain('Einladung zur ordentlichen Mitgliederversammlung am 19.12.2026');
    expect(res.text).to.contain('1. Bericht des Vorstands');
    expect(res.text).to.contain('Der Jahresbeitrag wird von der Mitgliederversammlung festgesetzt.');
    expect(res.text).to.contain('Harzer Spezialchemie GmbH');
    expect(res.text).to.contain('19.12.2026, 18:00 Uhr');
    const html = await board.get(`/board/assemblies/${mainId}/preview/html`);
    expect(html.text).to.contain('Satzungsänderung § 5');
  });

  it('sends one personal invitation per voting member on the sending day, once, with calendar file and link', async () => {
    const first = await board.submit(`/board/assemblies/${mainId}`, {}, `/board/assemblies/${mainId}/send`);
    expect(first.status).to.equal(303);
    // a second board member presses send at the same time: no second job, no second mail
    const second = await board.submit(`/board/assemblies/${mainId}`, {}, `/board/assemblies/${mainId}/send`);
    expect(second.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(mainId);
    const jobs = await env.ctx.assemblies.jobs.all(mainId);
    expect(jobs).to.have.length(1);
    expect(jobs[0]).to.include({ status: 'done', progress: 4, total: 4 });

    const invs = await env.ctx.assemblies.sending.invitations(mainId);
    expect(invs.map((i) => i.organisationId).sort()).to.deep.equal([org.a, org.b, org.c, org.d, org.leaving].sort());
    expect(invs.find((i) => i.organisationId === org.d)).to.include({ channel: 'letter', to: '' });
    for (const excluded of ['s@foerder.example', 'f@former.example', 'n@new.example']) expect(await env.ctx.outbox.forRecipient(excluded)).to.have.length(0);

    const a = await env.ctx.outbox.forRecipient('a@harz.example');
    expect(a).to.have.length(1);
    expect(a[0].cc).to.deep.equal([]); // no copy unless the assembly says so
    expect(a[0].subject).to.equal('Einladung zur ordentlichen Mitgliederversammlung am 19.12.2026: Ordentliche Mitgliederversammlung 2026');
    expect(a[0].attachments.map((x) => x.filename)).to.deep.equal(['einladung.ics']);
    const b = await env.ctx.outbox.forRecipient('b@tu.example');
    expect(b[0].subject).to.contain('Invitation to the ordinary general assembly on 19/12/2026');
    expect(b[0].text).to.contain('Motions for the agenda can be submitted through your personal link until 12/12/2026');

    // the .ics: stable UID, SEQUENCE 0, REQUEST
    const row = (await env.db('mail_messages').where({ id: a[0].id }).first())!;
    const ics = Buffer.from(JSON.parse(row.attachments!)[0].contentBase64, 'base64').toString('utf8');
    const assembly = await env.ctx.assemblies.assembly.get(mainId);
    expect(ics).to.contain(`UID:${assembly.uid}`);
    expect(ics).to.contain('SEQUENCE:0');
    expect(ics).to.contain('METHOD:REQUEST');
    expect(ics).to.contain('DTSTART;TZID=Europe/Berlin:20261219T180000'); // 17:00 UTC, in Berlin time with the zone (issue 10)
    expect(ics).to.contain('BEGIN:VTIMEZONE');

    // personal links differ per member and are stored only hashed
    const la = await linkFor(env.ctx, 'a@harz.example');
    const lb = await linkFor(env.ctx, 'b@tu.example');
    expect(la).not.to.equal(lb);
    const tokens = await env.db('assembly_invitation_tokens').select('token_hash');
    expect(tokens.map((t) => t.token_hash)).not.to.include(la.slice(3));

    const page = await board.get(`/board/assemblies/${mainId}`);
    expect(page.text).to.contain('Einladung versandt am');
    const audit = await env.ctx.audit.list({ entityType: 'assembly', entityId: mainId, action: 'assembly.invitations_started' });
    expect(audit).to.have.length(1);
  });

  it('shows the delivery log with the SMTP answer and lists members for a printed letter', async () => {
    await env.ctx.outbox.flush();
    const res = await board.get(`/board/assemblies/${mainId}/recipients`);
    expect(res.text).to.contain('a@harz.example');
    expect(res.text).to.contain('250 stored in memory');
    expect(res.text).to.contain('zugestellt an Server');
    expect(res.text).to.contain('1 Brief drucken');
    const letters = await board.submit(`/board/assemblies/${mainId}/recipients`, {}, `/board/assemblies/${mainId}/letters`);
    expect(letters.status).to.equal(200);
    expect(letters.text).to.contain('Ohne Mail KG');
    expect(letters.text).to.match(/\/a\/[A-Za-z0-9_-]{43}/);
    // the letter's link works
    const link = letters.text.match(/\/a\/[A-Za-z0-9_-]{43}/)![0];
    const page = await new Browser(env.app).get(link);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('Persönliche Seite für Ohne Mail KG');
  });

  it('resends a failed invitation to the corrected address', async () => {
    const inv = (await env.ctx.assemblies.sending.invitations(mainId)).find((i) => i.organisationId === org.c)!;
    await env.db('mail_messages').where({ id: inv.mailMessageId! }).update({ status: 'failed', last_response: '550 5.1.1 mailbox unknown' });
    await env.db('contacts').where({ organisation_id: org.c, is_representative: true }).update({ email: 'c.new@oker.example' });
    let res = await board.get(`/board/assemblies/${mainId}/recipients`);
    expect(res.text).to.contain('550 5.1.1 mailbox unknown');
    res = await board.submit(`/board/assemblies/${mainId}/recipients`, {}, `/board/assemblies/${mainId}/invitations/${inv.id}/resend`);
    expect(res.status).to.equal(303);
    const mails = await env.ctx.outbox.forRecipient('c.new@oker.example');
    expect(mails).to.have.length(1);
    expect(mails[0].attachments[0].filename).to.equal('einladung.ics');
  });

  it('sends reminders only to those who have not answered', async () => {
    const link = await linkFor(env.ctx, 'a@harz.example');
    const guest = new Browser(env.app);
    const r = await guest.submit(link, { attending: 'yes', peopleCount: '2', names: 'Dr. Anna Berg, Jan Koch' }, `${link}/rsvp`);
    expect(r.status).to.equal(303);
    const res = await board.submit(`/board/assemblies/${mainId}/recipients`, {}, `/board/assemblies/${mainId}/remind`);
    expect(res.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(mainId);
    const reminders = await env.db('mail_messages').where({ template: 'assembly_reminder' });
    expect(reminders.map((m) => m.to_address).sort()).to.deep.equal(['b@tu.example', 'c@oker.example', 'l@leaving.example']);
  });

  it('increments SEQUENCE when time or place change and sends the update; a cancellation sends METHOD:CANCEL', async () => {
    const before = await env.ctx.assemblies.assembly.get(mainId);
    const res = await board.submit(`/board/assemblies/${mainId}/edit`, { ...FORM, time: '17:00' }, `/board/assemblies/${mainId}`);
    expect(res.status).to.equal(303);
    const after = await env.ctx.assemblies.assembly.get(mainId);
    expect(after.sequence).to.equal(before.sequence + 1);
    expect(after.uid).to.equal(before.uid);
    const page = await board.get(`/board/assemblies/${mainId}`);
    expect(page.text).to.contain('Aktualisierung an alle Eingeladenen senden');
    // the board is told that the notice period starts again for the changed date
    expect(page.text).to.contain('Die Einladungsfrist beginnt für den geänderten Termin mit dem Versand der Aktualisierung neu');
    await board.submit(`/board/assemblies/${mainId}`, {}, `/board/assemblies/${mainId}/send-update`);
    await env.ctx.assemblies.jobs.idle(mainId);
    const updates = await env.db('mail_messages').where({ template: 'assembly_update' });
    expect(updates).to.have.length(4);
    const ics = Buffer.from(JSON.parse(updates[0].attachments!)[0].contentBase64, 'base64').toString('utf8');
    expect(ics).to.contain(`UID:${before.uid}`);
    expect(ics).to.contain('SEQUENCE:1');
    expect(ics).to.contain('DTSTART;TZID=Europe/Berlin:20261219T170000'); // 16:00 UTC in Berlin time (issue 10)
    // editing the title only does not bump the sequence
    await board.submit(`/board/assemblies/${mainId}/edit`, { ...FORM, time: '17:00', title: 'MV 2026' }, `/board/assemblies/${mainId}`);
    expect((await env.ctx.assemblies.assembly.get(mainId)).sequence).to.equal(1);

    const other = await createAssembly({ ...FORM, title: 'Wird abgesagt' });
    await addItem(other, { title: 'Wahl', kind: 'election', description: '', proposedText: '' });
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, other);
    await env.ctx.assemblies.jobs.idle(other);
    await board.submit(`/board/assemblies/${other}`, {}, `/board/assemblies/${other}/cancel`);
    await env.ctx.assemblies.jobs.idle(other);
    const cancels = await env.db('mail_messages').where({ template: 'assembly_cancel' });
    expect(cancels).to.have.length(4);
    const cics = Buffer.from(JSON.parse(cancels[0].attachments!)[0].contentBase64, 'base64').toString('utf8');
    expect(cics).to.contain('METHOD:CANCEL');
    expect(cics).to.contain('STATUS:CANCELLED');
    expect(cics).to.contain(`UID:${(await env.ctx.assemblies.assembly.get(other)).uid}`);
    expect(cics).to.contain('SEQUENCE:1');
    // the personal link now says the assembly is cancelled
    const mails = await env.db('mail_messages').where({ template: 'assembly_invitation', to_address: 'b@tu.example' }).orderBy('id', 'desc');
    const link = mails[0].text_body.match(/\/a\/[A-Za-z0-9_-]{43}/)![0];
    const page2 = await new Browser(env.app).get(link);
    expect(page2.status).to.equal(410);
    expect(page2.text).to.contain('Versammlung abgesagt');
  });

  it('refuses late sending without a reason and allows it with one (recorded and audited)', async () => {
    env.clock.set('2026-12-10T09:00:00Z');
    try {
      const id = await createAssembly({ ...FORM, title: 'Kurzfristig', date: '2026-12-20' });
      await addItem(id, { title: 'Wahl des Vorstands', kind: 'election', description: '', proposedText: '' });
      const page = await board.get(`/board/assemblies/${id}`);
      expect(page.text).to.contain('Frist verpasst');
      expect(page.text).to.contain('05.12.2026');
      const refused = await board.submit(`/board/assemblies/${id}`, { overrideReason: '' }, `/board/assemblies/${id}/send`);
      const after = await board.get(refused.headers.location);
      expect(after.text).to.contain('Die Einladungsfrist ist verpasst (letzter Tag: 05.12.2026');
      expect((await env.ctx.assemblies.assembly.get(id)).status).to.equal('draft');
      expect(await env.ctx.assemblies.sending.invitations(id)).to.have.length(0);

      const ok = await board.submit(`/board/assemblies/${id}`, { overrideReason: 'Dringende Satzungsänderung auf Verlangen des Registergerichts' }, `/board/assemblies/${id}/send`);
      expect(ok.status).to.equal(303);
      await env.ctx.assemblies.jobs.idle(id);
      expect((await env.ctx.assemblies.assembly.get(id)).status).to.equal('invited');
      expect(await env.ctx.assemblies.sending.invitations(id)).to.have.length(5);
      const audit = await env.ctx.audit.list({ entityType: 'assembly', entityId: id, action: 'assembly.late_sending_override' });
      expect(audit).to.have.length(1);
      expect(audit[0].after).to.include({ reason: 'Dringende Satzungsänderung auf Verlangen des Registergerichts', lastSendDay: '2026-12-05', sendDay: '2026-12-10' });
      expect(audit[0].actorLabel).to.equal('board');
      const shown = await board.get(`/board/assemblies/${id}`);
      expect(shown.text).to.contain('Dringende Satzungsänderung auf Verlangen des Registergerichts');
    } finally {
      env.clock.set('2026-11-25T09:00:00Z');
    }
  });

  it('offers no sending for an assembly that has begun, and refuses a send posted anyway', async () => {
    const id = await createAssembly({ ...FORM, title: 'Schon vorbei', date: '2026-12-01' });
    await addItem(id, { title: 'Bericht des Vorstands', kind: 'report', description: '', proposedText: '' });
    expect((await board.get(`/board/assemblies/${id}`)).text).to.contain('Einladungen jetzt versenden'); // still in the future
    env.clock.set('2026-12-02T09:00:00Z');
    try {
      const page = await board.get(`/board/assemblies/${id}`);
      expect(page.status).to.equal(200);
      expect(page.text).not.to.contain('Einladungen jetzt versenden');
      expect(page.text).not.to.contain(`action="/board/assemblies/${id}/send"`);
      expect(page.text).to.contain('Die Versammlung liegt in der Vergangenheit.');
      const refused = await board.submit(`/board/assemblies/${id}`, { overrideReason: 'trotzdem' }, `/board/assemblies/${id}/send`);
      expect(refused.status).to.equal(303);
      const after = await board.get(refused.headers.location);
      expect(after.text).to.contain('Die Versammlung liegt in der Vergangenheit.');
      expect((await env.ctx.assemblies.assembly.get(id)).status).to.equal('draft');
      expect(await env.ctx.assemblies.sending.invitations(id)).to.have.length(0);
    } finally {
      env.clock.set('2026-11-25T09:00:00Z');
    }
  });

  it('never sends twice: a job run again, or resumed after a crash, skips what was enqueued', async () => {
    const id = await createAssembly({ ...FORM, title: 'Absturztest' });
    await addItem(id, { title: 'Bericht', kind: 'report', description: '', proposedText: '' });
    const jobs = env.ctx.assemblies.jobs;
    jobs.autoStart = false;
    jobs.crashAfter = 2;
    let jobId: number;
    try {
      jobId = await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
      void env.ctx.jobs.execute(jobId); // this "process" dies after two mails (never returns, keeps its lock)
      for (let i = 0; i < 200; i++) {
        const [{ n }] = await env.db('assembly_invitations').where({ assembly_id: id }).whereNotNull('mail_message_id').count({ n: '*' });
        if (Number(n) >= 2) break;
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      jobs.autoStart = true;
      jobs.crashAfter = undefined;
    }
    const stuck = await env.ctx.jobs.get(jobId);
    expect(stuck!.status).to.equal('running');
    expect(await env.ctx.assemblies.sending.invitations(id)).to.have.length(5); // every recipient recorded first
    const progressPage = await board.get(`/board/assemblies/${id}`);
    expect(progressPage.text).to.match(/<progress value="2" max="4">/);
    expect(progressPage.text).to.contain('<meta http-equiv="refresh" content="2">');

    // a restarted process: a fresh context on the same database. While the lock holds it must not take over.
    const restarted = createContext({ config: env.config, db: env.db, clock: env.clock, log: createLogger('silent'), transport: env.transport });
    expect((await restarted.jobs.execute(jobId)).status).to.equal('running');
    await env.db('jobs').where({ id: jobId }).update({ locked_until: '2000-01-01T00:00:00.000Z' });
    const done = await restarted.jobs.execute(jobId);
    expect(done.status).to.equal('done');
    expect(done.progress).to.equal(4);
    // run it once more: nothing new
    await restarted.jobs.execute(jobId);
    await restarted.assemblies.sending.startSending(TEST_ACTOR, id).catch(() => undefined);
    const perInvitation = await env.db('mail_messages').where({ template: 'assembly_invitation' })
      .whereIn('related_id', (await env.ctx.assemblies.sending.invitations(id)).map((i) => i.id)).select('related_id').count({ n: '*' }).groupBy('related_id');
    expect(perInvitation).to.have.length(4);
    for (const r of perInvitation) expect(Number(r.n)).to.equal(1);
  });
});
