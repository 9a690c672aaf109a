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

const hasPdftotext = spawnSync('pdftotext', ['-v']).error === undefined;

/** The text of a PDF as pdftotext reads it, whitespace collapsed (a line may wrap). */
function pdfText(pdf: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minutes-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.pdf'), pdf);
    return execFileSync('pdftotext', ['-enc', 'UTF-8', path.join(dir, 'a.pdf'), '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The message under a field (field partial and the minutes form: <small id="e-name" class="field-error">). */
function fieldError(html: string, name: string): string | undefined {
  return html.match(new RegExp(`<small id="e-${name}" class="field-error">([^<]*)</small>`))?.[1];
}

const decode = (s: string) => s.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&#x60;/g, '`');

function minutesPdfOf(m: SinkMessage) {
  const att = m.parsed.attachments.find((a) => a.contentType === 'application/pdf');
  if (!att) throw new Error(`no PDF attached to "${m.subject}"`);
  return att;
}

describe('assemblies: the minutes with chair, minute-taker and signing day, mailed as PDF, corrected only by a recorded amendment', function () {
  this.timeout(90_000);
  let sink: SmtpSink;
  let env: TestEnv;
  let board: Browser;
  let id: number;
  const item: Record<string, number> = {};
  const base = () => `/board/assemblies/${id}`;
  const saveMinutes = (data: Record<string, string>) => board.submit(`${base()}/results`, data, `${base()}/minutes`);

  before(async () => {
    sink = await SmtpSink.start();
    env = await createTestEnv({ smtpUrl: sink.url });
    const cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    const orgs = [
      await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'a@harz.example' }),
      await makeOrg(env.ctx, { name: 'Brandt Analytik GmbH', categoryId: cats.company, repEmail: 'b@brandt.example' }),
      await makeOrg(env.ctx, { name: 'Clausthal Research Institute', categoryId: cats.research, repEmail: 'c@tu.example', repLocale: 'en' }),
    ];
    id = await env.ctx.assemblies.assembly.create(TEST_ACTOR, {
      title: 'MV 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 120, format: 'in_person', location: 'Kaiserpfalz Goslar', participationInfo: '', copyAllContacts: false,
    });
    item.report = await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Bericht des Vorstands', description: '', kind: 'report', proposedText: '' });
    item.bylaws = await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Satzungsänderung § 5', description: '', kind: 'bylaws_change', proposedText: '§ 5 neu' });
    item.discharge = await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Entlastung des Vorstands', description: '', kind: 'resolution', proposedText: '' });
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);
    await env.ctx.outbox.flush();
    await sink.waitFor(3);
    // the day: three members checked in with the people who came
    env.clock.set('2026-12-19T17:30:00Z');
    const people = ['Dr. Katrin Wölfel', 'Jonas Brandt', 'Mia Laurent'];
    for (const [i, o] of orgs.entries()) await env.ctx.assemblies.day.checkIn(TEST_ACTOR, id, o, 'in', people[i]);
    await env.ctx.assemblies.day.recordResolution(TEST_ACTOR, id, item.bylaws, { yes: '2', no: '1', abstain: '0', invalid: '0', absentConsents: '', note: '', reason: '' });
    await env.ctx.assemblies.day.recordResolution(TEST_ACTOR, id, item.discharge, { yes: '2', no: '0', abstain: '1', invalid: '0', absentConsents: '', note: '', reason: '' });
    env.clock.set('2026-12-21T10:00:00Z');
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => {
    await env.close();
    await sink.stop();
  });

  it('offers the people checked in as chair and minute-taker, checks the fields and keeps what was typed', async () => {
    const page = await board.get(`${base()}/results`);
    expect(page.text).to.contain('<option value="Dr. Katrin Wölfel">Dr. Katrin Wölfel (Harzer Spezialchemie GmbH)</option>');
    expect(page.text).to.contain('Datum der Unterzeichnung');

    const before = await saveMinutes({ chair: 'Dr. Katrin Wölfel', minuteTaker: '', minuteTakerOther: 'Paula Gast', signedOn: '2026-12-18', body: 'Beginn 18:05 Uhr.' });
    expect(before.status).to.equal(422);
    expect(fieldError(before.text, 'signedOn')).to.equal('Die Unterzeichnung kann nicht vor der Versammlung (19.12.2026) liegen.');
    expect(before.text).to.contain('value="Paula Gast"');
    expect(before.text).to.contain('>Beginn 18:05 Uhr.</textarea>');
    expect(before.text).to.contain('<option value="Dr. Katrin Wölfel" selected>');

    const future = await saveMinutes({ chair: '', chairOther: 'Dr. Katrin Wölfel', minuteTakerOther: 'Paula Gast', signedOn: '2026-12-24', body: 'x' });
    expect(fieldError(future.text, 'signedOn')).to.equal('Das Datum liegt in der Zukunft.');
    const noDay = await saveMinutes({ chairOther: 'Dr. Katrin Wölfel', signedOn: '31.02.2026', body: 'x' });
    expect(fieldError(noDay.text, 'signedOn')).to.equal('Bitte ein Datum angeben (TT.MM.JJJJ).');
    const notPresent = await saveMinutes({ chair: 'Erika Mustermann', signedOn: '', body: 'x' });
    expect(fieldError(notPresent.text, 'chair')).to.equal('Bitte eine Person aus der Liste wählen oder den Namen eintragen.');
    expect(await env.ctx.assemblies.minutes.get(id)).to.equal(undefined);

    const ok = await saveMinutes({ chair: 'Dr. Katrin Wölfel', minuteTaker: '', minuteTakerOther: 'Paula Gast', signedOn: '20.12.2026', body: 'Beginn 18:05 Uhr. Die Versammlung ist ordnungsgemäß eingeladen.' });
    expect(ok.status).to.equal(303);
    expect(await env.ctx.assemblies.minutes.get(id)).to.include({ chair: 'Dr. Katrin Wölfel', minuteTaker: 'Paula Gast', signedOn: '2026-12-20' });
    const again = await board.get(`${base()}/results`);
    expect(again.text).to.contain('<option value="Dr. Katrin Wölfel" selected>');
    expect(again.text).to.contain('value="Paula Gast"'); // not on the attendance list: in the free-text field

    // the board sees the PDF before sending
    const pdf = await board.agent.get(`${base()}/minutes.pdf`).buffer(true).parse((res, cb) => { const c: Buffer[] = []; res.on('data', (d: Buffer) => c.push(d)); res.on('end', () => cb(null, Buffer.concat(c))); });
    expect(pdf.headers['content-type']).to.equal('application/pdf');
    if (hasPdftotext) expect(pdfText(pdf.body as Buffer)).to.contain('Versammlungsleitung: Dr. Katrin Wölfel');
  });

  it('mails the minutes with the minutes PDF attached: chair, minute-taker, signing day and the results; the footer is no invitation', async function () {
    const sent = await board.submit(`${base()}/results`, {}, `${base()}/minutes/send`);
    expect(sent.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(id);
    await env.ctx.outbox.flush();
    await sink.waitFor(6);
    const [mail] = sink.to('a@harz.example').filter((m) => m.subject.startsWith('Protokoll:'));
    expect(mail.subject).to.equal('Protokoll: MV 2026 am 19.12.2026');
    expect(mail.text).to.contain('anbei das Protokoll der Mitgliederversammlung „MV 2026“');
    expect(mail.text).to.contain('Versammlungsleitung: Dr. Katrin Wölfel; Protokollführung: Paula Gast; unterzeichnet am 20.12.2026.');
    expect(mail.text).to.contain('Diese Nachricht geht in Textform an die Vertretung von Harzer Spezialchemie GmbH');
    expect(mail.text).not.to.contain('Einladung');
    expect(mail.html).not.to.contain('Einladung');
    const att = minutesPdfOf(mail);
    expect(att.filename).to.equal('Protokoll MV 2026 19.12.2026.pdf');
    if (!hasPdftotext) { console.warn('    (pdftotext not installed: PDF text not read)'); this.skip(); }
    const text = pdfText(att.content);
    expect(text).to.contain('Protokoll der ordentlichen Mitgliederversammlung');
    expect(text).to.contain('Versammlungsleitung: Dr. Katrin Wölfel');
    expect(text).to.contain('Protokollführung: Paula Gast');
    expect(text).to.contain('Anwesend laut Anwesenheitsliste: 3 von 3 stimmberechtigten Mitgliedern');
    expect(text).to.contain('abgelehnt mit 2 von 3 abgegebenen Stimmen, erforderlich ¾ = 2,25');
    expect(text).to.contain('angenommen mit 2 von 2 abgegebenen Stimmen, erforderlich mehr als ½ = 1');
    expect(text).to.contain('Datum der Unterzeichnung: 20.12.2026');
    expect(text).to.contain('Beginn 18:05 Uhr.');

    // in the member's language
    const [en] = sink.to('c@tu.example').filter((m) => m.subject.startsWith('Minutes'));
    expect(en.text).to.contain('Chair: Dr. Katrin Wölfel; minute-taker: Paula Gast; signed on 20/12/2026.');
    expect(en.text).not.to.contain('invitation');
    expect(pdfText(minutesPdfOf(en).content)).to.contain('Chair: Dr. Katrin Wölfel');
  });

  it('refuses to change sent minutes without a reason; a correction is recorded, shown in the history and named in the corrected minutes', async function () {
    const values = { chair: 'Dr. Katrin Wölfel', minuteTaker: '', minuteTakerOther: 'Paula Gast', signedOn: '2026-12-20', body: 'Beginn 18:05 Uhr. Die Versammlung ist ordnungsgemäß eingeladen. Ende 19:40 Uhr.' };
    const page = await board.get(`${base()}/results`);
    expect(page.text).to.contain('Grund der Berichtigung');
    const refused = await saveMinutes({ ...values, reason: '' });
    expect(refused.status).to.equal(422);
    expect(fieldError(refused.text, 'reason')).to.equal('Das Protokoll ist versandt: Bitte die Berichtigung begründen.');
    expect(refused.text).to.contain('Ende 19:40 Uhr.</textarea>');
    const unchanged = await saveMinutes({ ...values, body: 'Beginn 18:05 Uhr. Die Versammlung ist ordnungsgemäß eingeladen.', reason: 'nur so' });
    expect(fieldError(unchanged.text, 'reason')).to.equal('Nichts geändert: Die Berichtigung weicht nicht vom versandten Protokoll ab.');
    expect((await env.ctx.assemblies.minutes.get(id))!.body).not.to.contain('Ende 19:40');
    expect(await env.db('assembly_minutes_amendments')).to.have.length(0);

    env.clock.set('2026-12-22T09:00:00Z');
    const ok = await saveMinutes({ ...values, reason: 'Ende der Versammlung ergänzt' });
    expect(ok.status).to.equal(303);
    expect((await env.ctx.assemblies.minutes.get(id))!.body).to.contain('Ende 19:40 Uhr.');
    const [row] = await env.db('assembly_minutes_amendments');
    expect(row).to.include({ reason: 'Ende der Versammlung ergänzt', sent_at: null });
    const who = String(row.actor_label);
    expect(row.user_id).to.be.a('number');
    const [audit] = await env.ctx.audit.list({ action: 'assembly.minutes_amended' });
    expect(audit.after).to.include({ reason: 'Ende der Versammlung ergänzt' });
    // a result corrected too
    await env.ctx.assemblies.day.recordResolution(TEST_ACTOR, id, item.discharge, { yes: '3', no: '0', abstain: '0', invalid: '0', absentConsents: '', note: '', reason: 'Enthaltung war eine Ja-Stimme' });

    const history = decode((await board.get(`${base()}/results`)).text);
    expect(history).to.contain('Verlauf des Protokolls');
    expect(history).to.match(/21\.12\.2026, 11:00 Uhr: an die Mitglieder versandt/);
    expect(history).to.contain(`22.12.2026, 10:00 Uhr, ${who}: Protokolltext: „Beginn 18:05 Uhr. Die Versammlung ist ordnungsgemäß eingeladen.“ → „Beginn 18:05 Uhr. Die Versammlung ist ordnungsgemäß eingeladen. Ende 19:40 Uhr.“. Grund: Ende der Versammlung ergänzt`);
    expect(history).to.contain('Ergebnis zu TOP 3 Entlastung des Vorstands berichtigt von Ja 2, Nein 0, Enthaltungen 1, ungültig 0 auf Ja 3, Nein 0, Enthaltungen 0, ungültig 0. Grund: Enthaltung war eine Ja-Stimme');
    expect(history).to.contain('Berichtigtes Protokoll versenden');

    const resend = await board.submit(`${base()}/results`, {}, `${base()}/minutes/send-corrected`);
    expect(resend.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(id);
    await env.ctx.outbox.flush();
    await sink.waitFor(9);
    const [mail] = sink.to('a@harz.example').filter((m) => m.subject.startsWith('Berichtigtes Protokoll'));
    expect(mail.subject).to.equal('Berichtigtes Protokoll: MV 2026 am 19.12.2026');
    expect(mail.text).to.contain('wurde berichtigt. Das berichtigte Protokoll ist als PDF angehängt.');
    expect(mail.text).to.contain('Berichtigt wurde:');
    expect(mail.text).to.contain('Grund: Ende der Versammlung ergänzt');
    expect(mail.text).to.contain('Grund: Enthaltung war eine Ja-Stimme');
    expect(mail.text).not.to.contain('Einladung');
    if (hasPdftotext) {
      const text = pdfText(minutesPdfOf(mail).content);
      expect(text).to.contain('Berichtigungen nach dem Versand');
      expect(text).to.contain('Ende 19:40 Uhr.');
      expect(text).to.contain('Grund: Ende der Versammlung ergänzt');
      expect(text).to.contain('angenommen mit 3 von 3 abgegebenen Stimmen');
    }
    const after = await board.get(`${base()}/results`);
    expect(after.text).not.to.contain('Berichtigtes Protokoll versenden');
    expect(after.text).to.contain('berichtigtes Protokoll versandt');
    // nothing new corrected: refused
    const twice = await board.submit(`${base()}/results`, {}, `${base()}/minutes/send-corrected`);
    expect((await board.get(twice.headers.location)).text).to.contain('Seit dem letzten Versand wurde nichts berichtigt');
    expect(sink.to('a@harz.example').filter((m) => m.subject.startsWith('Berichtigtes'))).to.have.length(1);
  });
});
