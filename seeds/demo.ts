import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Context } from '../server/context.ts';
import type { Actor } from '../server/audit/audit.service.ts';
import type { Role } from '../server/auth/roles.ts';
import { DateTime } from 'luxon';
import { iso, ZONE } from '../server/clock.ts';
import { nextValue } from '../server/db/counters.ts';
import { insertId } from '../server/db/knex.ts';
import { nameKey, type NewContact } from '../server/members/members.service.ts';
import { DEFAULT_RULES, type AssociationSettings, type FeeRule } from '../server/settings/settings.schemas.ts';
import { readFoundingMembers, type FoundingMember } from './founding-members.ts';
import { seedDemoAssemblies, type DemoMember } from './demo-assemblies.ts';
import { seedDemoDirectory } from './demo-directory.ts'; // h/lead2
import { seedDemoGroups } from './demo-groups.ts'; // h/groups

/**
 * The demo association: ChemieNetzwerk Harz e.V. with its settings, categories and fee
 * rules, the 20 founding members from seeds/founding-members.csv, and demo logins.
 * Everything here is invented (register number, tax number, IBAN, addresses of persons).
 */

export const DEMO_PASSWORD = 'demo-passwort';

export const DEMO_USERS: { email: string; displayName: string; roles: Role[] }[] = [
  { email: 'admin@demo.example', displayName: 'Administration (Demo)', roles: ['admin'] },
  { email: 'vorstand@demo.example', displayName: 'Vorstand (Demo)', roles: ['board'] },
  { email: 'kasse@demo.example', displayName: 'Schatzmeisterin (Demo)', roles: ['treasurer'] },
];
/** The portal login: the voting representative of member M-0001. */
export const DEMO_PORTAL_USER = { email: 'k.woelfel@harzer-spezialchemie.example', displayName: 'Dr. Katrin Wölfel', memberNumber: 1 };

export const DEMO_ASSOCIATION: AssociationSettings = {
  name: 'ChemieNetzwerk Harz e.V.',
  street: 'Bäringerstraße 10',
  postcode: '38640',
  city: 'Goslar',
  country: 'DE',
  registerCourt: 'Amtsgericht Braunschweig',
  registerNumber: 'VR 201234',
  taxNumber: '21/270/12345',
  boardMembers: 'Dr. Katrin Wölfel (Vorsitzende), Prof. Dr.-Ing. Lutz Schäfer (stellv. Vorsitzender), Heike Möller (Schatzmeisterin)',
  contactEmail: 'vorstand@chemienetzwerk-harz.example',
  website: 'https://chemienetzwerk-harz.example',
  bankHolder: 'ChemieNetzwerk Harz e.V.',
  iban: 'DE12268512340012345678', // invented bank code and account; the check digits are valid
  bic: 'HARZDE21XXX',
  bankName: 'Demo-Bank Harz',
  sepaCreditorId: '',
  privacyNoticeVersion: '2026-01',
  bylawsUrl: '/documents/satzung',
};

export const DEMO_CATEGORIES: { code: FoundingMember['categoryCode']; nameDe: string; nameEn: string; hasVote: boolean; feeRule: FeeRule; openToApplicants: boolean }[] = [
  { code: 'company', nameDe: 'Unternehmen', nameEn: 'Company', hasVote: true, feeRule: { type: 'tiers', tiers: { '1-49': 50000, '50-249': 120000, '250+': 250000 } }, openToApplicants: true },
  { code: 'research', nameDe: 'Forschungseinrichtung', nameEn: 'Research institute', hasVote: true, feeRule: { type: 'fixed', amountCents: 30000 }, openToApplicants: true },
  { code: 'supporting', nameDe: 'Fördermitglied', nameEn: 'Supporting member', hasVote: false, feeRule: { type: 'fixed', amountCents: 25000 }, openToApplicants: true },
  { code: 'honorary', nameDe: 'Ehrenmitglied', nameEn: 'Honorary member', hasVote: false, feeRule: { type: 'fixed', amountCents: 0 }, openToApplicants: false },
];

const ACTOR: Actor = { userId: null, label: 'demo seed' };

/** Refusal that the CLI turns into a clear message and exit code 1. */
export class SeedRefused extends Error {}

async function count(db: Knex, table: string): Promise<number> {
  const [{ n }] = await db(table).count({ n: '*' });
  return Number(n);
}

function contactsOf(m: FoundingMember): NewContact[] {
  const contacts: NewContact[] = [{
    name: m.representative.name,
    email: m.representative.email,
    phone: m.representative.phone,
    position: '',
    isRepresentative: true,
    isBilling: !m.billingEmail,
    locale: 'de',
    consentEmailInvitations: true,
  }];
  if (m.billingEmail && m.billingEmail !== m.representative.email) {
    contacts.push({
      name: 'Buchhaltung',
      email: m.billingEmail,
      phone: '',
      position: 'Rechnungsempfang',
      isRepresentative: false,
      isBilling: true,
      locale: 'de',
      consentEmailInvitations: false,
    });
  }
  return contacts;
}

