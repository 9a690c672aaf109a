import type { Knex } from 'knex';
import type { Context } from '../server/context.ts';
import type { Actor } from '../server/audit/audit.service.ts';
import { berlinDate, iso } from '../server/clock.ts';
import { isPostgres } from '../server/db/knex.ts';
import { nameKey } from '../server/members/members.service.ts';
import { formerFrom } from '../server/members/exit-rules.ts';
import { rebuildSearchWords } from '../server/members/members.repository.ts';
import { DEMO_CATEGORIES } from '../seeds/demo.ts';

/**
 * `npm run bench:seed -- --members N` (bench/seed.ts): fills an EMPTY register with N generated member
 * organisations for benchmarks (bench/run.ts) and for trying the register at scale.
 *
 * What it writes, deterministically (a seeded generator, so two runs give the same data):
 * - the demo categories (company, research, supporting, honorary) if they are missing;
 * - N organisations with member numbers 1..N in join order (join dates 1990 up to today),
 *   about 85 % active, 3 % with notice given (exit date still ahead), 12 % former; cities
 *   and postcodes of the Goslar district; German names; key columns filled as
 *   MembersService does (nameKey());
 * - 1 to 4 contacts each (2.5 on average; the first is the representative);
 * - the register's search words (organisation_words) of names, towns and contacts' names;
 * - their membership history (joined; notice received / dissolved / excluded; exited);
 * - the counter 'member_number' set to N, so the next member gets N + 1.
 *
 * No audit entries, no portal accounts, no mail: this is generated test data, written
 * directly. On SQLite it goes through the better-sqlite3 connection in one transaction
 * (100,000 members in a few seconds); on PostgreSQL through knex in chunks of 500 rows.
 */

export const BENCH_SEED_MAX = 1_000_000;

/** Bad input (bench/seed.ts answers with its usage and exit code 2). */
export class BenchSeedInputError extends Error {}
/** The database cannot take generated members (bench/seed.ts exits with 1). */
export class BenchSeedRefused extends Error {}

export interface BenchSeedResult {
  organisations: number;
  contacts: number;
  history: number;
  categories: Record<string, number>;
  ms: number;
}

type Print = (line: string) => void;
type Row = Record<string, string | number | boolean | null>;

const ACTOR: Actor = { userId: null, label: 'bench seed' };
const DAY = 86_400_000;

/** The command's entry: `--members N` as given on the command line (a string) or a number. */
export async function runBenchSeedCli(ctx: Context, opts: { members: unknown }, print: Print): Promise<BenchSeedResult> {
  const raw = typeof opts.members === 'number' ? String(opts.members) : typeof opts.members === 'string' ? opts.members.trim().replace(/[_.,](?=\d{3}\b)/g, '') : '';
  if (!raw) throw new BenchSeedInputError('--members: required, e.g. --members 100000');
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > BENCH_SEED_MAX) {
    throw new BenchSeedInputError(`--members: a whole number from 1 to ${BENCH_SEED_MAX}, not "${String(opts.members)}"`);
  }
  return seedBenchMembers(ctx, { members: Number(raw) }, print);
}

export async function seedBenchMembers(ctx: Context, opts: { members: number; seed?: number }, print: Print = () => {}): Promise<BenchSeedResult> {
  const t0 = Date.now();
  const db = ctx.db;
  const [{ n }] = await db('organisations').count({ n: '*' });
  if (Number(n) > 0) {
    throw new BenchSeedRefused(`The register already holds ${Number(n)} organisations: bench:seed fills an empty database only (member numbers 1..N). Use a fresh DATA_DIR or DATABASE_URL.`);
  }
  const categories = await ensureCategories(ctx);
  await checkColumns(db);

  const gen = new Generator(opts.seed ?? 20261125, ctx.clock.now(), categories);
  const total = opts.members;
  print(`Generating ${total} member organisations (categories: ${Object.keys(categories).join(', ')}) …`);
  const joinDates = gen.joinDates(total);

  let counts: { contacts: number; history: number };
  if (isPostgres(db)) counts = await insertWithKnex(db, gen, joinDates, print);
  else counts = await insertWithSqlite(db, gen, joinDates, print);
  // the register's word-start search keys (name, town and every contact's name), as
  // MembersService writes them for each organisation: the contacts are written directly above
  await db.transaction((trx) => rebuildSearchWords(trx));

  const updated = await db('counters').where({ name: 'member_number' }).update({ value: total });
  if (!updated) await db('counters').insert({ name: 'member_number', value: total });

  const ms = Date.now() - t0;
  print(`Done: ${total} organisations, ${counts.contacts} contacts, ${counts.history} history entries in ${(ms / 1000).toFixed(1)} s; next member number ${total + 1}.`);
  return { organisations: total, contacts: counts.contacts, history: counts.history, categories, ms };
}

