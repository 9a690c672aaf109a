import { DateTime } from 'luxon';
import type { Clock } from '../server/clock.ts';
import { ZONE } from '../server/clock.ts';
import { createContext, type Context } from '../server/context.ts';
import type { Actor } from '../server/audit/audit.service.ts';
import type { MailTransport } from '../server/mail/transport.ts';
import { agendaItemSchema, assemblySchema, motionSchema, resolutionSchema, rsvpSchema } from '../server/assemblies/assemblies.schemas.ts';

/**
 * The demo's general assemblies, made through the same services the board and the members
 * use (so every rule applies, and every step is in the audit log):
 *  - last autumn's ordinary assembly: invited in time, answered, attended, resolutions
 *    (one bylaws change, adopted with ¾ of the votes cast), minutes written and sent;
 *  - the next ordinary assembly in about five weeks: agenda, invitations sent, some answers,
 *    a proxy and a member's motion.
 * The past one is made by a context whose clock is set back to the days it happened.
 */

const BOARD: Actor = { userId: null, label: 'Vorstand (Demo)' };
const KAISERPFALZ = 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar';

/** A clock that can be set to a moment and then runs on from it. */
class SettableClock implements Clock {
  private offset = 0;
  set(at: DateTime): void {
    this.offset = at.toMillis() - Date.now();
  }
  now(): Date {
    return new Date(Date.now() + this.offset);
  }
}

export interface DemoMember { number: number; organisationId: number; representative: string }
type Member = DemoMember;

/** The member's representative answering through the portal. */
const as = (m: Member): Actor => ({ userId: null, label: m.representative });

async function sendAndWait(ctx: Context, assemblyId: number): Promise<void> {
  const jobId = await ctx.assemblies.sending.startSending(BOARD, assemblyId);
  await ctx.jobs.waitFor(jobId);
}

async function invitationOf(ctx: Context, assemblyId: number, organisationId: number) {
  const r = await ctx.assemblies.answers.resolvePortal(organisationId, assemblyId);
  if (!r.ok) throw new Error(`demo: no usable invitation of organisation ${organisationId} (${r.reason})`);
  return r.invitation;
}

/** A Thursday at 18:00 (Berlin) about `days` from `from`. */
function thursdayEvening(from: DateTime, days: number): DateTime {
  let d = from.plus({ days }).startOf('day');
  while (d.weekday !== 4) d = d.plus({ days: 1 });
  return d.set({ hour: 18, minute: 0 });
}

