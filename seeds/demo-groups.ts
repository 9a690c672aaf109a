import { DateTime } from 'luxon';
import type { Context } from '../server/context.ts';
import { ZONE } from '../server/clock.ts';
import type { Viewer } from '../server/groups/groups.service.ts';
import type { DemoMember } from './demo-assemblies.ts';

/**
 * h/groups: the demo's working groups (Arbeitsgruppen), led by representatives of founding
 * members, with a few members each and one meeting invited in the first group (its mails are
 * in the outbox like every demo mail). M-0001's representative (the demo portal login) leads
 * the first group.
 */
const GROUPS: { nameDe: string; nameEn: string; purposeDe: string; purposeEn: string; access: 'open' | 'invitation'; lead: number; members: number[] }[] = [
  {
    nameDe: 'Standortmarketing', nameEn: 'Location marketing', access: 'open', lead: 1, members: [2, 3, 5],
    purposeDe: 'Den Landkreis Goslar als Industrie- und Wissenschaftsstandort bekannt machen: Messeauftritte, Besuchstage, gemeinsame Pressearbeit.',
    purposeEn: 'Making the Goslar district known as a location for industry and science: trade fairs, open days, joint press work.',
  },
  {
    nameDe: 'Fachkräfteentwicklung', nameEn: 'Skilled workers', access: 'open', lead: 2, members: [1, 4, 6],
    purposeDe: 'Ausbildung, Studium und Zuzug: gemeinsame Ausbildungsmessen, Praktika und Angebote für Fachkräfte aus anderen Regionen.',
    purposeEn: 'Training, studies and newcomers: joint apprenticeship fairs, internships and offers for skilled workers from other regions.',
  },
  {
    nameDe: 'Unternehmerische Hochschule', nameEn: 'Entrepreneurial university', access: 'open', lead: 3, members: [7],
    purposeDe: 'Ausgründungen aus der TU Clausthal und Kooperationen zwischen Forschung und Betrieben fördern.',
    purposeEn: 'Fostering spin-offs from TU Clausthal and cooperation between research and firms.',
  },
  {
    nameDe: 'Innovationsfinanzierung', nameEn: 'Innovation finance', access: 'invitation', lead: 4, members: [1],
    purposeDe: 'Förderprogramme von Land, Bund und EU für Projekte der Mitglieder erschließen.',
    purposeEn: 'Opening up funding programmes of the state, the federal government and the EU for the members\u2019 projects.',
  },
  {
    nameDe: 'Regionales Projektmanagement', nameEn: 'Regional project management', access: 'open', lead: 5, members: [],
    purposeDe: 'Gemeinsame Vorhaben der Region planen und begleiten.', purposeEn: 'Planning and steering joint projects of the region.',
  },
];

export async function seedDemoGroups(ctx: Context, members: DemoMember[], print: (line: string) => void): Promise<void> {
  const board: Viewer = { userId: null, label: 'demo seed', email: '', contactId: null, isBoard: true };
  const repEmail = async (n: number): Promise<string | undefined> => {
    const m = members.find((x) => x.number === n);
    if (!m) return undefined;
    const contacts = await ctx.members.contacts(m.organisationId);
    return (contacts.find((c) => c.isRepresentative) ?? contacts[0])?.email || undefined;
  };
  let first: number | undefined;
  for (const g of GROUPS) {
    const leadEmail = await repEmail(g.lead);
    if (!leadEmail) continue;
    const id = await ctx.groups.create(board, { nameDe: g.nameDe, nameEn: g.nameEn, purposeDe: g.purposeDe, purposeEn: g.purposeEn, leadEmail, sponsorUserId: null, access: g.access });
    first ??= id;
    for (const n of g.members) {
      const email = await repEmail(n);
      if (email) await ctx.groups.addMember(board, id, email);
    }
  }
  if (first) {
    const day = DateTime.fromJSDate(ctx.clock.now(), { zone: ZONE }).plus({ days: 21 });
    await ctx.groups.scheduleMeeting(board, first, {
      title: 'Messeauftritt 2027 planen', date: day.toFormat('yyyy-MM-dd'), time: '16:00', durationMinutes: 120, format: 'hybrid',
      location: 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar', onlineLink: 'https://meet.chemienetzwerk-harz.example/standort', agenda: '1. Rückblick 2026\n2. Messen 2027\n3. Verschiedenes',
    });
  }
  print(`  ${GROUPS.length} working groups, one meeting invited`);
}