async function ensureCategories(ctx: Context): Promise<Record<string, number>> {
  const existing = await ctx.settings.categories({ includeInactive: true });
  const ids: Record<string, number> = {};
  for (const [i, c] of DEMO_CATEGORIES.entries()) {
    const found = existing.find((e) => e.code === c.code);
    ids[c.code] = found ? found.id : await ctx.settings.saveCategory(ACTOR, { ...c, sortOrder: i + 1, active: true });
  }
  return ids;
}

const ORG_COLUMNS = ['member_number', 'legal_name', 'legal_form', 'street', 'postcode', 'city', 'country', 'website', 'register_entry', 'vat_id', 'field_of_activity', 'employee_band', 'category_id', 'status', 'join_date', 'exit_date', 'exit_reason', 'exit_reference', 'name_key', 'city_key', 'application_id', 'notes', 'version', 'created_at', 'updated_at'];
const CONTACT_COLUMNS = ['organisation_id', 'name', 'name_key', 'email', 'phone', 'position', 'is_representative', 'is_billing', 'locale', 'consent_email_invitations', 'user_id', 'version', 'created_at', 'updated_at'];
const HISTORY_COLUMNS = ['organisation_id', 'effective_date', 'kind', 'category_id', 'status', 'reference', 'note', 'created_by', 'created_at'];

/** Every NOT NULL column without a default must be one the generator fills (later migrations may add some). */
async function checkColumns(db: Knex): Promise<void> {
  const tables: [string, string[]][] = [['organisations', ORG_COLUMNS], ['contacts', CONTACT_COLUMNS], ['membership_history', HISTORY_COLUMNS]];
  for (const [table, filled] of tables) {
    const info = (await db(table).columnInfo()) as unknown as Record<string, { nullable: boolean; defaultValue: unknown }>;
    const missing = Object.entries(info)
      .filter(([col, c]) => col !== 'id' && !c.nullable && (c.defaultValue === null || c.defaultValue === undefined) && !filled.includes(col))
      .map(([col]) => col);
    if (missing.length) throw new BenchSeedRefused(`bench:seed does not know how to fill ${table}.${missing.join(', ')} (NOT NULL without a default): bench/seed-members.ts needs updating.`);
    const unknown = filled.filter((col) => !(col in info));
    if (unknown.length) throw new BenchSeedRefused(`bench:seed writes ${table}.${unknown.join(', ')}, which the database does not have: bench/seed-members.ts needs updating.`);
  }
}

interface GeneratedMember {
  org: Row;
  contacts: Row[];
  history: Row[];
}

/** SQLite: prepared statements on the better-sqlite3 connection, one transaction. */
async function insertWithSqlite(db: Knex, gen: Generator, joinDates: string[], print: Print): Promise<{ contacts: number; history: number }> {
  const client = db.client as unknown as { acquireConnection(): Promise<SqliteConnection>; releaseConnection(c: SqliteConnection): Promise<unknown> };
  const conn = await client.acquireConnection();
  try {
    const insert = (table: string, cols: string[]) => conn.prepare(`insert into ${table} (${cols.join(', ')}) values (${cols.map(() => '?').join(', ')})`);
    const orgStmt = insert('organisations', ORG_COLUMNS);
    const contactStmt = insert('contacts', CONTACT_COLUMNS);
    const historyStmt = insert('membership_history', HISTORY_COLUMNS);
    const bind = (r: Row, cols: string[]) => cols.map((c) => { const v = r[c]; return typeof v === 'boolean' ? (v ? 1 : 0) : v ?? null; });
    let contacts = 0;
    let history = 0;
    const step = progressStep(joinDates.length);
    conn.transaction(() => {
      for (let i = 0; i < joinDates.length; i++) {
        const m = gen.member(i + 1, joinDates[i]);
        const id = Number(orgStmt.run(...bind(m.org, ORG_COLUMNS)).lastInsertRowid);
        for (const c of m.contacts) contactStmt.run(...bind({ ...c, organisation_id: id }, CONTACT_COLUMNS));
        for (const h of m.history) historyStmt.run(...bind({ ...h, organisation_id: id }, HISTORY_COLUMNS));
        contacts += m.contacts.length;
        history += m.history.length;
        if ((i + 1) % step === 0 && i + 1 < joinDates.length) print(`  ${i + 1} …`);
      }
    })();
    return { contacts, history };
  } finally {
    await client.releaseConnection(conn);
  }
}