async function pastAssembly(ctx: Context, members: Member[], print: (line: string) => void): Promise<void> {
  const clock = new SettableClock();
  // the mails it queues are delivered by the app's own outbox worker; this context never sends
  const transport: MailTransport = { kind: 'file', send: () => Promise.reject(new Error('the demo seed does not send mail itself')), close: () => undefined };
  const past = createContext({ config: ctx.config, db: ctx.db, clock, log: ctx.log, transport });
  const today = DateTime.fromJSDate(ctx.clock.now(), { zone: ZONE });
  const day = thursdayEvening(today, -70);

  clock.set(day.minus({ days: 30 }).set({ hour: 10 }));
  const id = await past.assemblies.assembly.create(BOARD, assemblySchema.parse({
    title: `Ordentliche Mitgliederversammlung ${day.year}`, kind: 'ordinary', date: day.toISODate(), time: '18:00', durationMinutes: '150',
    format: 'in_person', location: KAISERPFALZ, participationInfo: 'Im Anschluss Empfang im Kaisersaal.', copyAllContacts: '',
  }));
  const items: Record<string, number> = {};
  for (const [key, input] of Object.entries({
    report: { title: 'Bericht des Vorstands und der Schatzmeisterin', description: 'Tätigkeitsbericht, Jahresabschluss, Bericht der Kassenprüfung.', kind: 'report', proposedText: '' },
    discharge: { title: 'Entlastung des Vorstands', description: '', kind: 'resolution', proposedText: 'Der Vorstand wird für das abgelaufene Geschäftsjahr entlastet.' },
    bylaws: {
      title: 'Satzungsänderung: Einberufung der Mitgliederversammlung in Textform', description: 'Änderung von § 9 Abs. 2 der Satzung.', kind: 'bylaws_change',
      proposedText: '§ 9 Abs. 2 erhält folgende Fassung: „Die Mitgliederversammlung wird vom Vorstand unter Einhaltung einer Frist von zwei Wochen in Textform (E-Mail genügt) unter Angabe der Tagesordnung einberufen."',
    },
    auditors: { title: 'Wahl der Kassenprüfer', description: 'Vorgeschlagen: Sabine Kettler (M-0005) und Jörg Hansen (M-0011).', kind: 'election', proposedText: '' },
  })) {
    items[key] = await past.assemblies.assembly.addAgendaItem(BOARD, id, agendaItemSchema.parse(input));
  }
  await sendAndWait(past, id);

  // answers in the following days
  const voting = members.filter((m) => m.number !== 17);
  clock.set(day.minus({ days: 25 }).set({ hour: 9 }));
  for (const m of voting.slice(0, 12)) {
    await past.assemblies.answers.rsvp(as(m), await invitationOf(past, id, m.organisationId), rsvpSchema.parse({ attending: 'yes', peopleCount: '1', names: m.representative }), 'portal');
  }
  for (const m of voting.slice(16)) {
    await past.assemblies.answers.rsvp(as(m), await invitationOf(past, id, m.organisationId), rsvpSchema.parse({ attending: 'no', peopleCount: '0', names: '' }), 'portal');
  }
  // M-0015 cannot come and is represented by M-0001
  const m15 = members.find((m) => m.number === 15)!;
  const m1 = members.find((m) => m.number === 1)!;
  await past.assemblies.answers.giveProxy(as(m15), await invitationOf(past, id, m15.organisationId), m1.organisationId, 'portal');

  // the evening: 13 members in the room, one vote by proxy = 14 votes present
  for (const [i, m] of voting.slice(0, 13).entries()) {
    clock.set(day.minus({ minutes: 35 - 2 * i }));
    await past.assemblies.day.checkIn(BOARD, id, m.organisationId, 'in', m.representative);
  }
  clock.set(day.plus({ minutes: 40 }));
  const record = (yes: number, no: number, abstain: number) => resolutionSchema.parse({ yes: String(yes), no: String(no), abstain: String(abstain), invalid: '0', absentConsents: '0' });
  await past.assemblies.day.recordResolution(BOARD, id, items.discharge, record(12, 0, 2));
  clock.set(day.plus({ minutes: 70 }));
  await past.assemblies.day.recordResolution(BOARD, id, items.bylaws, record(11, 2, 1));
  clock.set(day.plus({ minutes: 95 }));
  await past.assemblies.day.recordResolution(BOARD, id, items.auditors, record(13, 0, 1));

  // the minutes, a week later
  clock.set(day.plus({ days: 7 }).set({ hour: 11 }));
  await past.assemblies.minutes.save(BOARD, id, [
    `Protokoll der ordentlichen Mitgliederversammlung am ${day.toFormat('dd.MM.yyyy')} in der Kaiserpfalz Goslar`,
    '',
    'Beginn 18:05 Uhr, Ende 20:20 Uhr. Versammlungsleitung: Dr. Katrin Wölfel. Protokoll: Heike Möller.',
    'Die Versammlung wurde form- und fristgerecht einberufen. Anwesend 13 Mitglieder, eines vertreten (14 Stimmen).',
    '',
    'TOP 1 Bericht des Vorstands: Die Vorsitzende berichtet über das Netzwerktreffen in Clausthal und den Standortatlas. Die Kassenprüfung hat keine Beanstandungen.',
    'TOP 2 Entlastung des Vorstands: angenommen (12 ja, 0 nein, 2 Enthaltungen).',
    'TOP 3 Satzungsänderung § 9 Abs. 2: angenommen mit 11 von 13 abgegebenen Stimmen (erforderlich ¾).',
    'TOP 4 Wahl der Kassenprüfer: Sabine Kettler und Jörg Hansen gewählt; beide nehmen die Wahl an.',
  ].join('\n'));
  const minutesJob = await past.assemblies.minutes.send(BOARD, id);
  await past.jobs.waitFor(minutesJob);
  print(`  past assembly of ${day.toFormat('dd.MM.yyyy')}: invitations, answers, a proxy, attendance, 3 resolutions (one bylaws change), minutes sent`);
}

