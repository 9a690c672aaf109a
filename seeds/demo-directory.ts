import type { Context } from '../server/context.ts';
import type { DemoMember } from './demo-assemblies.ts';

/**
 * Demo profiles in the network directory (/netzwerk): ten founding members published, one
 * submitted and waiting for the board, each with a simple logo drawn here (an SVG the app
 * re-encodes like any upload).
 */
const BOARD = { userId: null, label: 'Demo-Vorstand' };

const PROFILES: { number: number; fields: string[]; de: string; en: string; colour: string; pending?: boolean }[] = [
  { number: 1, fields: ['chemie', 'forschung'], colour: '#1f6f43', de: 'Spezialchemikalien aus Goslar: Katalysatoren, Pigmentvorstufen und Lohnsynthesen für die Industrie, mit eigener Entwicklung.', en: 'Speciality chemicals from Goslar: catalysts, pigment precursors and toll synthesis for industry, with in-house development.' },
  { number: 2, fields: ['recycling'], colour: '#8a5a14', de: 'Rückgewinnung von Nichteisenmetallen aus Produktionsresten und Altmaterial, seit Jahrzehnten am Standort Oker.', en: 'Recovery of non-ferrous metals from production residues and scrap, at the Oker site for decades.' },
  { number: 4, fields: ['forschung', 'anlagentechnik'], colour: '#1d4e89', de: 'Angewandte Forschung zu Verfahren der Stoffumwandlung, vom Labor bis zur Pilotanlage; Partner für Förderprojekte.', en: 'Applied research on conversion processes, from the laboratory to the pilot plant; a partner for funded projects.' },
  { number: 5, fields: ['chemie', 'dienstleistungen'], colour: '#6a1b9a', de: 'Akkreditiertes Labor für Umwelt- und Werkstoffanalytik; kurze Wege für Betriebe im Harz.', en: 'Accredited laboratory for environmental and materials analysis; close at hand for firms in the Harz.' },
  { number: 7, fields: ['anlagentechnik', 'energie'], colour: '#00796b', de: 'Planung und Bau von Anlagen zur Wasseraufbereitung und Wärmerückgewinnung.', en: 'Design and construction of water treatment and heat recovery plants.' },
  { number: 9, fields: ['recycling', 'mobilitaet'], colour: '#c62828', de: 'Recycling von Lithium-Ionen-Batterien aus Fahrzeugen und Industrie; Rückgewinnung von Kobalt, Nickel und Lithium.', en: 'Recycling of lithium-ion batteries from vehicles and industry; recovery of cobalt, nickel and lithium.' },
  { number: 12, fields: ['forschung', 'recycling'], colour: '#37474f', de: 'Forschung zu Rohstoffen und ihrer Kreislaufführung, eng verbunden mit der Technischen Universität.', en: 'Research on raw materials and their circular use, closely linked with the technical university.' },
  { number: 14, fields: ['energie', 'mobilitaet'], colour: '#f9a825', de: 'Stationäre Energiespeicher für Gewerbe und Netze, entwickelt und gefertigt in Goslar.', en: 'Stationary energy storage for businesses and grids, developed and built in Goslar.' },
  { number: 15, fields: ['anlagentechnik'], colour: '#5d4037', de: 'Galvanik und Beschichtung für Metall- und Kunststoffteile, Kleinserien und Prototypen.', en: 'Electroplating and coating of metal and plastic parts, small series and prototypes.' },
  { number: 20, fields: ['dienstleistungen', 'forschung'], colour: '#283593', de: 'Werkstoffprüfung und Schadensanalyse für Industrie und Forschung.', en: 'Materials testing and failure analysis for industry and research.' },
  { number: 19, fields: ['chemie'], colour: '#2e7d32', pending: true, de: 'Biobasierte Kunststoffe aus regionalen Rohstoffen.', en: 'Bio-based plastics from regional raw materials.' },
];

function logoSvg(colour: string, n: number): Buffer {
  const shapes = n % 3 === 0
    ? `<circle cx="60" cy="60" r="44" fill="${colour}"/><rect x="120" y="34" width="160" height="52" rx="8" fill="${colour}" fill-opacity=".35"/>`
    : n % 3 === 1
      ? `<polygon points="16,104 60,16 104,104" fill="${colour}"/><rect x="120" y="40" width="160" height="40" rx="20" fill="${colour}" fill-opacity=".35"/>`
      : `<rect x="16" y="16" width="88" height="88" rx="18" fill="${colour}"/><circle cx="200" cy="60" r="36" fill="${colour}" fill-opacity=".35"/>`;
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="300" height="120" viewBox="0 0 300 120">${shapes}</svg>`);
}

export async function seedDemoDirectory(ctx: Context, members: DemoMember[], print: (line: string) => void): Promise<void> {
  let published = 0;
  for (const p of PROFILES) {
    const m = members.find((x) => x.number === p.number);
    if (!m) continue;
    const org = await ctx.members.get(m.organisationId);
    const contacts = await ctx.members.contacts(m.organisationId);
    const contact = contacts.find((c) => c.isRepresentative) ?? contacts[0];
    if (!org || !contact) continue;
    const as = { userId: null, label: contact.name };
    await ctx.directory.save(as, m.organisationId, {
      descriptionDe: p.de, descriptionEn: p.en, fields: p.fields, town: org.city, website: org.website, contactId: contact.id, removeLogo: false, version: 0,
    }, logoSvg(p.colour, p.number), true, { notifyBoard: false }); // the demo's mails are the assemblies' only
    if (p.pending) continue;
    const own = await ctx.directory.own(m.organisationId);
    const overview = await ctx.directory.boardOverview('de');
    const row = overview.pending.find((x) => x.organisationId === m.organisationId);
    if (row) await ctx.directory.approve(BOARD, row.id, own.values.version);
    published++;
  }
  print(`  network directory: ${published} published profiles at /netzwerk, 1 awaiting the board`);
}