/** The categories by code, creating those that are missing. */
async function ensureCategories(ctx: Context): Promise<Record<string, number>> {
  const existing = await ctx.settings.categories({ includeInactive: true });
  const ids: Record<string, number> = {};
  for (const [i, c] of DEMO_CATEGORIES.entries()) {
    const found = existing.find((e) => e.code === c.code);
    ids[c.code] = found ? found.id : await ctx.settings.saveCategory(ACTOR, { ...c, sortOrder: i + 1, active: true });
  }
  return ids;
}

/**
 * Two demo applications for the board's queue (one waiting for a decision, one with a
 * question to the applicant), only if the applications table has the columns this seed
 * knows; written directly, since they stand for what applicants would have submitted.
 */
async function seedApplications(ctx: Context, categories: Record<string, number>, print: (line: string) => void): Promise<number> {
  const db = ctx.db;
  if (!(await db.schema.hasTable('applications')) || !(await db.schema.hasTable('application_contacts'))) return 0;
  const needed = ['reference', 'submission_key', 'status', 'legal_name', 'category_id', 'contribution', 'name_key', 'consent_bylaws_at', 'confirmed_at', 'version'];
  for (const c of needed) if (!(await db.schema.hasColumn('applications', c))) return 0;
  if ((await count(db, 'applications')) > 0) return 0;
  const now = ctx.clock.now();
  const at = (daysAgo: number) => iso(new Date(now.getTime() - daysAgo * 86_400_000));
  const apps = [
    {
      status: 'submitted', legal_name: 'Rammelsberg Sensorik GmbH', legal_form: 'GmbH',
      street: 'Bergtal 19', postcode: '38640', city: 'Goslar', website: 'https://rammelsberg-sensorik.example',
      register_entry: 'Amtsgericht Braunschweig HRB 209876', vat_id: 'DE314159262', field_of_activity: 'Gassensorik und Messtechnik für die Prozessindustrie',
      employee_band: '1-49', category: 'company',
      contribution: 'Messtechnik-Know-how, Praktikumsplätze für Studierende der TU Clausthal und ein Vortrag beim nächsten Netzwerktreffen.',
      contact: { name: 'Jana Albrecht', email: 'j.albrecht@rammelsberg-sensorik.example', phone: '+49 5321 777 10', position: 'Geschäftsführerin' },
      daysAgo: 6, question: null as string | null,
    },
    {
      status: 'info_requested', legal_name: 'Harzer Kreislaufwirtschaft UG (haftungsbeschränkt)', legal_form: 'UG',
      street: 'Im Schleeke 40', postcode: '38640', city: 'Goslar', website: '',
      register_entry: '', vat_id: '', field_of_activity: 'Rücknahme und Aufbereitung von Laborchemikalien',
      employee_band: '1-49', category: 'supporting',
      contribution: 'Kontakte zu kommunalen Entsorgern.',
      contact: { name: 'Timo Brandt', email: 't.brandt@harzer-kreislauf.example', phone: '', position: 'Gründer' },
      daysAgo: 12, question: 'Können Sie uns bitte Ihren Handelsregistereintrag nennen und kurz beschreiben, welche Chemikalien Sie aufbereiten?',
    },
  ];
  const board = await db('users').where({ email: 'vorstand@demo.example' }).first();
  await db.transaction(async (trx) => {
    const year = DateTime.fromJSDate(now, { zone: ZONE }).year;
    for (const a of apps) {
      const created = at(a.daysAgo);
      // the same numbering as applications submitted through the form: A-YYYY-NNNN
      const n = await nextValue(trx, `application_reference_${year}`, async () => 1);
      const reference = `A-${year}-${String(n).padStart(4, '0')}`;
      const id = await insertId(trx, 'applications', {
        reference,
        submission_key: crypto.randomBytes(16).toString('hex'),
        status: a.status,
        legal_name: a.legal_name,
        legal_form: a.legal_form,
        street: a.street,
        postcode: a.postcode,
        city: a.city,
        country: 'DE',
        website: a.website,
        register_entry: a.register_entry,
        vat_id: a.vat_id,
        field_of_activity: a.field_of_activity,
        employee_band: a.employee_band,
        category_id: categories[a.category],
        contribution: a.contribution,
        name_key: nameKey(a.legal_name),
        locale: 'de',
        consent_bylaws_at: created,
        consent_privacy_at: created,
        privacy_version: DEMO_ASSOCIATION.privacyNoticeVersion,
        consent_email_invitations: true,
        confirmed_at: created,
        version: 1,
        created_at: created,
        updated_at: a.question ? at(a.daysAgo - 2) : created,
      });
      await trx('application_contacts').insert({ application_id: id, role: 'representative', ...a.contact, sort_order: 0 });
      if (a.question && (await trx.schema.hasTable('application_messages'))) {
        await trx('application_messages').insert({
          application_id: id, kind: 'question', body: a.question, author_user_id: board ? Number(board.id) : null, created_at: at(a.daysAgo - 2),
        });
      }
      await ctx.audit.record(trx, ACTOR, 'application.created', 'application', id, undefined, { reference, status: a.status });
    }
  });
  print(`  ${apps.length} demo applications (submitted, information requested)`);
  return apps.length;
}

