import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { makeOrg, linkFor, TEST_ACTOR } from './assemblies.fixtures.ts';

/** A small but real PDF (header, one empty page, trailer). */
export function tinyPdf(label = 'Unterlage'): Buffer {
  return Buffer.from(`%PDF-1.4\n% ${label}\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`, 'latin1');
}

describe('assemblies: documents and the minutes as PDF (multipart upload)', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let board: Browser;
  let id: number;
  const org: Record<string, number> = {};

  before(async () => {
    env = await createTestEnv();
    const cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    org.a = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'a@harz.example' });
    org.b = await makeOrg(env.ctx, { name: 'Clausthal Research Institute', categoryId: cats.research, repEmail: 'b@tu.example', repLocale: 'en' });
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    id = await env.ctx.assemblies.assembly.create(TEST_ACTOR, {
      title: 'Mitgliederversammlung 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 120,
      format: 'in_person', location: 'Kaiserpfalz Goslar', participationInfo: '', copyAllContacts: false,
    });
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Jahresabschluss 2025', description: '', kind: 'resolution', proposedText: '' });
  });
  after(async () => env.close());

  async function upload(path: string, page: string, content: Buffer | undefined, name = 'Haushaltsplan 2027.pdf', who = board) {
    const token = Browser.csrfFrom((await who.get(page)).text);
    const req = who.agent.post(path).field('_csrf', token);
    return content ? req.attach('file', content, name) : req;
  }
  const binary = (who: Browser, url: string) => who.agent.get(url).buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  });
  const attachmentRows = () => env.db('assembly_attachments').where({ assembly_id: id });

  it('uploads a PDF document that the board and each invitee can open, audited', async () => {
    const res = await upload(`/board/assemblies/${id}/attachments`, `/board/assemblies/${id}`, tinyPdf(), 'Haushaltsplan März 2027.pdf');
    expect(res.status).to.equal(303);
    const page = await board.get(res.headers.location);
    expect(page.text).to.contain('Unterlage hochgeladen.');
    expect(page.text).to.contain('Haushaltsplan März 2027.pdf');
    const [row] = await attachmentRows();
    const file = await binary(board, `/board/assemblies/${id}/attachments/${row.id}`);
    expect(file.status).to.equal(200);
    expect(file.headers['content-type']).to.equal('application/pdf');
    expect((file.body as Buffer).equals(tinyPdf())).to.equal(true);
    const audit = await env.ctx.audit.list({ entityType: 'assembly', entityId: id, action: 'assembly.attachment_added' });
    expect(audit).to.have.length(1);
    expect(audit[0].after).to.include({ filename: 'Haushaltsplan März 2027.pdf' });

    // invited members see it on their personal page and can download it through their link
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);
    const link = await linkFor(env.ctx, 'a@harz.example');
    const guest = new Browser(env.app);
    const personal = await guest.get(link);
    expect(personal.text).to.contain('Haushaltsplan März 2027.pdf');
    const dl = await guest.get(`${link}/attachments/${row.id}`);
    expect(dl.status).to.equal(200);
    expect(dl.headers['content-type']).to.equal('application/pdf');
  });

  it('refuses a file that is not a PDF, whatever its name, and stores nothing', async () => {
    const before = (await attachmentRows()).length;
    const res = await upload(`/board/assemblies/${id}/attachments`, `/board/assemblies/${id}`, Buffer.from('MZ\x90\x00 not a pdf at all', 'latin1'), 'rechnung.pdf');
    expect(res.status).to.equal(303);
    expect((await board.get(res.headers.location)).text).to.contain('Bitte eine PDF-Datei hochladen.');
    expect(await attachmentRows()).to.have.length(before);
  });

  it('refuses a file over 10 MB with a clear message, and a form without a file', async () => {
    const before = (await attachmentRows()).length;
    const big = Buffer.concat([tinyPdf(), Buffer.alloc(10 * 1024 * 1024, 0x20)]);
    const res = await upload(`/board/assemblies/${id}/attachments`, `/board/assemblies/${id}`, big);
    expect(res.status).to.equal(303);
    expect((await board.get(res.headers.location)).text).to.contain('Die Datei ist zu groß: höchstens 10 MB.');
    const none = await upload(`/board/assemblies/${id}/attachments`, `/board/assemblies/${id}`, undefined);
    expect(none.status).to.equal(303);
    expect((await board.get(none.headers.location)).text).to.contain('Bitte eine PDF-Datei auswählen.');
    expect(await attachmentRows()).to.have.length(before);
  });

  it('checks the role before reading the upload and the CSRF token after it', async () => {
    const before = (await attachmentRows()).length;
    const anon = await new Browser(env.app).agent.post(`/board/assemblies/${id}/attachments`).attach('file', tinyPdf(), 'x.pdf');
    expect(anon.status).to.equal(303);
    expect(anon.headers.location).to.equal('/login');
    const treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
    const token = Browser.csrfFrom((await treasurer.get('/treasurer')).text);
    const t = await treasurer.agent.post(`/board/assemblies/${id}/attachments`).field('_csrf', token).attach('file', tinyPdf(), 'x.pdf');
    expect(t.status).to.equal(403);
    const noToken = await board.agent.post(`/board/assemblies/${id}/attachments`).attach('file', tinyPdf(), 'x.pdf');
    expect(noToken.status).to.equal(403);
    expect(await attachmentRows()).to.have.length(before);
  });

  it('takes the minutes as a PDF once the assembly has begun, keeps it from members until sent, then mails it with the minutes', async () => {
    const early = await upload(`/board/assemblies/${id}/minutes/file`, `/board/assemblies/${id}/results`, tinyPdf('Protokoll'), 'Protokoll.pdf');
    expect(early.status).to.equal(303);
    expect((await board.get(early.headers.location)).text).to.contain('Die Versammlung hat noch nicht begonnen.');
    expect(await env.ctx.assemblies.minutes.file(id)).to.equal(undefined);

    env.clock.set('2026-12-19T20:30:00Z');
    try {
      const first = await upload(`/board/assemblies/${id}/minutes/file`, `/board/assemblies/${id}/results`, tinyPdf('Entwurf'), 'Protokoll-Entwurf.pdf');
      expect((await board.get(first.headers.location)).text).to.contain('Protokoll-PDF gespeichert.');
      const res = await upload(`/board/assemblies/${id}/minutes/file`, `/board/assemblies/${id}/results`, tinyPdf('Unterschrieben'), 'Protokoll MV 2026 unterschrieben.pdf');
      expect(res.status).to.equal(303);
      const page = await board.get(`/board/assemblies/${id}/results`);
      expect(page.text).to.contain('Protokoll MV 2026 unterschrieben.pdf');
      expect(page.text).not.to.contain('Protokoll-Entwurf.pdf'); // replaced, not piled up
      const file = (await env.ctx.assemblies.minutes.file(id))!;
      expect(await env.db('assembly_attachments').where({ filename: 'Protokoll-Entwurf.pdf' })).to.have.length(0);
      const audit = await env.ctx.audit.list({ entityType: 'assembly', entityId: id, action: 'assembly.minutes_file_saved' });
      expect(audit).to.have.length(2);

      // not one of the invitation documents, and not reachable for members before it is sent
      expect((await env.ctx.assemblies.attachments.list(id)).map((a) => a.filename)).not.to.include('Protokoll MV 2026 unterschrieben.pdf');
      const portalView = await env.ctx.assemblies.answers.memberView((await env.ctx.assemblies.sending.invitations(id))[0], await env.ctx.assemblies.assembly.get(id));
      expect(portalView.minutes).to.equal(undefined);
      expect(await env.ctx.assemblies.attachments.forMember(id, file.id).then(() => 'served', (e: { status?: number }) => e.status)).to.equal(404);

      // a PDF alone is enough to send the minutes; the mail carries it
      const send = await board.submit(`/board/assemblies/${id}/results`, {}, `/board/assemblies/${id}/minutes/send`);
      expect(send.status).to.equal(303);
      await env.ctx.assemblies.jobs.idle(id);
      const mails = await env.db('mail_messages').where({ template: 'assembly_minutes' });
      expect(mails.map((m) => m.to_address).sort()).to.deep.equal(['a@harz.example', 'b@tu.example']);
      const atts = JSON.parse(mails[0].attachments!) as { filename: string; contentType: string; contentBase64: string }[];
      // the minutes PDF made from the record, then the signed copy as uploaded
      expect(atts.map((a) => a.filename)).to.deep.equal(['Protokoll Mitgliederversammlung 2026 19.12.2026.pdf', 'Protokoll MV 2026 unterschrieben.pdf']);
      expect(Buffer.from(atts[1].contentBase64, 'base64').toString('latin1')).to.contain('Unterschrieben');
      expect((await env.ctx.assemblies.attachments.forMember(id, file.id)).filename).to.equal('Protokoll MV 2026 unterschrieben.pdf');

      // once sent, the minutes PDF cannot be replaced any more
      const late = await upload(`/board/assemblies/${id}/minutes/file`, `/board/assemblies/${id}/results`, tinyPdf(), 'Neu.pdf');
      expect((await board.get(late.headers.location)).text).to.contain('Das Protokoll ist bereits versandt.');
    } finally {
      env.clock.set('2026-11-25T09:00:00Z');
    }
  });

  it("shows the organisation's assemblies, answer, proxy and attendance in the register", async () => {
    const other = await env.ctx.assemblies.assembly.create(TEST_ACTOR, {
      title: 'Außerordentliche Versammlung 2027', kind: 'extraordinary', date: '2027-02-20', time: '10:00', durationMinutes: 60,
      format: 'in_person', location: 'Goslar', participationInfo: '', copyAllContacts: false,
    });
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, other, { title: 'Satzung', description: '', kind: 'resolution', proposedText: '' });
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, other);
    await env.ctx.assemblies.jobs.idle(other);
    const invs = await env.ctx.assemblies.sending.invitations(other);
    const invA = invs.find((i) => i.organisationId === org.a)!;
    await env.ctx.assemblies.answers.rsvp(TEST_ACTOR, invA, { attending: 'no', peopleCount: 0, names: '' }, 'board');
    await env.ctx.assemblies.answers.giveProxy(TEST_ACTOR, invA, org.b, 'link');

    const page = await board.get(`/board/members/${org.a}`);
    expect(page.status).to.equal(200);
    const section = page.text.slice(page.text.indexOf('id="h-assemblies"'), page.text.indexOf('id="h-audit"'));
    expect(section).to.contain('Mitgliederversammlung 2026');
    expect(section).to.contain('Außerordentliche Versammlung 2027');
    expect(section).to.contain('Clausthal Research Institute'); // proxy holder
    expect(section).to.contain(`/board/assemblies/${other}`);
    await env.ctx.assemblies.day.checkIn(TEST_ACTOR, other, org.b, 'in', 'Prof. Berg');
    const bPage = await board.get(`/board/members/${org.b}`);
    const bRow = bPage.text.slice(bPage.text.indexOf('Außerordentliche Versammlung 2027'));
    expect(bRow.slice(0, bRow.indexOf('</tr>'))).to.match(/<td>Ja<\/td>$/);
    const aRow = section.slice(section.indexOf('Außerordentliche Versammlung 2027'));
    expect(aRow.slice(0, aRow.indexOf('</tr>'))).to.match(/<td>–<\/td>$/);
    const fresh = await makeOrg(env.ctx, { name: 'Noch nie eingeladen GmbH', categoryId: (await env.ctx.settings.categories())[0].id, repEmail: 'n@n.example' });
    const empty = await board.get(`/board/members/${fresh}`);
    expect(empty.text).to.contain('Zu keiner Versammlung eingeladen.');
  });
});
