import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { makeOrg, TEST_ACTOR } from './assemblies.fixtures.ts';

const hasPoppler = spawnSync('pdftotext', ['-v']).error === undefined && spawnSync('pdfinfo', ['-v']).error === undefined;
const LINK = /\/a\/[A-Za-z0-9_-]{43}/g;

const FORM = {
  title: 'Ordentliche Mitgliederversammlung 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: '120',
  format: 'in_person', location: 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar', participationInfo: '',
};

/** Runs a poppler tool on the PDF and returns what it prints. */
function poppler(tool: 'pdftotext' | 'pdfinfo', pdf: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letters-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.pdf'), pdf);
    const args = tool === 'pdftotext' ? ['-layout', '-enc', 'UTF-8', path.join(dir, 'a.pdf'), '-'] : [path.join(dir, 'a.pdf')];
    return execFileSync(tool, args, { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Skips a test that must read the PDF when poppler-utils is not installed, saying so. */
function needPoppler(test: Mocha.Context): void {
  if (hasPoppler) return;
  console.warn('    (skipped: pdftotext/pdfinfo from poppler-utils not installed; cannot read the PDF)');
  test.skip();
}

const pages = (pdf: Buffer) => Number(poppler('pdfinfo', pdf).match(/^Pages:\s+(\d+)/m)![1]);

/** supertest buffers application/pdf only when asked to. */
function binary(res: { on(e: string, cb: (c?: Buffer) => void): void }, cb: (err: Error | null, body: Buffer) => void) {
  const chunks: Buffer[] = [];
  res.on('data', (c) => chunks.push(c!));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}

describe('assemblies: invitation letters as PDF for members without e-mail', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let board: Browser;
  let id: number;
  let draftId: number;
  const org: Record<string, number> = {};
  const inv: Record<string, number> = {};
  let singleLink = '';

  before(async () => {
    env = await createTestEnv();
    const cats = await makeCategories(env.ctx);
    const association = await env.ctx.settings.association();
    await env.ctx.settings.updateAssociation(TEST_ACTOR, {
      ...association, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      boardMembers: 'Dr. Anna Beispiel (Vorsitzende)\nBernd Muster (Schatzmeister)',
    });
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    await makeUser(env.ctx, 'member@test.example', ['member']);
    org.mail = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'a@harz.example' });
    org.de = await makeOrg(env.ctx, { name: 'Ohne Mail KG', categoryId: cats.company });
    org.en = await makeOrg(env.ctx, { name: 'Brocken Analytics Ltd', categoryId: cats.research, repLocale: 'en' });
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);

    draftId = Number((await board.submit('/board/assemblies/new', { ...FORM, title: 'Entwurf' }, '/board/assemblies')).headers.location.split('/').pop());
    const res = await board.submit('/board/assemblies/new', FORM, '/board/assemblies');
    id = Number(res.headers.location.split('/').pop());
    await board.submit(`/board/assemblies/${id}`, { title: 'Bericht des Vorstands', kind: 'report', description: 'Rückblick 2026', proposedText: '' }, `/board/assemblies/${id}/agenda`);
    await board.submit(`/board/assemblies/${id}`, { title: 'Wahl des Vorstands', kind: 'election', description: '', proposedText: '' }, `/board/assemblies/${id}/agenda`);
    expect((await board.submit(`/board/assemblies/${id}`, {}, `/board/assemblies/${id}/send`)).status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(id);
    for (const i of await env.ctx.assemblies.sending.invitations(id)) {
      if (i.organisationId === org.de) inv.de = i.id;
      if (i.organisationId === org.en) inv.en = i.id;
      if (i.organisationId === org.mail) inv.mail = i.id;
    }
    expect(Boolean(inv.de && inv.en && inv.mail)).to.equal(true);
  });
  after(async () => env.close());

  async function download(action: string) {
    const page = await board.get(`/board/assemblies/${id}/recipients`);
    return board.agent.post(action).type('form').send({ _csrf: Browser.csrfFrom(page.text) }).buffer(true).parse(binary);
  }

  it('offers the PDFs on the recipients page and on the printed letters page', async () => {
    const page = await board.get(`/board/assemblies/${id}/recipients`);
    expect(page.text).to.contain(`action="/board/assemblies/${id}/letters.pdf"`);
    expect(page.text).to.contain('Alle 2 Briefe als PDF');
    expect(page.text).to.contain(`action="/board/assemblies/${id}/invitations/${inv.de}/letter.pdf"`);
    expect(page.text).to.contain(`action="/board/assemblies/${id}/invitations/${inv.en}/letter.pdf"`);
    expect(page.text).not.to.contain(`/invitations/${inv.mail}/letter.pdf`); // invited by e-mail: no letter
    const letters = await board.submit(`/board/assemblies/${id}/recipients`, {}, `/board/assemblies/${id}/letters`);
    expect(letters.status).to.equal(200);
    expect(letters.text).to.contain(`action="/board/assemblies/${id}/letters.pdf"`);
    expect(letters.text).to.contain(`action="/board/assemblies/${id}/invitations/${inv.de}/letter.pdf"`);
  });

  it('downloads one letter as PDF with sender, recipient, place and date, subject, agenda, the personal link and the board', async function () {
    const res = await download(`/board/assemblies/${id}/invitations/${inv.de}/letter.pdf`);
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.equal('application/pdf');
    expect(res.headers['content-disposition']).to.match(/^attachment; filename="Einladung-/);
    const pdf = res.body as Buffer;
    expect(pdf.subarray(0, 5).toString()).to.equal('%PDF-');

    const audit = await env.db('audit_log').where({ entity_type: 'assembly', entity_id: id, action: 'assembly.letters_printed' }).orderBy('id', 'desc').first();
    expect(JSON.parse(audit.after)).to.deep.equal({ count: 1, format: 'pdf', invitationId: inv.de });

    needPoppler(this);
    const text = poppler('pdftotext', pdf);
    for (const s of [
      'ChemieNetzwerk Harz e.V.', 'Adolph-Roemer-Straße 2A', // sender
      'Ohne Mail KG', 'Rep Ohne Mail KG', 'Marktstraße 1', '38640 Goslar', // recipient: organisation, voting representative, address
      'Clausthal-Zellerfeld, 25.11.2026', // place and date
      'Einladung zur ordentlichen Mitgliederversammlung am 19.12.2026', 'Ordentliche Mitgliederversammlung 2026', // subject and title
      '19.12.2026, 18:00 Uhr', 'Kaiserpfalz Goslar', // when and where
      '1. Bericht des Vorstands', '2. Wahl des Vorstands', // agenda
      'Vollmacht', 'Anträge zur Tagesordnung können bis einschließlich', // how to take part
      'Der Vorstand des ChemieNetzwerk Harz e.V.', 'Dr. Anna Beispiel (Vorsitzende)', // signature with the board
    ]) expect(text, s).to.contain(s);
    expect(text).not.to.contain('Brocken Analytics Ltd'); // only this member's letter
    expect(text).not.to.contain('Kalendereintrag'); // no attachment on paper
    expect(pages(pdf)).to.equal(1);

    // the printed address is a working personal link for this member
    const links = text.match(LINK)!;
    expect(links).to.have.length(1);
    expect(text).to.contain(`${env.config.baseUrl}${links[0]}`);
    singleLink = links[0];
    const personal = await new Browser(env.app).get(links[0]);
    expect(personal.status).to.equal(200);
    expect(personal.text).to.contain('Persönliche Seite für Ohne Mail KG');
  });

  it("writes the letter in the representative's language", async function () {
    const res = await download(`/board/assemblies/${id}/invitations/${inv.en}/letter.pdf`);
    expect(res.status).to.equal(200);
    needPoppler(this);
    const text = poppler('pdftotext', res.body as Buffer);
    expect(text).to.contain('Brocken Analytics Ltd');
    expect(text).to.contain('Invitation to the ordinary general assembly on 19/12/2026');
    expect(text).to.contain('Clausthal-Zellerfeld, 25/11/2026');
    expect(text).to.contain('Board: Dr. Anna Beispiel (Vorsitzende)');
    expect(text).to.match(LINK);
  });

  it('puts all letters into one PDF, one letter per page, each with its own fresh link; earlier links stay valid', async function () {
    const before = await env.db('assembly_invitation_tokens').where({ purpose: 'letter' }).count({ n: '*' });
    const res = await download(`/board/assemblies/${id}/letters.pdf`);
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.equal('application/pdf');
    expect(res.headers['content-disposition']).to.contain('Einladungsbriefe-2026-11-25.pdf');
    const pdf = res.body as Buffer;
    expect(pdf.subarray(0, 5).toString()).to.equal('%PDF-');
    const after = await env.db('assembly_invitation_tokens').where({ purpose: 'letter' }).count({ n: '*' });
    expect(Number(after[0].n) - Number(before[0].n)).to.equal(2); // a link for each of the two letters
    const audit = await env.db('audit_log').where({ entity_type: 'assembly', entity_id: id, action: 'assembly.letters_printed' }).orderBy('id', 'desc').first();
    expect(JSON.parse(audit.after)).to.deep.equal({ count: 2, format: 'pdf' });
    expect(audit.actor_label).to.equal('board');

    needPoppler(this);
    expect(pages(pdf)).to.equal(2);
    const text = poppler('pdftotext', pdf);
    const [page1, page2] = text.split('\f');
    expect(page1).to.contain('Ohne Mail KG');
    expect(page1).to.contain('Clausthal-Zellerfeld, 25.11.2026');
    expect(page2).to.contain('Brocken Analytics Ltd');
    expect(page2).to.contain('Invitation to the ordinary general assembly on 19/12/2026');
    const links = text.match(LINK)!;
    expect(links).to.have.length(2);
    expect(links[0]).not.to.equal(links[1]);
    expect(links).not.to.include(singleLink);
    const first = await new Browser(env.app).get(links[0]);
    expect(first.text).to.contain('Persönliche Seite für Ohne Mail KG');
    const earlier = await new Browser(env.app).get(singleLink); // the letter downloaded before still works
    expect(earlier.status).to.equal(200);
    expect(earlier.text).to.contain('Persönliche Seite für Ohne Mail KG');
  });

  it('refuses letters before the invitations went out', async () => {
    const page = await board.get(`/board/assemblies/${draftId}`);
    const res = await board.agent.post(`/board/assemblies/${draftId}/letters.pdf`).type('form').send({ _csrf: Browser.csrfFrom(page.text) });
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal(`/board/assemblies/${draftId}/recipients`);
    const single = await board.agent.post(`/board/assemblies/${id}/invitations/${inv.mail}/letter.pdf`).type('form').send({ _csrf: Browser.csrfFrom(page.text) });
    expect(single.status).to.equal(404); // invited by e-mail: there is no letter
  });

  it('is for the board only: 403 for member and treasurer, sign-in for anonymous', async () => {
    const urls = [`/board/assemblies/${id}/letters.pdf`, `/board/assemblies/${id}/invitations/${inv.de}/letter.pdf`];
    for (const who of ['member', 'treasurer']) {
      const b = new Browser(env.app);
      await b.login(`${who}@test.example`, PASSWORD);
      const token = Browser.csrfFrom((await b.get('/account')).text);
      for (const url of urls) {
        const res = await b.agent.post(url).type('form').send({ _csrf: token });
        expect(res.status, `${who} ${url}`).to.equal(403);
        expect(res.headers['content-type']).not.to.contain('pdf');
      }
    }
    const anon = new Browser(env.app);
    const token = Browser.csrfFrom((await anon.get('/login')).text);
    for (const url of urls) {
      const res = await anon.agent.post(url).type('form').send({ _csrf: token });
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal('/login');
    }
  });
});
