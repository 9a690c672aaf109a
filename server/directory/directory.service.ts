import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { berlinDate, iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import { isLocale, tFor, type Locale } from '../i18n/i18n.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { MembersService, Organisation, Contact } from '../members/members.service.ts';
import { csvLine, UTF8_BOM } from '../members/csv.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { DirectoryField, DirectorySettings } from '../settings/settings.schemas.ts';
import type { UsersService } from '../auth/users.service.ts';
import * as repo from './directory.repository.ts';
import type { DirectoryProfileRow, ReviewStatus } from './directory.tables.ts';
import { LogoError, processLogo, type LogoProblem } from './logo.ts';
import { DISTRICT_TOWNS, districtTown, MAP_HEIGHT, MAP_WIDTH, outlinePath, project } from './towns.ts';
import type { EnquiryInput, ProfileInput } from './directory.schemas.ts';

/**
 * The network's public directory (issue 16 items 2 and 3): a member organisation's contacts edit
 * its profile in the portal and submit it; the board approves it, and only then does the approved
 * snapshot appear on /netzwerk, in its JSON and CSV; withdrawing takes it off at once. An
 * organisation that is no longer a member is never shown, whatever its profile says. Visitors
 * send enquiries through a form; they go through the outbox to the member's cooperation contact,
 * and the board sees how many, never what.
 */

/** What the public sees of a profile: the snapshot the board approved. */
export interface PublishedProfile {
  descriptionDe: string;
  descriptionEn: string;
  fields: string[];
  town: string;
  website: string;
  contactId: number | null;
  logoId: number | null;
}

export interface PublicEntry {
  slug: string;
  name: string;
  description: string;
  descriptionDe: string;
  descriptionEn: string;
  fields: { key: string; label: string }[];
  town: string;
  website: string;
  logoUrl: string | null;
  url: string;
  publishedAt: string;
}

export interface OwnProfile {
  exists: boolean;
  slug: string | null;
  values: {
    descriptionDe: string; descriptionEn: string; fields: string[]; town: string; website: string; contactId: number | null; version: number;
  };
  logoUrl: string | null;
  reviewStatus: ReviewStatus | null;
  reviewNote: string | null;
  published: boolean;
  publishedAt: string | null;
  /** the draft differs from what is published (or nothing is published yet) */
  unpublishedChanges: boolean;
  publicUrl: string | null;
}

/** A rule of the directory broken; `field` when a form field is at fault. */
export class DirectoryError extends AppError {
  constructor(code: string, readonly field?: string, readonly params: Record<string, unknown> = {}) {
    super(code === 'rate_limited' ? 429 : 422, code);
  }
}

interface Deps {
  db: Knex;
  clock: Clock;
  config: Config;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  members: MembersService;
  users: UsersService;
}

/** At most this many enquiries from one sender per hour, and to one member per day. */
export const ENQUIRIES_PER_SENDER_HOUR = 5;
export const ENQUIRIES_PER_MEMBER_DAY = 20;

const DE_FOLD: Record<string, string> = { ä: 'ae', ö: 'oe', ü: 'ue', ß: 'ss', Ä: 'ae', Ö: 'oe', Ü: 'ue' };

/** A URL part from a name: "Harzer Spezialchemie GmbH" → "harzer-spezialchemie-gmbh". */
export function slugify(name: string): string {
  const s = name.replace(/[äöüßÄÖÜ]/g, (c) => DE_FOLD[c]).normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80).replace(/-+$/, '');
  return s || 'mitglied';
}

