import { expect } from 'chai';
import ICAL from 'ical.js';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories } from '../helpers/fixtures.ts';
import { SmtpSink, type SinkMessage } from '../fakes/smtp-sink.ts';
import { makeOrg, TEST_ACTOR } from './assemblies.fixtures.ts';
import type { AssemblyInput } from '../../server/assemblies/assemblies.schemas.ts';

const INPUT: AssemblyInput = {
  title: 'Ordentliche Mitgliederversammlung 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 150,
  format: 'hybrid', location: 'Kaiserpfalz Goslar, Kaiserbleek 6; 38640 Goslar', participationInfo: 'Videokonferenz: https://meet.example/mv2026, Abstimmung im Chat.', copyAllContacts: false,
};

/** The .ics part of a received mail, parsed back with an iCalendar parser (ical.js). */
function calendarOf(m: SinkMessage) {
  const att = m.parsed.attachments.find((a) => a.filename === 'einladung.ics');
  if (!att) throw new Error(`no einladung.ics in "${m.subject}"`);
  const cal = new ICAL.Component(ICAL.parse(att.content.toString('utf8')));
  // as a calendar program does: the file's own VTIMEZONE says what TZID=Europe/Berlin means
  const tz = cal.getFirstSubcomponent('vtimezone');
  if (tz) ICAL.TimezoneService.register(tz);
  const ev = cal.getFirstSubcomponent('vevent');
  if (!ev) throw new Error('no VEVENT');
  const event = new ICAL.Event(ev);
  return { att, cal, ev, event };
}

describe('assemblies: invitations through a real SMTP listener, calendar file parsed back', function () {
  this.timeout(60_000);
  let sink: SmtpSink;
  let env: TestEnv;
  let id: number;

  before(async () => {
    sink = await SmtpSink.start();
    env = await createTestEnv({ smtpUrl: sink.url });
    const cats = await makeCategories(env.ctx);
    await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'a@harz.example' });
    await makeOrg(env.ctx, { name: 'Clausthal Research Institute', categoryId: cats.research, repEmail: 'b@tu.example', repLocale: 'en' });
    id = await env.ctx.assemblies.assembly.create(TEST_ACTOR, INPUT);
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Bericht des Vorstands', description: '', kind: 'report', proposedText: '' });
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Wahl des Vorstands', description: '', kind: 'election', proposedText: '' });
  });
  after(async () => {
    await env.close();
    await sink.stop();
  });

  async function deliver(n: number): Promise<void> {
    await env.ctx.outbox.flush();
    await sink.waitFor(n);
  }

  it('delivers each invitation with text, HTML, the personal link and a calendar entry that a calendar program reads', async () => {
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);
    await deliver(2);
    const assembly = await env.ctx.assemblies.assembly.get(id);

    const a = sink.to('a@harz.example')[0];
    const stored = (await env.ctx.outbox.forRecipient('a@harz.example'))[0];
    expect(a.messageId).to.equal(stored.messageId);
    expect(a.subject).to.equal('Einladung zur ordentlichen Mitgliederversammlung am 19.12.2026: Ordentliche Mitgliederversammlung 2026');
    expect(a.text).to.match(/http:\/\/127\.0\.0\.1:3999\/a\/[A-Za-z0-9_-]{43}/);
    expect(a.text).to.contain('2. Wahl des Vorstands');
    expect(a.text).to.contain('https://meet.example/mv2026'); // § 32 Abs. 2 BGB: how to take part electronically
    expect(a.html).to.contain('Wahl des Vorstands');

    const { att, cal, ev, event } = calendarOf(a);
    expect(att.contentType).to.equal('text/calendar');
    expect(cal.getFirstPropertyValue('method')).to.equal('REQUEST');
    expect(event.uid).to.equal(assembly.uid);
    expect(event.sequence).to.equal(0);
    expect(event.startDate.toJSDate().toISOString()).to.equal('2026-12-19T17:00:00.000Z'); // 18:00 Berlin
    expect(event.endDate.toJSDate().toISOString()).to.equal('2026-12-19T19:30:00.000Z'); // 150 minutes
    expect(event.summary).to.contain('Ordentliche Mitgliederversammlung 2026');
    expect(event.location).to.equal('Kaiserpfalz Goslar, Kaiserbleek 6; 38640 Goslar'); // escaping undone by the parser
    expect(ev.getFirstPropertyValue('status')).to.equal('CONFIRMED');
    expect(String(ev.getFirstPropertyValue('organizer'))).to.match(/^mailto:/i);

    // the English invitee gets the English mail with the same calendar entry
    const b = sink.to('b@tu.example')[0];
    expect(b.subject).to.contain('Invitation to the ordinary general assembly');
    expect(calendarOf(b).event.uid).to.equal(assembly.uid);
  });

  it('updates the same calendar entry (same UID, higher SEQUENCE) and cancels it', async () => {
    const uid = (await env.ctx.assemblies.assembly.get(id)).uid;
    await env.ctx.assemblies.assembly.update(TEST_ACTOR, id, { ...INPUT, time: '17:00' });
    await env.ctx.assemblies.sending.sendUpdate(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);
    await deliver(4);
    const upd = sink.to('a@harz.example').find((m) => m.messageId !== sink.to('a@harz.example')[0].messageId)!;
    const u = calendarOf(upd);
    expect(u.cal.getFirstPropertyValue('method')).to.equal('REQUEST');
    expect(u.event.uid).to.equal(uid);
    expect(u.event.sequence).to.equal(1);
    expect(u.event.startDate.toJSDate().toISOString()).to.equal('2026-12-19T16:00:00.000Z');

    await env.ctx.assemblies.sending.cancel(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);
    await deliver(6);
    const last = sink.to('a@harz.example').at(-1)!;
    const c = calendarOf(last);
    expect(c.cal.getFirstPropertyValue('method')).to.equal('CANCEL');
    expect(c.ev.getFirstPropertyValue('status')).to.equal('CANCELLED');
    expect(c.event.uid).to.equal(uid);
    expect(c.event.sequence).to.equal(2);
    // each message arrived once
    expect(new Set(sink.messages.map((m) => m.messageId)).size).to.equal(sink.messages.length);
  });
});