interface SqliteConnection {
  prepare(sql: string): { run(...params: unknown[]): { lastInsertRowid: number | bigint } };
  transaction(fn: () => void): () => void;
}

/** Other databases: knex, at most 500 rows per INSERT, one transaction per 5,000 organisations. */
async function insertWithKnex(db: Knex, gen: Generator, joinDates: string[], print: Print): Promise<{ contacts: number; history: number }> {
  const CHUNK = 500;
  const BATCH = 5000;
  let contacts = 0;
  let history = 0;
  const step = progressStep(joinDates.length);
  for (let start = 0; start < joinDates.length; start += BATCH) {
    await db.transaction(async (trx) => {
      for (let s = start; s < Math.min(start + BATCH, joinDates.length); s += CHUNK) {
        const members: GeneratedMember[] = [];
        for (let i = s; i < Math.min(s + CHUNK, joinDates.length); i++) members.push(gen.member(i + 1, joinDates[i]));
        const ids = (await trx('organisations').insert(members.map((m) => m.org)).returning(['id', 'member_number'])) as { id: number; member_number: number }[];
        const idOf = new Map(ids.map((r) => [Number(r.member_number), Number(r.id)]));
        const cs = members.flatMap((m) => m.contacts.map((c) => ({ ...c, organisation_id: idOf.get(Number(m.org.member_number))! })));
        const hs = members.flatMap((m) => m.history.map((h) => ({ ...h, organisation_id: idOf.get(Number(m.org.member_number))! })));
        for (let k = 0; k < cs.length; k += CHUNK) await trx('contacts').insert(cs.slice(k, k + CHUNK));
        for (let k = 0; k < hs.length; k += CHUNK) await trx('membership_history').insert(hs.slice(k, k + CHUNK));
        contacts += cs.length;
        history += hs.length;
      }
    });
    const done = Math.min(start + BATCH, joinDates.length);
    if (done < joinDates.length && Math.floor(done / step) > Math.floor(start / step)) print(`  ${done} …`);
  }
  return { contacts, history };
}

function progressStep(total: number): number {
  return Math.max(10_000, Math.ceil(total / 10 / 10_000) * 10_000);
}

// ---- the generator -------------------------------------------------------------------------

/** Mulberry32: small, fast, seeded. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Towns of the Goslar district with postcodes, telephone area codes and a weight (about their size). */
export const BENCH_CITIES: { city: string; postcodes: string[]; area: string; weight: number }[] = [
  { city: 'Goslar', postcodes: ['38640', '38642', '38644'], area: '5321', weight: 30 },
  { city: 'Bad Harzburg', postcodes: ['38667'], area: '5322', weight: 14 },
  { city: 'Clausthal-Zellerfeld', postcodes: ['38678'], area: '5323', weight: 10 },
  { city: 'Seesen', postcodes: ['38723'], area: '5381', weight: 12 },
  { city: 'Langelsheim', postcodes: ['38685'], area: '5326', weight: 8 },
  { city: 'Liebenburg', postcodes: ['38704'], area: '5346', weight: 6 },
  { city: 'Braunlage', postcodes: ['38700'], area: '5520', weight: 4 },
  { city: 'Vienenburg', postcodes: ['38690'], area: '5324', weight: 5 },
  { city: 'Oker', postcodes: ['38642'], area: '5321', weight: 4 },
  { city: 'Hahnenklee', postcodes: ['38644'], area: '5325', weight: 2 },
  { city: 'Lutter am Barenberge', postcodes: ['38729'], area: '5383', weight: 2 },
  { city: 'Sankt Andreasberg', postcodes: ['37444'], area: '5582', weight: 2 },
  { city: 'Wallmoden', postcodes: ['38729'], area: '5383', weight: 1 },
];