function parseFields(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function snapshotOf(r: DirectoryProfileRow): PublishedProfile {
  return {
    descriptionDe: r.description_de, descriptionEn: r.description_en, fields: parseFields(r.fields), town: r.town, website: r.website,
    contactId: r.contact_id == null ? null : Number(r.contact_id), logoId: r.logo_id == null ? null : Number(r.logo_id),
  };
}

function publishedOf(r: DirectoryProfileRow): PublishedProfile | null {
  if (!r.published) return null;
  return JSON.parse(r.published) as PublishedProfile; // why: written by approve() below from a PublishedProfile
}

const sameSnapshot = (a: PublishedProfile, b: PublishedProfile) => JSON.stringify(a) === JSON.stringify(b);

const fold = (s: string) => s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

export class DirectoryService {
  constructor(private readonly d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  /** A member today: not former and not past its exit date. */
  private isMember(o: Organisation | undefined): o is Organisation {
    if (!o || o.status === 'former') return false;
    return !o.exitDate || o.exitDate >= berlinDate(this.d.clock.now());
  }

  settings(): Promise<DirectorySettings> {
    return this.d.settings.directory();
  }

  private label(f: DirectoryField, locale: Locale): string {
    return locale === 'en' ? f.en : f.de;
  }

  /* ------------------------------------------------------------------ the member's portal */

  async own(organisationId: number): Promise<OwnProfile> {
    const r = await repo.profileOf(this.d.db, organisationId);
    if (!r) {
      const [org] = await this.d.members.getMany([organisationId]);
      return {
        exists: false, slug: null, logoUrl: null, reviewStatus: null, reviewNote: null, published: false, publishedAt: null, unpublishedChanges: false, publicUrl: null,
        values: { descriptionDe: '', descriptionEn: '', fields: [], town: org?.city ?? '', website: org?.website ?? '', contactId: null, version: 0 },
      };
    }
    const pub = publishedOf(r);
    const draft = snapshotOf(r);
    return {
      exists: true, slug: r.slug, reviewStatus: r.review_status, reviewNote: r.review_note, published: !!pub, publishedAt: r.published_at,
      unpublishedChanges: !pub || !sameSnapshot(pub, draft), publicUrl: pub ? `/netzwerk/${r.slug}` : null,
      logoUrl: r.logo_id ? `/portal/directory/logo.png?v=${r.logo_id}` : null,
      values: { ...draft, version: Number(r.version) },
    };
  }

  async ownLogo(organisationId: number): Promise<Buffer | undefined> {
    const r = await repo.profileOf(this.d.db, organisationId);
    if (!r?.logo_id) return undefined;
    return (await repo.logo(this.d.db, Number(r.logo_id)))?.content;
  }

  /**
   * Saves the contacts' draft (and submits it for the board's approval when `submit`). The
   * description's length and the fields are checked against the settings, the cooperation contact
   * must be one of the organisation's, the logo is checked and re-encoded before anything is
   * written; all of it or nothing.
   */
  async save(actor: Actor, organisationId: number, input: ProfileInput, logoUpload: Buffer | undefined, submit: boolean, opts: { notifyBoard?: boolean } = {}): Promise<void> {
    const settings = await this.d.settings.directory();
    const keys = new Set(settings.fields.map((f) => f.key));
    const fields = [...new Set(input.fields)];
    if (input.descriptionDe.length > settings.descriptionMax) throw new DirectoryError('too_long', 'descriptionDe', { max: settings.descriptionMax });
    if (input.descriptionEn.length > settings.descriptionMax) throw new DirectoryError('too_long', 'descriptionEn', { max: settings.descriptionMax });
    if (fields.some((f) => !keys.has(f))) throw new DirectoryError('unknown_field', 'fields');
    if (submit && !fields.length) throw new DirectoryError('no_field', 'fields');
    const contacts = await this.d.members.contacts(organisationId);
    if (input.contactId != null && !contacts.some((c) => c.id === input.contactId)) throw new DirectoryError('unknown_contact', 'contactId');
    if (submit && input.contactId == null) throw new DirectoryError('no_contact', 'contactId');
    let logo: Awaited<ReturnType<typeof processLogo>> | undefined;
    if (logoUpload && logoUpload.length) {
      try {
        logo = await processLogo(logoUpload);
      } catch (e) {
        if (e instanceof LogoError) throw new DirectoryError(`logo_${e.code satisfies LogoProblem}`, 'logo');
        throw e;
      }
    }
    const [org] = await this.d.members.getMany([organisationId]);
    if (!this.isMember(org)) throw new DirectoryError('not_member');
    const board = submit && opts.notifyBoard !== false ? (await this.d.users.list({ role: 'board' })).filter((u) => !u.disabled) : [];
    const now = this.now();
    await this.d.db.transaction(async (trx) => {
      let row = await repo.profileOf(trx, organisationId);
      if (!row) {
        if (input.version !== 0) throw new ConflictError();
        let slug = slugify(org.legalName);
        for (let i = 2; await repo.slugTaken(trx, slug); i++) slug = `${slugify(org.legalName)}-${i}`;
        await repo.insertProfile(trx, {
          organisation_id: organisationId, slug, description_de: '', description_en: '', fields: '[]', town: '', website: '', contact_id: null, logo_id: null,
          review_status: 'draft', review_note: null, submitted_at: null, published: null, published_at: null, withdrawn_at: null, created_at: now, updated_at: now, version: 1,
        });
        row = (await repo.profileOf(trx, organisationId))!;
      } else if (Number(row.version) !== input.version) {
        throw new ConflictError();
      }
      let logoId = row.logo_id == null ? null : Number(row.logo_id);
      if (logo) logoId = await repo.insertLogo(trx, { organisation_id: organisationId, ...logo, created_at: now });
      else if (input.removeLogo) logoId = null;
      const before = snapshotOf(row);
      const after: PublishedProfile = {
        descriptionDe: input.descriptionDe, descriptionEn: input.descriptionEn, fields, town: input.town, website: input.website, contactId: input.contactId, logoId,
      };
      const pub = publishedOf(row);
      const status: ReviewStatus = submit ? 'pending' : pub && sameSnapshot(pub, after) ? 'approved' : row.review_status === 'pending' && sameSnapshot(before, after) ? 'pending' : 'draft';
      const ok = await repo.updateProfileAt(trx, Number(row.id), Number(row.version), {
        description_de: after.descriptionDe, description_en: after.descriptionEn, fields: JSON.stringify(after.fields), town: after.town, website: after.website,
        contact_id: after.contactId, logo_id: logoId, review_status: status, review_note: submit ? null : row.review_note, submitted_at: submit ? now : row.submitted_at, updated_at: now,
      });
      if (!ok) throw new ConflictError();
      await repo.deleteLogosExcept(trx, organisationId, [logoId, pub?.logoId].filter((x): x is number => x != null));
      await this.d.audit.record(trx, actor, submit ? 'directory.submitted' : 'directory.saved', 'directory_profile', Number(row.id),
        { reviewStatus: row.review_status, fields: before.fields, town: before.town, website: before.website, logo: before.logoId != null },
        { reviewStatus: status, fields: after.fields, town: after.town, website: after.website, logo: logoId != null });
      if (board.length) await this.tellBoard(trx, board, org, Number(row.id));
    });
  }

  private async tellBoard(trx: Knex.Transaction, board: { email: string; locale: string }[], org: Organisation, profileId: number): Promise<void> {
    const association = await this.d.settings.association(trx);
    for (const u of board) {
      const locale: Locale = isLocale(u.locale) ? u.locale : 'de';
      const t = tFor(locale);
      await this.d.outbox.enqueue(trx, {
        template: 'directory_submitted', locale, to: u.email, related: { type: 'directory_profile', id: profileId },
        content: {
          subject: t('directory.mail.submitted.subject', { organisation: org.legalName }),
          paragraphs: [t('directory.mail.submitted.text', { organisation: org.legalName, memberNo: org.memberNo })],
          action: { label: t('directory.mail.submitted.action'), url: `${this.d.config.baseUrl}/board/directory` },
          signature: association.name,
        },
      });
    }
  }

  /** Takes the profile off the public pages and exports at once; a pending submission is cancelled. */
  async withdraw(actor: Actor, organisationId: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const row = await repo.profileOf(trx, organisationId);
      if (!row || (!row.published && row.review_status !== 'pending')) throw new DirectoryError('nothing_to_withdraw');
      const now = this.now();
      if (!(await repo.updateProfileAt(trx, Number(row.id), Number(row.version), { published: null, published_at: null, withdrawn_at: now, review_status: 'draft', updated_at: now }))) throw new ConflictError();
      await repo.deleteLogosExcept(trx, organisationId, row.logo_id == null ? [] : [Number(row.logo_id)]);
      await this.d.audit.record(trx, actor, 'directory.withdrawn', 'directory_profile', Number(row.id), { published: !!row.published, reviewStatus: row.review_status }, { published: false, reviewStatus: 'draft' });
    });
  }

  /* ------------------------------------------------------------------ the board */

  async boardOverview(locale: Locale) {
    const rows = await repo.allProfiles(this.d.db);
    const orgs = new Map((await this.d.members.getMany(rows.map((r) => Number(r.organisation_id)))).map((o) => [o.id, o]));
    const since = iso(new Date(this.d.clock.now().getTime() - 365 * 86_400_000));
    const counts = await repo.enquiryCounts(this.d.db, since);
    const settings = await this.d.settings.directory();
    const byKey = new Map(settings.fields.map((f) => [f.key, f]));
    const view = (r: DirectoryProfileRow) => {
      const o = orgs.get(Number(r.organisation_id));
      const draft = snapshotOf(r);
      const pub = publishedOf(r);
      return {
        id: Number(r.id), organisationId: Number(r.organisation_id), name: o?.legalName ?? '', memberNo: o?.memberNo ?? '', slug: r.slug, version: Number(r.version),
        reviewStatus: r.review_status, reviewNote: r.review_note, submittedAt: r.submitted_at, published: !!pub, publishedAt: r.published_at, member: this.isMember(o),
        draft: { ...draft, fieldLabels: draft.fields.map((k) => (byKey.get(k) ? this.label(byKey.get(k)!, locale) : k)) },
        logoUrl: draft.logoId ? `/board/directory/${Number(r.id)}/logo.png?v=${draft.logoId}` : null,
        enquiries: counts.get(Number(r.organisation_id)) ?? { total: 0, recent: 0 },
      };
    };
    const all = rows.map(view);
    return {
      pending: all.filter((x) => x.reviewStatus === 'pending'),
      published: all.filter((x) => x.published),
      others: all.filter((x) => !x.published && x.reviewStatus !== 'pending'),
      settings,
    };
  }

  async draftLogo(profileId: number): Promise<Buffer | undefined> {
    const r = await repo.profileById(this.d.db, profileId);
    if (!r?.logo_id) return undefined;
    return (await repo.logo(this.d.db, Number(r.logo_id)))?.content;
  }

  private async reviewable(trx: Knex.Transaction, profileId: number, version: number): Promise<DirectoryProfileRow> {
    const row = await repo.profileById(trx, profileId);
    if (!row) throw new NotFoundError();
    if (row.review_status !== 'pending') throw new DirectoryError('not_pending');
    if (Number(row.version) !== version) throw new ConflictError();
    return row;
  }

  /** Publishes the submitted draft as it was submitted (the version guards against a change meanwhile). */
  async approve(actor: Actor, profileId: number, version: number): Promise<void> {
    const found = await repo.profileById(this.d.db, profileId);
    if (!found) throw new NotFoundError();
    // read before the transaction: on SQLite it holds the only connection
    const [org] = await this.d.members.getMany([Number(found.organisation_id)]);
    if (!this.isMember(org)) throw new DirectoryError('not_member');
    await this.d.db.transaction(async (trx) => {
      const row = await this.reviewable(trx, profileId, version);
      const snap = snapshotOf(row);
      const now = this.now();
      if (!(await repo.updateProfileAt(trx, profileId, version, { published: JSON.stringify(snap), published_at: now, review_status: 'approved', review_note: null, withdrawn_at: null, updated_at: now }))) throw new ConflictError();
      await repo.deleteLogosExcept(trx, Number(row.organisation_id), snap.logoId == null ? [] : [snap.logoId]);
      await this.d.audit.record(trx, actor, 'directory.approved', 'directory_profile', profileId, { reviewStatus: 'pending' }, { reviewStatus: 'approved', published: true });
    });
  }

  async reject(actor: Actor, profileId: number, version: number, note: string): Promise<void> {
    if (!note.trim()) throw new DirectoryError('note_required', 'note');
    await this.d.db.transaction(async (trx) => {
      await this.reviewable(trx, profileId, version);
      if (!(await repo.updateProfileAt(trx, profileId, version, { review_status: 'rejected', review_note: note.trim(), updated_at: this.now() }))) throw new ConflictError();
      await this.d.audit.record(trx, actor, 'directory.rejected', 'directory_profile', profileId, { reviewStatus: 'pending' }, { reviewStatus: 'rejected', note: note.trim() });
    });
  }

  /** For the register's member page: where the organisation's profile stands. */
  async statusOf(organisationId: number): Promise<{ state: 'none' | ReviewStatus; published: boolean; publicUrl: string | null; enquiries: number }> {
    const r = await repo.profileOf(this.d.db, organisationId);
    if (!r) return { state: 'none', published: false, publicUrl: null, enquiries: 0 };
    const counts = await repo.enquiryCounts(this.d.db, iso(new Date(this.d.clock.now().getTime() - 365 * 86_400_000)));
    return { state: r.review_status, published: !!r.published, publicUrl: r.published ? `/netzwerk/${r.slug}` : null, enquiries: counts.get(organisationId)?.recent ?? 0 };
  }

  /* ------------------------------------------------------------------ the public */

  /** Every published profile of a current member, by name. */
  async entries(locale: Locale): Promise<(PublicEntry & { organisationId: number; contactId: number | null })[]> {
    const rows = await repo.publishedProfiles(this.d.db);
    const orgs = new Map((await this.d.members.getMany(rows.map((r) => Number(r.organisation_id)))).map((o) => [o.id, o]));
    const settings = await this.d.settings.directory();
    const byKey = new Map(settings.fields.map((f) => [f.key, f]));
    const out: (PublicEntry & { organisationId: number; contactId: number | null })[] = [];
    for (const r of rows) {
      const o = orgs.get(Number(r.organisation_id));
      const p = publishedOf(r);
      if (!p || !this.isMember(o)) continue;
      const descriptionDe = p.descriptionDe;
      const descriptionEn = p.descriptionEn;
      out.push({
        organisationId: o.id, contactId: p.contactId, slug: r.slug, name: o.legalName,
        description: locale === 'en' && descriptionEn ? descriptionEn : descriptionDe, descriptionDe, descriptionEn,
        fields: p.fields.filter((k) => byKey.has(k)).map((k) => ({ key: k, label: this.label(byKey.get(k)!, locale) })),
        town: p.town, website: p.website, logoUrl: p.logoId ? `/netzwerk/${r.slug}/logo.png?v=${p.logoId}` : null,
        url: `${this.d.config.baseUrl}/netzwerk/${r.slug}`, publishedAt: r.published_at ?? '',
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name, 'de'));
  }

  /** The list with filters (field key, town, words), the filter choices with counts, and the map. */
  async publicList(locale: Locale, filter: { field?: string; town?: string; q?: string }) {
    const all = await this.entries(locale);
    const settings = await this.d.settings.directory();
    const words = fold(filter.q ?? '').split(/\s+/).filter(Boolean);
    const list = all.filter((e) =>
      (!filter.field || e.fields.some((f) => f.key === filter.field)) &&
      (!filter.town || fold(e.town) === fold(filter.town)) &&
      words.every((w) => fold(`${e.name} ${e.descriptionDe} ${e.descriptionEn} ${e.town} ${e.fields.map((f) => f.label).join(' ')}`).includes(w)));
    const fieldChoices = settings.fields.map((f) => ({ key: f.key, label: this.label(f, locale), count: all.filter((e) => e.fields.some((x) => x.key === f.key)).length, selected: f.key === filter.field }));
    const towns = [...new Set(all.map((e) => e.town).filter(Boolean))].sort((a, b) => a.localeCompare(b, 'de'))
      .map((t) => ({ name: t, count: all.filter((e) => e.town === t).length, selected: !!filter.town && fold(t) === fold(filter.town) }));
    return { list: list.map(({ organisationId: _o, contactId: _c, ...e }) => e), total: all.length, fieldChoices, towns, map: this.map(all) };
  }

  /** The district with a dot per town that has members (its size by their number), drawn as SVG data. */
  private map(all: PublicEntry[]) {
    const counts = new Map<string, number>();
    let elsewhere = 0;
    for (const e of all) {
      const t = districtTown(e.town);
      if (t) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
      else elsewhere++;
    }
    return {
      width: MAP_WIDTH, height: MAP_HEIGHT, outline: outlinePath(), elsewhere,
      towns: DISTRICT_TOWNS.map((t) => {
        const p = project(t.lat, t.lon);
        const n = counts.get(t.name) ?? 0;
        return { name: t.name, x: p.x, y: p.y, count: n, r: n ? Math.min(6 + 3 * Math.sqrt(n), 18) : 2.5, labelY: Math.round((p.y - (n ? Math.min(6 + 3 * Math.sqrt(n), 18) : 2.5) - 3) * 10) / 10 };
      }),
    };
  }

  async publicProfile(locale: Locale, slug: string): Promise<PublicEntry | undefined> {
    const e = (await this.entries(locale)).find((x) => x.slug === slug);
    if (!e) return undefined;
    const { organisationId: _o, contactId: _c, ...rest } = e;
    return rest;
  }

  async publicLogo(slug: string): Promise<{ content: Buffer; etag: string } | undefined> {
    const row = await repo.profileBySlug(this.d.db, slug);
    const p = row ? publishedOf(row) : null;
    if (!row || !p?.logoId) return undefined;
    const [org] = await this.d.members.getMany([Number(row.organisation_id)]);
    if (!this.isMember(org)) return undefined;
    const l = await repo.logo(this.d.db, p.logoId);
    return l ? { content: l.content, etag: `"${l.sha256.slice(0, 32)}"` } : undefined;
  }

  /** Open data: the published profiles as JSON (both languages) … */
  async exportJson(): Promise<object> {
    const list = await this.entries('de');
    const en = new Map((await this.entries('en')).map((e) => [e.slug, e]));
    const settings = await this.d.settings.directory();
    return {
      generatedAt: this.now(), licence: 'CC0-1.0', count: list.length,
      fields: settings.fields,
      members: list.map((e) => ({
        slug: e.slug, name: e.name, url: e.url, town: e.town, website: e.website || null, fields: e.fields.map((f) => f.key),
        fieldLabels: { de: e.fields.map((f) => f.label), en: (en.get(e.slug)?.fields ?? []).map((f) => f.label) },
        description: { de: e.descriptionDe, en: e.descriptionEn || null },
        logo: e.logoUrl ? `${this.d.config.baseUrl}${e.logoUrl}` : null, publishedAt: e.publishedAt,
      })),
    };
  }

  /** … and as CSV (semicolons, UTF-8 with BOM, as German spreadsheets open it). */
  async exportCsv(locale: Locale): Promise<string> {
    const t = tFor(locale);
    const list = await this.entries(locale);
    const head = ['name', 'town', 'fields', 'website', 'descriptionDe', 'descriptionEn', 'url'].map((k) => t(`directory.csv.${k}`));
    return UTF8_BOM + csvLine(head) + list.map((e) => csvLine([e.name, e.town, e.fields.map((f) => f.label).join(', '), e.website, e.descriptionDe, e.descriptionEn, e.url])).join('');
  }

  /* ------------------------------------------------------------------ enquiries */

  private sourceHash(source: string): string {
    return crypto.createHmac('sha256', this.d.config.sessionSecret).update(`directory-enquiry:${source}`).digest('hex').slice(0, 40);
  }

  /**
   * Sends a visitor's enquiry to the member's cooperation contact (the representative when none
   * is named) through the outbox; the visitor's address is in the mail, never on the page. The
   * honeypot filled in: nothing is sent, and the visitor sees the usual confirmation (a robot
   * learns nothing). Over the limits: refused, nothing sent.
   */
  async enquire(slug: string, input: EnquiryInput, source: string): Promise<'sent' | 'dropped'> {
    const entry = (await this.entries('de')).find((e) => e.slug === slug);
    if (!entry) throw new NotFoundError();
    if (input.homepage.trim()) return 'dropped';
    const hash = this.sourceHash(source);
    const now = this.d.clock.now();
    if (await repo.enquiriesFrom(this.d.db, hash, iso(new Date(now.getTime() - 3_600_000))) >= ENQUIRIES_PER_SENDER_HOUR) throw new DirectoryError('rate_limited');
    if (await repo.enquiriesTo(this.d.db, entry.organisationId, iso(new Date(now.getTime() - 86_400_000))) >= ENQUIRIES_PER_MEMBER_DAY) throw new DirectoryError('rate_limited');
    const contacts = await this.d.members.contacts(entry.organisationId);
    const to: Contact | undefined = contacts.find((c) => c.id === entry.contactId && c.email) ?? contacts.find((c) => c.isRepresentative && c.email) ?? contacts.find((c) => c.email);
    if (!to) throw new DirectoryError('no_recipient');
    const association = await this.d.settings.association();
    const t = tFor(to.locale);
    await this.d.db.transaction(async (trx) => {
      const mailId = await this.d.outbox.enqueue(trx, {
        template: 'directory_enquiry', locale: to.locale, to: to.email, related: { type: 'organisation', id: entry.organisationId },
        replyTo: input.email, // answering the mail answers the visitor
        content: {
          subject: t('directory.mail.enquiry.subject', { name: input.name }),
          greeting: t('directory.mail.enquiry.greeting', { name: to.name }),
          paragraphs: [
            t('directory.mail.enquiry.intro', { association: association.name, name: input.name, organisation: input.organisation || t('directory.mail.enquiry.noOrganisation'), organisationName: entry.name }),
            t('directory.mail.enquiry.replyTo', { email: input.email }),
          ],
          quote: input.message,
          action: { label: t('directory.mail.enquiry.reply'), url: `mailto:${input.email}?subject=${encodeURIComponent(t('directory.mail.enquiry.replySubject', { association: association.name }))}` },
          afterAction: [t('directory.mail.enquiry.privacy', { association: association.name })],
          signature: association.name,
        },
      });
      await repo.insertEnquiry(trx, { organisation_id: entry.organisationId, source_hash: hash, mail_message_id: mailId, created_at: iso(now) });
      await this.d.audit.record(trx, { userId: null, label: 'public' }, 'directory.enquiry_sent', 'organisation', entry.organisationId, undefined, { mailId });
    });
    return 'sent';
  }

  /* ------------------------------------------------------------------ settings */

  /** "key | Deutsch | English" per line → the fields; the message names the first bad line. */
  parseFieldsText(text: string): { ok: true; fields: DirectoryField[] } | { ok: false; line: number } {
    const fields: DirectoryField[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      const [key, de, en] = line.split('|').map((s) => s.trim());
      if (!key || !/^[a-z0-9-]{1,40}$/.test(key) || !de || !en || de.length > 80 || en.length > 80 || /[<>]/.test(de + en) || fields.some((f) => f.key === key)) return { ok: false, line: i + 1 };
      fields.push({ key, de, en });
    }
    if (!fields.length || fields.length > 40) return { ok: false, line: 1 };
    return { ok: true, fields };
  }

  fieldsText(settings: DirectorySettings): string {
    return settings.fields.map((f) => `${f.key} | ${f.de} | ${f.en}`).join('\n');
  }

  async updateSettings(actor: Actor, value: DirectorySettings): Promise<void> {
    await this.d.settings.updateDirectory(actor, value);
  }
}
