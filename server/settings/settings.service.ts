import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { berlinDate, iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { diff } from '../audit/audit.service.ts';
import { bool as toBool } from '../db/knex.ts';
import type { ChangeFeed } from '../db/change-feed.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { MembershipCategoryRow } from './settings.tables.ts';
import { DEFAULT_STRIPE_SETTINGS, stripeSettingsSchema, type StripeSettings } from './settings.schemas.ts'; // h/stripe
import {
  categoryRow, categoryRowByCode, categoryRows, insertCategory, insertSettingIfMissing, putSetting, settingRow, updateCategory,
} from './settings.repository.ts';
import {
  DEFAULT_ASSOCIATION, DEFAULT_PRIVACY, DEFAULT_RULES, feeRuleSchema,
  DEFAULT_DATEV, DATEV_CHART_DEFAULTS, type DatevSettings, // h/money
  DEFAULT_DIRECTORY, type DirectorySettings, // h/lead2
  DEFAULT_SEPA, type SepaSettings, // h/sepa
  DEFAULT_EINVOICE, type EInvoiceSettings, // h/einvoice
  type AssociationSettings, type BylawsRules, type Category, type FeeRule, type PrivacySettings,
} from './settings.schemas.ts';

function rowToCategory(r: MembershipCategoryRow): Category {
  return {
    id: Number(r.id),
    code: String(r.code),
    nameDe: String(r.name_de),
    nameEn: String(r.name_en),
    hasVote: toBool(r.has_vote),
    feeRule: feeRuleSchema.parse(JSON.parse(String(r.fee_rule))),
    sortOrder: Number(r.sort_order),
    active: toBool(r.active),
    openToApplicants: toBool(r.open_to_applicants),
  };
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * Association settings, bylaws rules and membership categories: the only writer of `settings`
 * and `membership_categories`. Every write tells the change feed (channel `settings`), so the
 * cached values are dropped here at once and again after the commit, and in other processes
 * (PostgreSQL) when the commit is announced.
 */
export class SettingsService {
  constructor(private db: Knex, private clock: Clock, private audit: AuditService, private changes: ChangeFeed) {
    changes.subscribe('settings', () => {
      this.cache.clear();
      this.settingsGeneration++;
      this.dropCategories();
    });
  }

  /**
   * Every page shows the association's name, so reads outside a transaction are cached for a
   * few seconds; a change (in this process, or announced by another) drops the entry at once,
   * a change made behind the service's back shows within CACHE_MS. While the change feed is not
   * listening nothing is cached.
   */
  private cache = new Map<string, { value: unknown; at: number }>();
  private settingsGeneration = 0; // a read that overlapped a change does not fill the cache
  static CACHE_MS = 5_000;

  private async getJson<T extends object>(key: string, defaults: T, trx: Knex | Knex.Transaction = this.db): Promise<T> {
    const outside = trx === this.db && this.changes.live;
    if (outside) {
      const hit = this.cache.get(key);
      if (hit && Date.now() - hit.at < SettingsService.CACHE_MS) return { ...(hit.value as T) }; // why: stored under this key by this method with the same T
    }
    const generation = this.settingsGeneration;
    const row = await settingRow(trx, key);
    const value: T = row ? { ...defaults, ...(JSON.parse(row.value) as Partial<T>) } : defaults; // why: written by putJson from a T
    if (outside && this.changes.live && generation === this.settingsGeneration) this.cache.set(key, { value, at: Date.now() });
    return { ...value };
  }

  private async putJson(trx: Knex.Transaction, key: string, value: unknown): Promise<void> {
    await this.changes.notify('settings', key, trx);
    await putSetting(trx, key, JSON.stringify(value), iso(this.clock.now()));
  }

  /** Pass the transaction when calling from inside one (SQLite runs on a single connection). */
  association(trx?: Knex | Knex.Transaction): Promise<AssociationSettings> {
    return this.getJson('association', DEFAULT_ASSOCIATION, trx);
  }

  /** Stored rules from before a key existed read that key's default (majorities per kind too). */
  async rules(trx?: Knex | Knex.Transaction): Promise<BylawsRules> {
    const r = await this.getJson('rules', DEFAULT_RULES, trx);
    return { ...r, majorities: { ...DEFAULT_RULES.majorities, ...r.majorities } };
  }

  /** The privacy notice's settings (h/lead); its version is the association's privacyNoticeVersion. */
  privacy(trx?: Knex | Knex.Transaction): Promise<PrivacySettings> {
    return this.getJson('privacy', DEFAULT_PRIVACY, trx);
  }

  /**
   * Saves the privacy notice. A change makes a new version (the Berlin date of the change,
   * with -2, -3 … for a second change on one day), which applications and consents record
   * from then on. Returns the version in force afterwards.
   */
  async updatePrivacy(actor: Actor, value: PrivacySettings): Promise<{ changed: boolean; version: string }> {
    const [before, association] = await Promise.all([this.privacy(), this.association()]);
    const d = diff(before, value);
    if (!Object.keys(d.after).length) return { changed: false, version: association.privacyNoticeVersion };
    const version = nextPrivacyVersion(association.privacyNoticeVersion, berlinDate(this.clock.now()));
    await this.db.transaction(async (trx) => {
      await this.putJson(trx, 'privacy', value);
      await this.putJson(trx, 'association', { ...association, privacyNoticeVersion: version });
      await this.audit.record(trx, actor, 'settings.privacy_updated', 'settings', null, { ...d.before, version: association.privacyNoticeVersion }, { ...d.after, version });
    });
    await this.changes.notify('settings');
    return { changed: true, version };
  }

  // h/money: the DATEV export's accounts (key 'datev'), audited
  async datev(trx?: Knex | Knex.Transaction): Promise<DatevSettings> {
    // h/money2: settings stored before the VAT accounts existed take them from their own chart
    const { vat19Account: _v19, vat7Account: _v7, ...base } = DEFAULT_DATEV;
    const v = await this.getJson<Partial<DatevSettings> & Omit<DatevSettings, 'vat19Account' | 'vat7Account'>>('datev', base, trx);
    const chart = DATEV_CHART_DEFAULTS[v.chart] ?? DATEV_CHART_DEFAULTS.SKR03;
    return { ...v, vat19Account: v.vat19Account ?? chart.vat19Account, vat7Account: v.vat7Account ?? chart.vat7Account };
  }

  async updateDatev(actor: Actor, value: DatevSettings): Promise<void> {
    const before = await this.datev();
    await this.db.transaction(async (trx) => {
      await this.putJson(trx, 'datev', value);
      const d = diff(before, value);
      await this.audit.record(trx, actor, 'settings.datev_updated', 'settings', null, d.before, d.after);
    });
    await this.changes.notify('settings');
  }

  // h/lead2: the public directory's fields of activity and text limit (key 'directory'), audited
  directory(trx?: Knex | Knex.Transaction): Promise<DirectorySettings> {
    return this.getJson('directory', DEFAULT_DIRECTORY, trx);
  }

  async updateDirectory(actor: Actor, value: DirectorySettings): Promise<void> {
    const before = await this.directory();
    await this.db.transaction(async (trx) => {
      await this.putJson(trx, 'directory', value);
      const d = diff(before, value);
      await this.audit.record(trx, actor, 'settings.directory_updated', 'settings', null, d.before, d.after);
    });
    await this.changes.notify('settings');
  }

  // h/stripe: the payment methods of the Stripe payment page (key 'stripe'), audited
  async stripeSettings(trx?: Knex | Knex.Transaction): Promise<StripeSettings> {
    const v = stripeSettingsSchema.safeParse(await this.getJson('stripe', DEFAULT_STRIPE_SETTINGS, trx));
    return v.success ? v.data : DEFAULT_STRIPE_SETTINGS;
  }

  async stripePaymentMethods(trx?: Knex | Knex.Transaction): Promise<string[]> {
    return (await this.stripeSettings(trx)).paymentMethods;
  }

  async updateStripeSettings(actor: Actor, value: StripeSettings): Promise<void> {
    const before = await this.stripeSettings();
    await this.db.transaction(async (trx) => {
      await this.putJson(trx, 'stripe', value);
      const d = diff(before, value);
      await this.audit.record(trx, actor, 'settings.stripe_updated', 'settings', null, d.before, d.after);
    });
    await this.changes.notify('settings');
  }
  // h/stripe: end

  // h/sepa: the direct debits' periods and the return fee (key 'sepa'), audited
  async sepa(trx?: Knex | Knex.Transaction): Promise<SepaSettings> {
    return { ...DEFAULT_SEPA, ...(await this.getJson('sepa', DEFAULT_SEPA, trx)) };
  }

  async updateSepa(actor: Actor, value: SepaSettings): Promise<void> {
    const before = await this.sepa();
    await this.db.transaction(async (trx) => {
      await this.putJson(trx, 'sepa', value);
      const d = diff(before, value);
      await this.audit.record(trx, actor, 'settings.sepa_updated', 'settings', null, d.before, d.after);
    });
    await this.changes.notify('settings');
  }
  // h/sepa: end

  // h/einvoice: the e-invoice settings (key 'einvoice'), audited
  einvoice(trx?: Knex | Knex.Transaction): Promise<EInvoiceSettings> {
    return this.getJson('einvoice', DEFAULT_EINVOICE, trx);
  }

  async updateEinvoice(actor: Actor, value: EInvoiceSettings): Promise<void> {
    const before = await this.einvoice();
    await this.db.transaction(async (trx) => {
      await this.putJson(trx, 'einvoice', value);
      const d = diff(before, value);
      await this.audit.record(trx, actor, 'settings.einvoice_updated', 'settings', null, d.before, d.after);
    });
    await this.changes.notify('settings');
  }
  // h/einvoice end

  async updateAssociation(actor: Actor, value: AssociationSettings): Promise<void> {
    const before = await this.association();
    await this.db.transaction(async (trx) => {
      await this.putJson(trx, 'association', value);
      const d = diff(before, value);
      await this.audit.record(trx, actor, 'settings.association_updated', 'settings', null, d.before, d.after);
    });
    await this.changes.notify('settings');
  }

  async updateRules(actor: Actor, value: BylawsRules): Promise<void> {
    const before = await this.rules();
    await this.db.transaction(async (trx) => {
      await this.putJson(trx, 'rules', value);
      const d = diff(before, value);
      await this.audit.record(trx, actor, 'settings.rules_updated', 'settings', null, d.before, d.after);
    });
    await this.changes.notify('settings');
  }

  /**
   * Saves the association's settings and the bylaws' rules together (the admin's settings
   * page), in one transaction; each part that changed gets an audit entry with the
   * changed fields before and after.
   */
  async updateSettings(actor: Actor, value: { association: AssociationSettings; rules: BylawsRules; stripe?: StripeSettings }): Promise<{ changed: boolean }> {
    const [beforeA, beforeR, beforeS] = await Promise.all([this.association(), this.rules(), this.stripeSettings()]);
    const dA = diff(beforeA, value.association);
    const dR = diff(beforeR, value.rules);
    const dS = value.stripe ? diff(beforeS, value.stripe) : { before: {}, after: {} }; // h/money2: the Stripe payment methods
    const changedA = Object.keys(dA.after).length > 0;
    const changedR = Object.keys(dR.after).length > 0;
    const changedS = Object.keys(dS.after).length > 0;
    if (!changedA && !changedR && !changedS) return { changed: false };
    await this.db.transaction(async (trx) => {
      if (changedS && value.stripe) {
        await this.putJson(trx, 'stripe', value.stripe);
        await this.audit.record(trx, actor, 'settings.stripe_updated', 'settings', null, dS.before, dS.after);
      }
      if (changedA) {
        await this.putJson(trx, 'association', value.association);
        await this.audit.record(trx, actor, 'settings.association_updated', 'settings', null, dA.before, dA.after);
      }
      if (changedR) {
        await this.putJson(trx, 'rules', value.rules);
        await this.audit.record(trx, actor, 'settings.rules_updated', 'settings', null, dR.before, dR.after);
      }
    });
    await this.changes.notify('settings');
    return { changed: true };
  }

  /**
   * Every category, in order. The register's list and detail read them on every page, so reads
   * outside a transaction are cached like the settings above (saveCategory drops the entry).
   */
  private categoryCache?: { value: Category[]; at: number };
  private categoryGeneration = 0; // a read that overlapped a change does not fill the cache

  private dropCategories(): void {
    this.categoryCache = undefined;
    this.categoryGeneration++;
  }

  private async allCategories(trx: Knex | Knex.Transaction): Promise<Category[]> {
    const outside = trx === this.db && this.changes.live;
    const hit = this.categoryCache;
    if (outside && hit && Date.now() - hit.at < SettingsService.CACHE_MS) return hit.value;
    const generation = this.categoryGeneration;
    const value = (await categoryRows(trx)).map(rowToCategory);
    for (const c of value) deepFreeze(c.feeRule);
    if (outside && this.changes.live && generation === this.categoryGeneration) this.categoryCache = { value, at: Date.now() };
    return value;
  }

  async categories(opts: { includeInactive?: boolean } = {}, trx: Knex | Knex.Transaction = this.db): Promise<Category[]> {
    const all = await this.allCategories(trx);
    // copies of the cached ones (their fee rules are frozen)
    return (opts.includeInactive ? all : all.filter((c) => c.active)).map((c) => ({ ...c }));
  }

  async category(id: number, trx: Knex | Knex.Transaction = this.db): Promise<Category | undefined> {
    const cached = (await this.allCategories(trx)).find((c) => c.id === id);
    if (cached) return { ...cached };
    if (trx !== this.db) return undefined;
    // not among the cached ones: perhaps added by another process in the meantime
    const r = await categoryRow(trx, id);
    return r ? rowToCategory(r) : undefined;
  }

  async saveCategory(
    actor: Actor,
    input: { id?: number; code: string; nameDe: string; nameEn: string; hasVote: boolean; feeRule: FeeRule; sortOrder: number; active: boolean; openToApplicants: boolean },
  ): Promise<number> {
    const row = {
      code: input.code,
      name_de: input.nameDe,
      name_en: input.nameEn,
      has_vote: input.hasVote,
      fee_rule: JSON.stringify(input.feeRule),
      sort_order: input.sortOrder,
      active: input.active,
      open_to_applicants: input.openToApplicants,
    };
    this.dropCategories();
    const id = await this.db.transaction(async (trx) => {
      const sameCode = await categoryRowByCode(trx, input.code);
      if (sameCode && Number(sameCode.id) !== input.id) throw new ConflictError('category_code_taken');
      await this.changes.notify('settings', 'categories', trx);
      if (input.id) {
        const before = await categoryRow(trx, input.id);
        if (!before) throw new NotFoundError();
        await updateCategory(trx, input.id, row);
        const d = diff({ ...rowToCategory(before) }, { ...input });
        await this.audit.record(trx, actor, 'category.updated', 'category', input.id, d.before, d.after);
        return input.id;
      }
      const id = await insertCategory(trx, row);
      await this.audit.record(trx, actor, 'category.created', 'category', id, undefined, input);
      return id;
    });
    this.dropCategories();
    await this.changes.notify('settings', 'categories');
    return id;
  }

  /**
   * A random id of this installation, made and kept on first use (Stripe metadata tells
   * installations on one Stripe account apart by it); two processes asking at once get the same.
   */
  async installationId(): Promise<string> {
    const read = async () => {
      const r = await settingRow(this.db, 'installation_id');
      return r ? String(JSON.parse(r.value)) : undefined;
    };
    const found = await read();
    if (found) return found;
    await insertSettingIfMissing(this.db, 'installation_id', JSON.stringify(crypto.randomUUID()), iso(this.clock.now()));
    const id = await read();
    if (!id) throw new Error('installation_id missing after insert');
    return id;
  }

}

/** The annual fee a category's rule gives for an employee band, in cents. */
export function feeFor(rule: FeeRule, band: string): number {
  if (rule.type === 'fixed') return rule.amountCents;
  return rule.tiers[band as keyof typeof rule.tiers] ?? rule.tiers['1-49']; // why: an unknown band finds nothing and falls back to the smallest tier
}

/** The version after `current` for a change on `today` (YYYY-MM-DD): the date, or the date with a counter. */
export function nextPrivacyVersion(current: string, today: string): string {
  if (current === today) return `${today}-2`;
  const m = /^(\d{4}-\d{2}-\d{2})-(\d+)$/.exec(current);
  if (m && m[1] === today) return `${today}-${Number(m[2]) + 1}`;
  return today;
}