/** Fills the demo association into a database without organisations. */
export async function seedDemo(ctx: Context, print: (line: string) => void): Promise<void> {
  const db = ctx.db;
  const orgs = await count(db, 'organisations');
  if (orgs > 0) throw new SeedRefused(`The database already has ${orgs} member organisation(s); demo data is only filled into an empty register (use a new DATA_DIR or DATABASE_URL for a fresh demo).`);
  const members = readFoundingMembers();

  print(`Filling in the demo association ${DEMO_ASSOCIATION.name} …`);
  await ctx.settings.updateAssociation(ACTOR, DEMO_ASSOCIATION);
  await ctx.settings.updateRules(ACTOR, { ...DEFAULT_RULES });
  print('  settings: name, address, register, tax number, board, bank account, bylaws rules');

  const categories = await ensureCategories(ctx);
  print(`  ${DEMO_CATEGORIES.length} membership categories with their fee rules`);

  const users = new Map<string, number>();
  for (const u of [...DEMO_USERS, { ...DEMO_PORTAL_USER, roles: ['member'] as Role[] }]) {
    const existing = await ctx.users.byEmail(u.email);
    users.set(u.email, existing ? existing.id : await ctx.users.create(ACTOR, { email: u.email, displayName: u.displayName, roles: u.roles, password: DEMO_PASSWORD }));
  }
  print(`  ${users.size} demo logins`);

  const demoMembers: DemoMember[] = [];
  await db.transaction(async (trx) => {
    for (const m of members) {
      const { organisationId } = await ctx.members.createOrganisation(trx, ACTOR, {
        legalName: m.legalName,
        legalForm: m.legalForm,
        street: m.street,
        postcode: m.postcode,
        city: m.city,
        country: m.country,
        website: `https://www.${m.representative.email.split('@')[1]}`,
        registerEntry: '',
        vatId: m.vatId,
        fieldOfActivity: '',
        employeeBand: m.employeeBand,
        categoryId: categories[m.categoryCode],
        joinDate: m.joinDate,
        memberNumber: m.memberNumber,
      }, contactsOf(m), { invite: false, welcome: false });
      demoMembers.push({ number: m.memberNumber, organisationId, representative: m.representative.name });
      if (m.memberNumber === DEMO_PORTAL_USER.memberNumber) {
        const userId = users.get(DEMO_PORTAL_USER.email)!;
        const contact = await trx('contacts').where({ organisation_id: organisationId, email: DEMO_PORTAL_USER.email }).first();
        if (contact) {
          await trx('contacts').where({ id: contact.id }).update({ user_id: userId });
          await ctx.audit.record(trx, ACTOR, 'contact.user_linked', 'contact', Number(contact.id), undefined, { userId });
        }
      }
    }
  });
  print(`  ${members.length} founding members (M-0001 … M-${String(members.length).padStart(4, '0')}) with their contacts`);

  try {
    await seedApplications(ctx, categories, print);
  } catch (err) {
    // optional: the applications module may have moved on; the rest of the demo stands
    print(`  (demo applications skipped: ${(err as Error).message})`);
  }
  await seedDemoAssemblies(ctx, demoMembers, print);
  await seedDemoDirectory(ctx, demoMembers, print); // h/lead2
  await seedDemoGroups(ctx, demoMembers, print); // h/groups: the working groups
  for (const line of loginLines(ctx.config.baseUrl)) print(line);
}

export function loginLines(baseUrl: string): string[] {
  return [
    '',
    `Demo data filled in: log in at ${baseUrl}/login as`,
    ...[...DEMO_USERS, { ...DEMO_PORTAL_USER, roles: ['member'] as Role[] }].map((u) => `  ${u.email.padEnd(40)} (${u.roles.join(', ')}) / ${DEMO_PASSWORD}`),
    '',
  ];
}

/**
 * On start (SEED_DEMO=auto outside production): fills the demo into a database that has
 * no users and no organisations yet, so `npm start` on a fresh machine shows something.
 */
export async function seedDemoIfEmpty(ctx: Context, print: (line: string) => void): Promise<boolean> {
  if ((await count(ctx.db, 'users')) > 0 || (await count(ctx.db, 'organisations')) > 0) return false;
  await seedDemo(ctx, print);
  return true;
}
