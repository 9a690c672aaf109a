import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { SmtpSink, type SinkMessage } from '../fakes/smtp-sink.ts';
import { makeOrg, TEST_ACTOR } from './assemblies.fixtures.ts';

const LINK = /\/w\/[A-Za-z0-9_-]{43}/;
const hasPoppler = spawnSync('pdftotext', ['-v']).error === undefined;

function pdfText(pdf: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'written-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.pdf'), pdf);
    return execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', path.join(dir, 'a.pdf'), '-'], { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** supertest buffers application/pdf only when asked to. */
function binary(res: { on(e: string, cb: (c?: Buffer) => void): void }, cb: (err: Error | null, body: Buffer) => void) {
  const chunks: Buffer[] = [];
  res.on('data', (c) => chunks.push(c!));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}

const FORM = { title: 'Beitritt zum Dachverband Chemie Niedersachsen', motionText: 'Der Verein tritt dem Dachverband Chemie Niedersachsen e.V. zum 01.01.2027 bei.', kind: 'resolution', date: '2026-12-10', time: '18:00' };

describe('written resolutions without an assembly (§ 32 Abs. 3 BGB)', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let sink: SmtpSink;
  let board: Browser;
  const org: Record<string, number> = {};
  let categories: Record<string, number> = {};

  /** Sends every queued mail to the SMTP sink and returns the messages to `to` it received. */
  const delivered = async (to: string): Promise<SinkMessage[]> => {
    await env.ctx.outbox.flush();
    return sink.messages.filter((m) => m.envelopeTo.includes(to));
  };
  const linkIn = (m: SinkMessage) => m.text.match(LINK)![0];
  const answer = async (link: string, data: Record<string, string>) => {
    const b = new Browser(env.app);
    return b.submit(link, data);
  };
  const create = async (form: Record<string, string>) => {
    const res = await board.submit('/board/written-resolutions/new', form, '/board/written-resolutions');
    expect(res.status, res.text).to.equal(303);
    return Number(res.headers.location.split('/').pop());
  };
  const show = (id: number) => board.get(`/board/written-resolutions/${id}`);
  const send = (id: number) => board.submit(`/board/written-resolutions/${id}`, {}, `/board/written-resolutions/${id}/send`);
  const determine = (id: number) => board.submit(`/board/written-resolutions/${id}`, {}, `/board/written-resolutions/${id}/determine`);

  before(async () => {
    sink = await SmtpSink.start();
    env = await createTestEnv({ smtpUrl: sink.url });
    const cats = (categories = await makeCategories(env.ctx));
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeUser(env.ctx, 'admin@test.example', ['admin']);
    await makeUser(env.ctx, 'member@test.example', ['member']);
    org.a = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'a@harz.example' });
    org.b = await makeOrg(env.ctx, { name: 'Brocken Analytics Ltd', categoryId: cats.research, repEmail: 'b@brocken.example', repLocale: 'en' });
    org.c = await makeOrg(env.ctx, { name: 'Oker Pigmente KG', categoryId: cats.company, repEmail: 'c@oker.example' });
    org.d = await makeOrg(env.ctx, { name: 'Ohne Mail AG', categoryId: cats.company });
    org.s = await makeOrg(env.ctx, { name: 'Förderkreis Harz', categoryId: cats.supporting, repEmail: 's@foerder.example' });
    // C's representative has an address but withdrew consent to invitations by e-mail: C gets a letter
    await env.db('contacts').where({ organisation_id: org.c }).update({ consent_email_invitations: false });
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });

  after(async () => {
    await env.close();
    await sink.stop();
  });

  it('the settings page says the rule in words, with the BGB default chosen', async () => {
    const admin = new Browser(env.app);
    await admin.login('admin@test.example', PASSWORD);
    const page = await admin.get('/admin/settings');
    expect(page.text).to.contain('Gültig nur, wenn alle stimmberechtigten Mitglieder in Textform zustimmen');
    expect(page.text).to.match(/value="all_consent" checked/);
    // a participation of 0 % is refused next to its field, the choice typed is kept
    const values = Object.fromEntries([...page.text.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const bad = await admin.submit('/admin/settings', { ...values, writtenResolutionMode: 'majority', writtenMinParticipationPercent: '0' });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.match(/id="e-writtenMinParticipationPercent" class="field-error">[^<]+</);
    expect(bad.text).to.match(/value="majority" checked/);
    expect((await env.ctx.settings.rules()).writtenResolutionMode).to.equal('all_consent');
  });

  it('refuses bad input next to the field and keeps what was typed', async () => {
    const res = await board.submit('/board/written-resolutions/new', { ...FORM, title: '', date: '2026-11-01' }, '/board/written-resolutions');
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('Mindestens 3 Zeichen');
    expect(res.text).to.contain('Dachverband Chemie Niedersachsen e.V. zum 01.01.2027');
    const past = await board.submit('/board/written-resolutions/new', { ...FORM, date: '2026-11-01' }, '/board/written-resolutions');
    expect(past.status).to.equal(422);
    expect(past.text).to.contain('Die Frist muss in der Zukunft liegen');
    expect(past.text).to.contain('value="Beitritt zum Dachverband Chemie Niedersachsen"');
    const gap = await board.submit('/board/written-resolutions/new', { ...FORM, date: '2027-03-28', time: '02:30' }, '/board/written-resolutions');
    expect(gap.status).to.equal(422);
    expect(gap.text).to.contain('Diese Uhrzeit gibt es an diesem Tag in Deutschland nicht');
    expect((await env.ctx.assemblies.written.list()).length).to.equal(0);
  });

  it('the BGB default: one member does not answer, the resolution fails; links twice, after the deadline and forged change nothing', async () => {
    env.clock.set('2026-11-25T09:00:00Z');
    const id = await create(FORM);
    expect((await show(id)).text).to.contain('Der Beschluss ist nur gültig, wenn alle stimmberechtigten Mitglieder');

    // CSRF: a post without the form's token sends nothing
    const forged = await board.agent.post(`/board/written-resolutions/${id}/send`).type('form').send({});
    expect(forged.status).to.equal(403);
    expect((await env.ctx.assemblies.written.get(id)).status).to.equal('draft');
    // roles: a member contact may not see or send
    const member = new Browser(env.app);
    await member.login('member@test.example', PASSWORD);
    expect((await member.get(`/board/written-resolutions/${id}`)).status).to.equal(403);

    const sent = await send(id);
    expect(sent.status).to.equal(303);
    const page = await show(id);
    expect(page.text).to.contain('Versandt: 2 per E-Mail, 2 per Brief');
    expect(page.text).not.to.contain('Förderkreis Harz'); // no vote: not on the roll

    // the mails reach the SMTP listener, in the member's language, each with its own link
    const [mailA] = await delivered('a@harz.example');
    const [mailB] = await delivered('b@brocken.example');
    expect(mailA.subject).to.equal('Beschluss ohne Versammlung: Beitritt zum Dachverband Chemie Niedersachsen – Antwort bis 10.12.2026, 18:00 Uhr');
    expect(mailA.text).to.contain('Der Verein tritt dem Dachverband Chemie Niedersachsen e.V. zum 01.01.2027 bei.');
    expect(mailA.text).to.contain('alle stimmberechtigten Mitglieder bis zur Frist in Textform zustimmen');
    expect(mailB.subject).to.match(/^Resolution without an assembly: .* – answer by /);
    expect(await delivered('c@oker.example')).to.have.length(0); // no consent: a letter instead
    expect(await delivered('s@foerder.example')).to.have.length(0);
    const linkA = linkIn(mailA);
    const linkB = linkIn(mailB);
    expect(linkA).not.to.equal(linkB);

    // the letters for C (no consent) and D (no e-mail)
    const pdf = await board.agent.post(`/board/written-resolutions/${id}/letters`).type('form')
      .send({ _csrf: Browser.csrfFrom(page.text) }).buffer(true).parse(binary);
    expect(pdf.status).to.equal(200);
    expect(pdf.headers['content-type']).to.equal('application/pdf');
    const body = pdf.body as Buffer; // why: parsed by binary() above into a Buffer
    expect(body.subarray(0, 5).toString()).to.equal('%PDF-');
    let linkC = '';
    if (hasPoppler) {
      const text = pdfText(body);
      expect(text).to.contain('Oker Pigmente KG');
      expect(text).to.contain('Ohne Mail AG');
      expect(text).not.to.contain('Harzer Spezialchemie');
      expect(text).to.contain('So antworten Sie');
      linkC = text.split('\f').find((p) => p.includes('Oker Pigmente KG'))!.match(LINK)![0];
    }

    // the member's page: motion, deadline, the form with the contact's name
    const view = await new Browser(env.app).get(linkA);
    expect(view.status).to.equal(200);
    expect(view.text).to.contain('Der Verein tritt dem Dachverband');
    expect(view.text).to.contain('10.12.2026, 18:00 Uhr');
    expect(view.text).to.contain('value="Rep Harzer Spezialchemie GmbH"');

    // bad input: no choice, no name → messages next to the fields, nothing recorded
    const bad = await answer(linkA, { answer: '', name: '' });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('Bitte Zustimmung, Ablehnung oder Enthaltung wählen.');
    expect(bad.text).to.contain('Bitte den Namen der Person angeben');

    // A consents (CSRF on the member's page too)
    const noToken = await new Browser(env.app).agent.post(linkA).type('form').send({ answer: 'yes', name: 'Dr. Petra Harz' });
    expect(noToken.status).to.equal(403);
    expect((await answer(linkA, { answer: 'yes', name: 'Dr. Petra Harz' })).status).to.equal(303);
    const receipt = (await delivered('a@harz.example')).find((m) => m.subject.startsWith('Ihre Antwort ist eingegangen'));
    expect(receipt?.text).to.contain('Dr. Petra Harz');
    expect(receipt?.text).to.contain('Zustimmung');

    // the link used twice: the answer is shown, no form; a second post changes nothing
    const again = await new Browser(env.app).get(linkA);
    expect(again.text).to.contain('Gespeichert: Zustimmung, erklärt von Dr. Petra Harz');
    expect(again.text).not.to.contain('name="answer"');
    const other = new Browser(env.app);
    const token = Browser.csrfFrom((await other.get(linkB)).text); // A's page has no form any more
    const twice = await other.agent.post(linkA).type('form').send({ answer: 'no', name: 'Someone Else', _csrf: token });
    expect(twice.status).to.equal(409);
    expect(twice.text).to.contain('Gespeichert: Zustimmung, erklärt von Dr. Petra Harz');

    expect((await answer(linkB, { answer: 'yes', name: 'Jane Brocken' })).status).to.equal(303);
    if (linkC) expect((await answer(linkC, { answer: 'yes', name: 'Otto Oker' })).status).to.equal(303);
    else await env.db('assembly_written_ballots').where({ organisation_id: org.c }).update({ answer: 'yes', answered_at: '2026-11-26T10:00:00.000Z', answered_name: 'Otto Oker' });

    // a forged link: a clear page
    const fake = await new Browser(env.app).get(`/w/${'A'.repeat(43)}`);
    expect(fake.status).to.equal(404);
    expect(fake.text).to.contain('Link ungültig');

    // the board's live view: 3 of 4, D has not answered, still reachable; too early to determine
    const live = await show(id);
    expect(live.text).to.contain('3 von 4 stimmberechtigten Mitgliedern haben zugestimmt');
    expect(live.text).to.contain('Die Annahme ist noch möglich.');
    expect(live.text).to.contain('Dr. Petra Harz');
    const early = await determine(id);
    expect(early.status).to.equal(303);
    expect((await show(id)).text).to.contain('Das Ergebnis kann erst nach Ablauf der Frist festgestellt werden');
    expect((await env.ctx.assemblies.written.get(id)).status).to.equal('sent');

    // after the deadline: the link is closed, nothing changes
    env.clock.set('2026-12-10T17:00:00Z'); // 18:00 in Berlin
    const late = await new Browser(env.app).get(linkB);
    expect(late.status).to.equal(410);
    expect(late.text).to.contain('Frist abgelaufen');
    expect(late.text).to.contain('Gespeichert: Zustimmung, erklärt von Jane Brocken');

    // the result: not adopted (D did not answer), recorded with the evidence and mailed to the members
    expect((await determine(id)).status).to.equal(303);
    const decided = await env.ctx.assemblies.written.get(id);
    expect(decided).to.include({ status: 'decided', adopted: false });
    expect(decided.evidence!.ballots.map((b) => [b.organisation, b.answer, b.answeredName])).to.deep.include.members([
      ['Harzer Spezialchemie GmbH', 'yes', 'Dr. Petra Harz'], ['Ohne Mail AG', null, null],
    ]);
    const result = await show(id);
    expect(result.text).to.contain('nicht zustande gekommen');
    expect(result.text).not.to.contain('Ergebnis feststellen</button>');
    const [resultA] = (await delivered('a@harz.example')).filter((m) => m.subject.startsWith('Ergebnis'));
    expect(resultA.subject).to.equal('Ergebnis: „Beitritt zum Dachverband Chemie Niedersachsen“ ist nicht zustande gekommen');
    expect(resultA.text).to.contain('Zustimmung: 3 · Ablehnung: 0 · Enthaltung: 0 · keine Antwort: 1');
    expect((await delivered('b@brocken.example')).some((m) => m.subject.startsWith('Result: '))).to.equal(true);
    for (const html of [result.text, view.text, again.text, live.text, late.text]) expect(html).not.to.match(/\[object Object\]|undefined/);
    const decidedLink = await new Browser(env.app).get(linkA);
    expect(decidedLink.status).to.equal(410);

    // the members asked by letter (C without consent, D without e-mail) get the result as a letter
    expect(result.text).to.contain('Ergebnis als Brief (PDF)');
    expect(result.text).to.contain('2 Mitglieder wurden per Brief gefragt');
    const letters = await board.agent.post(`/board/written-resolutions/${id}/result-letters`).type('form')
      .send({ _csrf: Browser.csrfFrom(result.text) }).buffer(true).parse(binary);
    expect(letters.status).to.equal(200);
    expect(letters.headers['content-type']).to.equal('application/pdf');
    expect(letters.headers['content-disposition']).to.contain(`Umlaufbeschluss-${id}-Ergebnis-Briefe.pdf`);
    const resultPdf = letters.body as Buffer; // why: parsed by binary() above into a Buffer
    if (hasPoppler) {
      const pages = pdfText(resultPdf).split('\f').filter((p) => p.trim());
      expect(pages).to.have.length(2);
      const oker = pages.find((p) => p.includes('Oker Pigmente KG'))!;
      expect(oker).to.contain('nicht zustande gekommen: 3 von 4 stimmberechtigten Mitgliedern haben zugestimmt');
      expect(oker).to.contain('Zustimmung: 3 · Ablehnung: 0 · Enthaltung: 0 · keine Antwort: 1');
      expect(oker).not.to.contain('So antworten Sie'); // nothing left to answer
      expect(pages.some((p) => p.includes('Ohne Mail AG'))).to.equal(true);
      expect(pdfText(resultPdf)).not.to.contain('Harzer Spezialchemie GmbH'); // asked by e-mail: the mail is its result
    }
    // before the result there is nothing to print; a member may not print
    const memberPrint = await member.agent.post(`/board/written-resolutions/${id}/result-letters`).type('form').send({ _csrf: Browser.csrfFrom(result.text) });
    expect(memberPrint.status).to.equal(403);

    // every step is in the audit log
    const actions = (await env.db('audit_log').where({ entity_type: 'written_resolution', entity_id: id }).select('action')).map((r) => r.action);
    expect(actions).to.include.members(['written.created', 'written.sent', 'written.letters_printed', 'written.answered', 'written.decided', 'written.result_letters_printed']);
    expect(actions.filter((a) => a === 'written.answered')).to.have.length(3);
  });

  it('bylaws allowing a majority with a minimum participation: passes; a member who left can no longer answer and is not counted', async () => {
    env.clock.set('2026-11-25T09:00:00Z');
    await env.ctx.settings.updateRules(TEST_ACTOR, { ...(await env.ctx.settings.rules()), writtenResolutionMode: 'majority', writtenMinParticipationPercent: 50 });
    const e = await makeOrg(env.ctx, { name: 'Goslar Glas GmbH', categoryId: categories.company, repEmail: 'e@glas.example' });
    const id = await create({ ...FORM, title: 'Neue Beitragsordnung ab 2027' });
    expect((await show(id)).text).to.contain('Nach der Satzung gilt: einfache Mehrheit der abgegebenen Stimmen');
    await send(id);
    const link = async (to: string) => linkIn((await delivered(to)).filter((m) => m.subject.includes('Neue Beitragsordnung'))[0]);
    const [la, lb, le] = [await link('a@harz.example'), await link('b@brocken.example'), await link('e@glas.example')];

    // E leaves before answering: its link shows a clear page, nothing is recorded
    await env.db('organisations').where({ id: e }).update({ exit_date: '2026-11-24', status: 'former' });
    const gone = await new Browser(env.app).get(le);
    expect(gone.status).to.equal(403);
    expect(gone.text).to.contain('nicht mehr Mitglied');
    const b = new Browser(env.app);
    const page = await b.get(lb);
    const post = await b.agent.post(le).type('form').send({ answer: 'no', name: 'Eva Glas', _csrf: Browser.csrfFrom(page.text) });
    expect(post.status).to.equal(403);

    expect((await answer(la, { answer: 'yes', name: 'Dr. Petra Harz' })).status).to.equal(303);
    expect((await answer(lb, { answer: 'abstain', name: 'Jane Brocken' })).status).to.equal(303);
    const live = await show(id);
    expect(live.text).to.contain('ausgetreten, zählt nicht');
    expect(live.text).to.contain('1 Ja, 0 Nein, 1 Enthaltungen bei 2 von 4 Antworten');

    env.clock.set('2026-12-11T08:00:00Z');
    await determine(id);
    const decided = await env.ctx.assemblies.written.get(id);
    expect(decided).to.include({ status: 'decided', adopted: true });
    expect(decided.evidence!.ballots.find((x) => x.organisation === 'Goslar Glas GmbH')).to.include({ answer: null, counted: false });
    const [mail] = (await delivered('a@harz.example')).filter((m) => m.subject.includes('Neue Beitragsordnung') && m.subject.startsWith('Ergebnis'));
    expect(mail.subject).to.equal('Ergebnis: „Neue Beitragsordnung ab 2027“ ist angenommen');
    expect(await delivered('e@glas.example')).to.satisfy((ms: SinkMessage[]) => !ms.some((m) => m.subject.startsWith('Ergebnis')));
    // a second determination changes nothing
    await determine(id);
    expect((await show(id)).text).to.contain('Das Ergebnis ist schon festgestellt.');
    const list = await board.get('/board/written-resolutions');
    expect(list.text).to.contain('Neue Beitragsordnung ab 2027');
    expect(list.text).to.contain('nicht zustande gekommen'); // the first one
    expect(list.text).not.to.match(/\[object Object\]|undefined/);
    expect((await board.get('/board/assemblies')).text).to.contain('href="/board/written-resolutions"');
  });
});
