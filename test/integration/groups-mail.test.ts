import { expect } from 'chai';
import ICAL from 'ical.js';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { SmtpSink, type SinkMessage } from '../fakes/smtp-sink.ts';
import { makeWorld, type World } from './portal.fixtures.ts';
import type { Viewer } from '../../server/groups/groups.service.ts';
import type { MeetingInput } from '../../server/groups/groups.schemas.ts';

/** The .ics part of a received mail, parsed back with an iCalendar parser (ical.js) as a calendar program reads it. */
function calendarOf(m: SinkMessage) {
  const att = m.parsed.attachments.find((a) => a.filename === 'termin.ics');
  if (!att) throw new Error(`no termin.ics in "${m.subject}"`);
  const cal = new ICAL.Component(ICAL.parse(att.content.toString('utf8')));
  const tz = cal.getFirstSubcomponent('vtimezone');
  if (tz) ICAL.TimezoneService.register(tz);
  const ev = cal.getFirstSubcomponent('vevent');
  if (!ev) throw new Error('no VEVENT');
  return { att, cal, ev, event: new ICAL.Event(ev) };
}

const MEETING: MeetingInput = {
  title: 'Gründerhochschule: Auftakt', date: '2026-12-10', time: '18:00', durationMinutes: 90, format: 'hybrid',
  location: 'TU Clausthal, Adolph-Roemer-Straße 2A; 38678 Clausthal-Zellerfeld', onlineLink: 'https://meet.example/ag', agenda: '1. Begrüßung\n2. Ziele',
};