/** Regional words that begin some company names; each starts about 1 % of all names ("Okertaler …"). */
export const BENCH_REGIONAL = ['Harzer', 'Goslarer', 'Oberharzer', 'Okertaler', 'Innerstetaler', 'Nordharzer', 'Rammelsberger', 'Granetaler', 'Seesener', 'Langelsheimer', 'Brockenblick'];

const SURNAMES = ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann', 'Schäfer', 'Koch', 'Bauer', 'Richter', 'Klein', 'Wolf', 'Schröder', 'Neumann', 'Schwarz', 'Zimmermann', 'Braun', 'Krüger', 'Hofmann', 'Hartmann', 'Lange', 'Schmitt', 'Werner', 'Schmitz', 'Krause', 'Meier', 'Lehmann', 'Schulze', 'Maier', 'Köhler', 'Herrmann', 'König', 'Walter', 'Huber', 'Kaiser', 'Fuchs', 'Peters', 'Lang', 'Scholz', 'Möller', 'Weiß', 'Jung', 'Hahn', 'Schubert', 'Vogel', 'Friedrich', 'Keller', 'Günther', 'Frank', 'Berger', 'Winkler', 'Roth', 'Beck', 'Lorenz', 'Baumann', 'Franke', 'Albrecht', 'Schuster', 'Simon', 'Ludwig', 'Böhm', 'Winter', 'Kraus', 'Schumacher', 'Krämer', 'Vogt', 'Stein', 'Jäger', 'Otto', 'Sommer', 'Groß', 'Seidel', 'Heinrich', 'Brandt', 'Haas', 'Schreiber', 'Graf', 'Schulte', 'Dietrich', 'Ziegler', 'Kuhn', 'Pohl', 'Engel', 'Horn', 'Busch', 'Bergmann', 'Voigt', 'Sauer', 'Arnold', 'Wolff', 'Pfeiffer', 'Wölfel', 'Bode', 'Brunke', 'Ahrens', 'Heise', 'Brandes', 'Oppermann', 'Kruse', 'Ohlendorf', 'Wedekind', 'Dörge', 'Rennecke', 'Grote', 'Bartels', 'Hennecke'];
const FIRST_NAMES = ['Anna', 'Maria', 'Katrin', 'Sabine', 'Petra', 'Claudia', 'Julia', 'Laura', 'Lena', 'Sarah', 'Christina', 'Stefanie', 'Nicole', 'Susanne', 'Andrea', 'Birgit', 'Monika', 'Heike', 'Jana', 'Lisa', 'Sophie', 'Marie', 'Hannah', 'Leonie', 'Johanna', 'Ines', 'Thomas', 'Michael', 'Andreas', 'Stefan', 'Frank', 'Markus', 'Christian', 'Peter', 'Jürgen', 'Klaus', 'Martin', 'Matthias', 'Jan', 'Alexander', 'Tobias', 'Sebastian', 'Florian', 'Daniel', 'Lukas', 'Jonas', 'Felix', 'Maximilian', 'Uwe', 'Holger', 'Dirk', 'Jörg', 'Ralf', 'Bernd', 'Sven', 'Torsten', 'Kai', 'Björn', 'Nils', 'Henrik', 'Ole', 'Özlem', 'Mehmet', 'Agnieszka', 'Tomasz'];
const CORES = ['Spezialchemie', 'Chemie', 'Analytik', 'Laborservice', 'Kunststofftechnik', 'Oberflächentechnik', 'Galvanotechnik', 'Metallrecycling', 'Umwelttechnik', 'Verfahrenstechnik', 'Werkstofftechnik', 'Pharma', 'Feinchemikalien', 'Pigmente', 'Lacke und Farben', 'Klebstoffe', 'Polymertechnik', 'Anlagenbau', 'Apparatebau', 'Industrieservice', 'Messtechnik', 'Prüftechnik', 'Katalysatoren', 'Batterierecycling', 'Wasserstofftechnik', 'Energietechnik', 'Gießerei', 'Hüttentechnik', 'Entsorgung', 'Chemielogistik', 'Ingenieurbüro', 'Laborbedarf', 'Glastechnik', 'Keramik', 'Schmierstoffe', 'Filtertechnik', 'Dichtungstechnik', 'Elektrochemie', 'Mineralstoffe', 'Baustoffe', 'Reinigungstechnik', 'Automatisierung', 'Prozessleittechnik', 'Arbeitssicherheit', 'Unternehmensberatung', 'IT-Systeme', 'Softwareentwicklung', 'Zerspanungstechnik', 'Pulvermetallurgie', 'Bergbautechnik'];
const FIELDS = ['Materialwissenschaften', 'Polymerchemie', 'Umweltanalytik', 'Recyclingtechnologien', 'elektrochemische Speicher', 'Rohstoffforschung', 'Prozesstechnik', 'Mineralogie', 'Metallurgie', 'Katalyse', 'Oberflächenforschung', 'Kreislaufwirtschaft'];
const ACTIVITIES = ['Herstellung von Spezialchemikalien', 'Auftragsanalytik und Prüflabor', 'Kunststoffverarbeitung', 'Galvanische Beschichtung', 'Recycling von Metallen und Batterien', 'Anlagen- und Apparatebau für die Prozessindustrie', 'Forschung und Entwicklung', 'Ingenieurdienstleistungen', 'Entsorgung und Umweltdienstleistungen', 'Lohnfertigung', 'Handel mit Laborbedarf', 'Beratung zu REACH und Gefahrstoffen', 'Aus- und Weiterbildung', 'Software für Labor und Produktion'];
const STREETS = ['Hauptstraße', 'Bahnhofstraße', 'Industriestraße', 'Marktstraße', 'Rammelsberger Straße', 'Breite Straße', 'Am Markt', 'Im Schleeke', 'Gewerbepark', 'Am Bahnhof', 'Robert-Koch-Straße', 'Adolph-Roemer-Straße', 'Hüttenstraße', 'Clausthaler Straße', 'Braunschweiger Straße', 'Kaiserstraße', 'Lange Straße', 'Herzog-Wilhelm-Straße', 'Am Gewerbegebiet', 'Marie-Curie-Straße', 'Erzweg', 'Zechenstraße', 'Gutenbergstraße', 'Siemensstraße'];
const POSITIONS = ['Geschäftsführung', 'Leitung Forschung und Entwicklung', 'Werksleitung', 'Leitung Einkauf', 'Personalleitung', 'Assistenz der Geschäftsführung', 'Qualitätsmanagement', 'Vertrieb', 'Prokura', 'Umweltschutzbeauftragte/r'];
const FORMS: [string, number][] = [['GmbH', 50], ['GmbH & Co. KG', 15], ['AG', 5], ['UG (haftungsbeschränkt)', 6], ['e.K.', 6], ['KG', 5], ['OHG', 3], ['SE', 1], ['e.V.', 4], ['GbR', 5]];