async function nextAssembly(ctx: Context, members: Member[], print: (line: string) => void): Promise<void> {
  const today = DateTime.fromJSDate(ctx.clock.now(), { zone: ZONE });
  const day = thursdayEvening(today, 35);
  const id = await ctx.assemblies.assembly.create(BOARD, assemblySchema.parse({
    title: `Mitgliederversammlung Frühjahr ${day.year}`, kind: 'ordinary', date: day.toISODate(), time: '17:30', durationMinutes: '120',
    format: 'in_person', location: 'Institut für Prozesstechnik Clausthal, Adolph-Roemer-Straße 2a, 38678 Clausthal-Zellerfeld',
    participationInfo: 'Parkplätze am Institut; ab 17:00 Uhr Kaffee im Foyer.', copyAllContacts: '',
  }));
  for (const input of [
    { title: 'Bericht des Vorstands', description: '', kind: 'report', proposedText: '' },
    { title: 'Haushaltsplan und Beitragsordnung', description: 'Der Entwurf des Haushaltsplans liegt der Einladung bei.', kind: 'resolution', proposedText: 'Der Haushaltsplan wird in der vorgelegten Fassung beschlossen.' },
    { title: 'Arbeitsgruppe „Wasserstoff im Harz"', description: 'Gründung einer Arbeitsgruppe des Netzwerks.', kind: 'resolution', proposedText: 'Das Netzwerk gründet die Arbeitsgruppe „Wasserstoff im Harz".' },
  ]) {
    await ctx.assemblies.assembly.addAgendaItem(BOARD, id, agendaItemSchema.parse(input));
  }
  await sendAndWait(ctx, id);
  const voting = members.filter((m) => m.number !== 17);
  for (const m of voting.slice(1, 7)) {
    await ctx.assemblies.answers.rsvp(as(m), await invitationOf(ctx, id, m.organisationId), rsvpSchema.parse({ attending: 'yes', peopleCount: m.number % 3 === 0 ? '2' : '1', names: m.representative }), 'portal');
  }
  const m9 = members.find((m) => m.number === 9)!;
  await ctx.assemblies.answers.rsvp(as(m9), await invitationOf(ctx, id, m9.organisationId), rsvpSchema.parse({ attending: 'no', peopleCount: '0', names: '' }), 'portal');
  const m4 = members.find((m) => m.number === 4)!;
  await ctx.assemblies.answers.giveProxy(as(m9), await invitationOf(ctx, id, m9.organisationId), m4.organisationId, 'portal');
  const m12 = members.find((m) => m.number === 12)!;
  await ctx.assemblies.answers.submitMotion(as(m12), await invitationOf(ctx, id, m12.organisationId), motionSchema.parse({
    title: 'Gemeinsamer Messestand auf der ACHEMA',
    body: 'Das Netzwerk möge auf der nächsten ACHEMA einen Gemeinschaftsstand der Mitglieder aus dem Landkreis Goslar organisieren. Begründung: Sichtbarkeit des Standorts; die Kosten werden auf die teilnehmenden Mitglieder umgelegt.',
    submittedBy: m12.representative,
  }), 'portal');
  print(`  next assembly on ${day.toFormat('dd.MM.yyyy')}: agenda, invitations sent, 7 answers, a proxy, a motion`);
}

/** Both demo assemblies; `members` are the founding members with their organisation ids. */
export async function seedDemoAssemblies(ctx: Context, members: Member[], print: (line: string) => void): Promise<void> {
  await pastAssembly(ctx, members, print);
  await nextAssembly(ctx, members, print);
}