describe('working groups: meeting invitations and messages through a real SMTP listener, calendar files parsed back', function () {
  this.timeout(180_000);
  let sink: SmtpSink;
  let env: TestEnv;
  let w: World;
  let groupId: number;
  let meetingId: number;
  const boardViewer: Viewer = { userId: null, label: 'Berta Vorstand', email: 'board@test.example', contactId: null, isBoard: true };

  before(async () => {
    sink = await SmtpSink.start();
    env = await createTestEnv({ smtpUrl: sink.url });
    w = await makeWorld(env);
    groupId = await env.ctx.groups.create(boardViewer, {
      nameDe: 'Unternehmerische Hochschule', nameEn: 'Entrepreneurial university', purposeDe: 'Ausgründungen fördern.', purposeEn: 'Fostering spin-offs.',
      leadEmail: 'anna@harzer.example', sponsorUserId: null, access: 'open',
    });
    await env.ctx.groups.addMember(boardViewer, groupId, 'bernd@harzer.example'); // English
    await env.ctx.groups.addMember(boardViewer, groupId, 'carla@okertal.example');
    await env.ctx.outbox.flush();
    sink.messages.length = 0; // the portal accounts' mails of the set-up
  });
  after(async () => {
    await env.close();
    await sink.stop();
  });

  async function deliver(): Promise<void> {
    await env.ctx.outbox.flush();
    await sink.waitFor(Number((await env.db('mail_messages').where('template', 'like', 'group_%').count({ n: '*' }).first())!.n));
  }
  const latest = (to: string) => sink.to(to)[sink.to(to).length - 1];

  it('delivers an invitation in each member\'s language with a calendar entry that a calendar program reads', async () => {
    meetingId = await env.ctx.groups.scheduleMeeting(boardViewer, groupId, MEETING);
    await deliver();
    const de = latest('carla@okertal.example');
    expect(de.subject).to.equal('Einladung: Unternehmerische Hochschule am 10.12.2026, 18:00 Uhr');
    expect(de.text).to.match(/\/g\/[A-Za-z0-9_-]{43}/);
    const en = latest('bernd@harzer.example');
    expect(en.subject).to.equal('Invitation: Entrepreneurial university on 10/12/2026, 18:00');
    expect(en.text).to.contain('Accept or decline');

    const { att, cal, ev, event } = calendarOf(de);
    expect(att.contentType).to.equal('text/calendar');
    expect(cal.getFirstPropertyValue('method')).to.equal('REQUEST');
    const uid = (await env.db('group_meetings').where({ id: meetingId }).first())!.uid;
    expect(event.uid).to.equal(uid);
    expect(event.sequence).to.equal(0);
    expect(event.startDate.toJSDate().toISOString()).to.equal('2026-12-10T17:00:00.000Z'); // 18:00 in Berlin
    expect(event.endDate.toJSDate().toISOString()).to.equal('2026-12-10T18:30:00.000Z');
    expect(event.location).to.equal('TU Clausthal, Adolph-Roemer-Straße 2A; 38678 Clausthal-Zellerfeld');
    expect(event.summary).to.equal('Unternehmerische Hochschule: Gründerhochschule: Auftakt');
    expect(String(ev.getFirstPropertyValue('attendee'))).to.equal('mailto:carla@okertal.example');
    expect(ev.getFirstPropertyValue('status')).to.equal('CONFIRMED');
    expect(event.description).to.contain('https://meet.example/ag');
  });

  it('sends a change as an update of the same calendar entry (same UID, next SEQUENCE)', async () => {
    const uid = calendarOf(latest('carla@okertal.example')).event.uid;
    await env.ctx.groups.updateMeeting(boardViewer, groupId, meetingId, { ...MEETING, date: '2026-12-11', time: '09:30', version: 1 });
    await deliver();
    const m = latest('carla@okertal.example');
    expect(m.subject).to.equal('Geändert: Unternehmerische Hochschule am 11.12.2026, 09:30 Uhr');
    const { cal, event } = calendarOf(m);
    expect(cal.getFirstPropertyValue('method')).to.equal('REQUEST');
    expect(event.uid).to.equal(uid);
    expect(event.sequence).to.equal(1);
    expect(event.startDate.toJSDate().toISOString()).to.equal('2026-12-11T08:30:00.000Z');
  });

  it('sends a cancellation as METHOD:CANCEL of the same entry', async () => {
    const uid = calendarOf(latest('carla@okertal.example')).event.uid;
    await env.ctx.groups.cancelMeeting(boardViewer, groupId, meetingId);
    await deliver();
    const m = latest('carla@okertal.example');
    expect(m.subject).to.equal('Abgesagt: Unternehmerische Hochschule am 11.12.2026, 09:30 Uhr');
    expect(m.text).not.to.match(/\/g\/[A-Za-z0-9_-]{43}/);
    const { cal, ev, event } = calendarOf(m);
    expect(cal.getFirstPropertyValue('method')).to.equal('CANCEL');
    expect(ev.getFirstPropertyValue('status')).to.equal('CANCELLED');
    expect(event.uid).to.equal(uid);
    expect(event.sequence).to.equal(2);
  });

  it('a message to the group names the sender and answers to the sender (Reply-To)', async () => {
    const carla: Viewer = { userId: null, label: 'Carla Carstens', email: 'carla@okertal.example', contactId: w.c.carla, isBoard: false };
    const n = await env.ctx.groups.sendMessage(carla, groupId, { subject: 'Pitch-Abend', body: 'Wer jurysitzt am 20.1.?' });
    expect(n).to.equal(2);
    await deliver();
    const m = latest('anna@harzer.example');
    expect(m.subject).to.equal('[Unternehmerische Hochschule] Pitch-Abend');
    expect(m.parsed.replyTo?.value[0].address).to.equal('carla@okertal.example');
    expect(m.text).to.contain('Carla Carstens schreibt an die Arbeitsgruppe Unternehmerische Hochschule');
    expect(m.text).to.contain('Wer jurysitzt am 20.1.?');
    expect(latest('bernd@harzer.example').text).to.contain('Carla Carstens writes to the working group Entrepreneurial university');
    expect(sink.to('carla@okertal.example').filter((x) => x.subject.includes('Pitch-Abend'))).to.have.length(0);
  });
});