export class Generator {
  private r: () => number;
  private today: string;
  private year: number;
  private nowIso: string;
  private domains = new Set<string>();
  private vatSerial = 0;

  constructor(seed: number, now: Date, private categories: Record<string, number>) {
    this.r = rng(seed);
    this.today = berlinDate(now);
    this.year = Number(this.today.slice(0, 4));
    this.nowIso = iso(now);
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  private pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.r() * a.length)];
  }
  private weighted<T>(items: readonly T[], weight: (t: T) => number): T {
    const sum = items.reduce((s, t) => s + weight(t), 0);
    let x = this.r() * sum;
    for (const t of items) if ((x -= weight(t)) < 0) return t;
    return items[items.length - 1];
  }

  /** N join dates between 1990-01-01 and today, sorted: member numbers follow the join order. */
  joinDates(n: number): string[] {
    const start = Date.UTC(1990, 0, 1);
    const days = Math.max(0, Math.floor((Date.parse(`${this.today}T00:00:00Z`) - start) / DAY));
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      // the first of a month for about half (the usual admission date), any day otherwise
      const d = new Date(start + this.int(0, days) * DAY);
      if (this.r() < 0.5) d.setUTCDate(1);
      out[i] = d.toISOString().slice(0, 10);
    }
    return out.sort();
  }

  /** Calendar arithmetic on 'YYYY-MM-DD' (UTC midnight: no time zone involved). */
  private addDays(date: string, days: number): string {
    return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);
  }

  private vatId(): string {
    // 8 digits and the ISO 7064 MOD 11,10 check digit, as German VAT ids have
    const body = String(10_000_000 + ((this.vatSerial++ * 7919 + this.int(0, 999)) % 89_999_999)).slice(0, 8);
    let product = 10;
    for (const ch of body) {
      let sum = (Number(ch) + product) % 10;
      if (sum === 0) sum = 10;
      product = (2 * sum) % 11;
    }
    let check = 11 - product;
    if (check === 10) check = 0;
    return `DE${body}${check}`;
  }

  private slug(s: string): string {
    return s.toLowerCase().replace(/ä/g, 'ae').replace(/ö/g, 'oe').replace(/ü/g, 'ue').replace(/ß/g, 'ss')
      .normalize('NFD').replace(/[\u0300-\u036f]/g, '')
      .replace(/&/g, ' und ').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  }

  private domainFor(base: string, city: string): string {
    const b = this.slug(base).slice(0, 50);
    const c = this.slug(city);
    let d = b;
    if (this.domains.has(d) && !b.includes(c)) d = `${b}-${c}`;
    for (let k = 2; this.domains.has(d); k++) d = `${b}-${k}`;
    this.domains.add(d);
    return `${d}.example`;
  }

  private person(): { name: string; local: string } {
    const first = this.pick(FIRST_NAMES);
    const last = this.pick(SURNAMES);
    const t = this.r();
    const title = t < 0.02 ? 'Prof. Dr. ' : t < 0.12 ? 'Dr. ' : '';
    return { name: `${title}${first} ${last}`, local: `${this.slug(first)}.${this.slug(last)}` };
  }

  member(memberNumber: number, joinDate: string): GeneratedMember {
    const c = this.categories;
    const catR = this.r();
    const category = catR < 0.7 ? 'company' : catR < 0.8 ? 'research' : catR < 0.97 ? 'supporting' : 'honorary';
    const town = this.weighted(BENCH_CITIES, (x) => x.weight);
    const joinYear = Number(joinDate.slice(0, 4));

    // name and legal form
    let base: string;
    let legalForm: string;
    if (category === 'research') {
      const field = this.pick(FIELDS);
      const k = this.r();
      legalForm = k < 0.5 ? '' : k < 0.8 ? 'e.V.' : 'Körperschaft des öffentlichen Rechts';
      base = k < 0.4 ? `Institut für ${field[0].toUpperCase()}${field.slice(1)} ${town.city}` : k < 0.7 ? `Forschungszentrum ${field[0].toUpperCase()}${field.slice(1)}` : `Labor für ${field[0].toUpperCase()}${field.slice(1)} an der TU Clausthal`;
    } else {
      legalForm = this.weighted(FORMS, (f) => f[1])[0];
      const p = this.r();
      const core = this.pick(CORES);
      if (p < 0.12) base = `${this.pick(BENCH_REGIONAL)} ${core}`;
      else if (p < 0.55) base = `${this.pick(SURNAMES)} ${core}`;
      else if (p < 0.7) base = `${this.pick(SURNAMES)} & ${this.pick(SURNAMES)}`;
      else if (p < 0.88) base = `${core} ${this.pick(SURNAMES)}`;
      else base = `${core} ${town.city}`;
    }
    const legalName = legalForm && legalForm !== 'Körperschaft des öffentlichen Rechts' ? `${base} ${legalForm}` : base;
    const domain = this.domainFor(base, town.city);

    // status and exit
    const s = this.r();
    let status: 'active' | 'notice_given' | 'former' = s < 0.85 ? 'active' : s < 0.88 ? 'notice_given' : 'former';
    if (status === 'former' && joinYear >= this.year) status = 'active';
    let exitDate: string | null = null;
    let exitReason: string | null = null;
    let exitReference: string | null = null;
    const history: Row[] = [
      { effective_date: joinDate, kind: 'joined', category_id: c[category], status: 'active', reference: null, note: null, created_by: null, created_at: this.nowIso },
    ];
    const event = (kind: string, date: string, st: string | null, reference: string | null = null) =>
      history.push({ effective_date: date, kind, category_id: null, status: st, reference, note: null, created_by: null, created_at: this.nowIso });
    if (status === 'notice_given') {
      exitReason = 'notice';
      exitDate = `${this.year}-12-31` >= this.today && this.r() < 0.6 ? `${this.year}-12-31` : `${this.year + 1}-12-31`;
      const received = this.addDays(this.today, -this.int(0, 300));
      event('notice_received', received > joinDate ? received : joinDate, 'notice_given');
    } else if (status === 'former') {
      const exitYear = this.int(joinYear, this.year - 1);
      const reason = this.r();
      if (reason < 0.8) {
        exitReason = 'notice';
        exitDate = `${exitYear}-12-31`;
        const received = `${exitYear}-0${this.int(1, 9)}-${String(this.int(1, 28)).padStart(2, '0')}`;
        event('notice_received', received > joinDate ? received : joinDate, 'notice_given');
        event('exited', formerFrom(exitDate), 'former');
      } else {
        const d = `${exitYear}-${String(this.int(1, 12)).padStart(2, '0')}-${String(this.int(1, 28)).padStart(2, '0')}`;
        exitDate = d > joinDate ? d : joinDate;
        if (reason < 0.95) {
          exitReason = 'dissolution';
          event('dissolved', exitDate, null);
        } else {
          exitReason = 'exclusion';
          exitReference = `Vorstandsbeschluss ${exitYear}/${String(this.int(1, 24)).padStart(2, '0')}`;
          event('excluded', exitDate, null, exitReference);
        }
        event('exited', exitDate, 'former', exitReference);
      }
    }

    const registerKind = /GmbH|AG|UG|SE/.test(legalForm) && !legalForm.includes('KG') ? 'HRB' : legalForm === 'e.V.' ? 'VR' : /KG|e\.K\.|OHG/.test(legalForm) ? 'HRA' : '';
    const isCompany = category === 'company' || category === 'supporting';
    const band = category === 'company' ? this.weighted([['1-49', 65], ['50-249', 25], ['250+', 10]] as const, (b) => b[1])[0] : '';
    const org: Row = {
      member_number: memberNumber,
      legal_name: legalName,
      legal_form: legalForm,
      street: `${this.pick(STREETS)} ${this.int(1, 120)}${this.r() < 0.1 ? 'a' : ''}`,
      postcode: this.pick(town.postcodes),
      city: town.city,
      country: 'DE',
      website: this.r() < 0.85 ? `https://www.${domain}` : '',
      register_entry: registerKind ? `${registerKind} ${this.int(100, 209999)}, Amtsgericht Braunschweig` : '',
      vat_id: isCompany && registerKind && this.r() < 0.8 ? this.vatId() : '',
      field_of_activity: category === 'research' ? 'Forschung und Entwicklung' : this.pick(ACTIVITIES),
      employee_band: band,
      category_id: c[category],
      status,
      join_date: joinDate,
      exit_date: exitDate,
      exit_reason: exitReason,
      exit_reference: exitReference,
      name_key: nameKey(legalName),
      city_key: nameKey(town.city),
      application_id: null,
      notes: this.r() < 0.05 ? 'Ansprechpartner wünscht Einladungen per Post.' : null,
      version: 1,
      created_at: this.nowIso,
      updated_at: this.nowIso,
    };

    // contacts: 1–4, 2.5 on average; the first represents the member
    const k = this.r();
    const count = k < 0.2 ? 1 : k < 0.5 ? 2 : k < 0.8 ? 3 : 4;
    const contacts: Row[] = [];
    const used = new Set<string>();
    for (let i = 0; i < count; i++) {
      const p = this.person();
      let local = i === 1 && this.r() < 0.4 ? this.pick(['rechnung', 'buchhaltung', 'finanzen']) : p.local;
      for (let j = 2; used.has(local); j++) local = `${p.local}${j}`;
      used.add(local);
      const email = i > 0 && this.r() < 0.05 ? '' : `${local}@${domain}`;
      contacts.push({
        name: p.name,
        name_key: nameKey(p.name),
        email: email.toLowerCase(),
        phone: `+49 ${town.area} ${this.int(10_000, 999_999)}${this.r() < 0.3 ? `-${this.int(10, 99)}` : ''}`,
        position: i === 0 ? (category === 'research' ? 'Institutsleitung' : 'Geschäftsführung') : i === 1 ? 'Buchhaltung' : this.pick(POSITIONS),
        is_representative: i === 0,
        is_billing: count === 1 ? true : i === 1,
        locale: this.r() < 0.05 ? 'en' : 'de',
        consent_email_invitations: email !== '' && this.r() < 0.7,
        user_id: null,
        version: 1,
        created_at: this.nowIso,
        updated_at: this.nowIso,
      });
    }
    return { org, contacts, history };
  }
}
