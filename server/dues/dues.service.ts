import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { berlinDate, iso, ZONE, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { currentValue } from '../db/counters.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { SYSTEM } from '../audit/audit.service.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { Contact, MembersService } from '../members/members.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { AssociationSettings } from '../settings/settings.schemas.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatDate, formatMemberNumber, formatMoney } from '../i18n/format.ts';
import { formatIban } from '../settings/bank.ts';
import { duesFor } from './fees.ts';
import { counterName, formatInvoiceNumber, nextInvoiceNumber } from './numbering.ts';
import { pdfFor, preparePdf, renderInvoicePdf, type PreparedPdf } from './invoice-pdf.ts';
import type { InvoiceRow } from './dues.tables.ts';
import { payMethodsText, PAYABLE_STRIPE_STATES, rowToInvoice, type Invoice, type IssuerSnapshot, type StripeSyncPort } from './invoice.ts';
import { feeSchedule, replaceSchedule, scheduleYears, type FeeScheduleEntry } from './fee-schedules.repository.ts';
import {
  duesAmountsOfYear, duesInvoiceNumbers, exportRows, getInvoice, hasInvoiceOfYear, idByDuesKey, idByRequestKey, insertCopy, insertInvoice, invoiceYears,
  invoiceRowsOfOrganisation, invoicesOfOrganisation, listInvoices, OPEN_STATUSES, undeliveredIds, updateInvoice, type NewInvoiceRow, unpaidInvoiceNumbers,
} from './invoices.repository.ts';
import { paymentAmountsOfYear } from './payments.repository.ts';
import { organisationIdsByPayment, stripeFlagCounts } from './invoices.repository.ts'; // h/stripe
import { openInvoicesOfOrganisations } from './invoices.repository.ts'; // h/sepa
import { openInvoicesForMatching, openInvoicesMatchingStamp } from './invoices.repository.ts'; // h/bank, h/bankperf
import { isUniqueViolation } from '../db/errors.ts';
import type { PaymentsService } from './payments.service.ts';
import { greeting } from '../mail/greeting.ts';
// h/einvoice
import type { EInvoiceSettings } from '../settings/settings.schemas.ts';
import type { EInvoiceField } from '../einvoice/check.ts';
import { eInvoiceProblems } from '../einvoice/check.ts';
import { eInvoiceOf } from '../einvoice/from-invoice.ts';
import { buildCii } from '../einvoice/cii.ts';
import type { DirectDebitMandate, EInvoiceLine, EInvoiceProfile, VatBreakdown } from '../einvoice/model.ts';
import { totalsOf } from '../einvoice/model.ts'; // h/items
import type { InvoiceEInvoice } from './invoice.ts';
import { GatewayError } from '../stripe/gateway.ts'; // h/fee: a Stripe outage after an invoice with items was issued

export type { FeeScheduleEntry };

export type SkipReason = 'invoiced' | 'free' | 'no_schedule' | 'left' | 'tax_settings' | 'einvoice' | 'too_large';
/** Why a dues run skips a member ('too_large' only an invoice with items can be). */
export type RunSkipReason = Exclude<SkipReason, 'too_large'>; // h/einvoice: 'einvoice' = the e-invoice would break EN 16931 (`fields`)

/** h/money: whether a membership ends before the year does (an invoice for the year would bill a period after the end). */
export function endsBefore(exitDate: string | null | undefined, year: number): boolean {
  return !!exitDate && exitDate < `${year}-12-31`;
}

export interface PreviewRow {
  organisationId: number;
  memberNumber: number;
  memberNo: string;
  name: string;
  categoryName: string;
  joinDate: string;
  amountCents: number;
  annualCents: number;
  months: number;
  proRata: boolean;
  skip: RunSkipReason | null;
  invoiceNumber?: string;
  exitDate?: string | null;
  hasEmail: boolean;
}

export interface DuesPreview {
  year: number;
  schedule: FeeScheduleEntry[];
  rows: PreviewRow[];
  toInvoice: { count: number; cents: number };
  skipped: { invoiced: number; free: number; no_schedule: number; left: number; tax_settings: number; einvoice: number };
}

export type IssueResult = { issued: true; invoiceId: number; number: string; undelivered?: boolean } | { issued: false; reason: SkipReason; invoiceId?: number; exitDate?: string; fields?: EInvoiceField[] };

/** h/items: one item of an invoice beyond the dues, as the treasurer typed it. */
export interface InvoiceItem {
  name: string;
  /** thousandths: 1,5 = 1500 */
  quantityMilli: number;
  /** net price per unit */
  unitNetCents: number;
  /** the VAT rate: 19 %, 7 % or outside VAT (O) */
  vat: '19' | '7' | 'O';
}

export interface ItemsInvoiceInput {
  items: InvoiceItem[];
  /** bill this year's dues on the same invoice (its own line outside VAT) */
  duesYear: number | null;
  /** the items' date or period of service (§ 14 Abs. 4 Nr. 6 UStG), YYYY-MM-DD */
  serviceStart: string;
  serviceEnd: string;
  /** the form's one-time key (a form sent twice issues one invoice) */
  requestKey: string;
  /**
   * h/fee: why the items outside VAT are outside it, for an invoice without the dues (the PDF's tax
   * note and the e-invoice's exemption reason, BT-120); without it the settings' words for the dues.
   */
  outsideVatNote?: string;
  /** h/fee: the items are damages (a return fee), not services: owed after the membership ended too */
  notAService?: boolean;
}

export type ItemsPreview =
  | { ok: true; invoices: { description: string; lines: EInvoiceLine[]; netCents: number; breakdown: VatBreakdown[]; grossCents: number; fields: EInvoiceField[] }[] }
  | { ok: false; skip: IssueResult };

/** One or (dues outside VAT beside taxed items) two invoices issued, or why none. */
export type ItemsIssueResult = { issued: true; invoices: { invoiceId: number; number: string }[]; undelivered?: string[] } | (IssueResult & { issued: false }); // h/fee: undelivered: issued, Stripe unreachable, not mailed yet

/** h/items: the highest amount one invoice may come to (what the amount fields accept, 1.000.000,00 €). */
export const ITEMS_MAX_CENTS = 100_000_000;
/** h/items: at most this many items on one invoice. */
export const ITEMS_MAX = 20;
export const REQUEST_KEY = /^[A-Za-z0-9_-]{16,64}$/;

/** h/items: the first input field that breaks the service's own bounds (the form checks them too, with words), or null. */
function itemsInputProblem(input: ItemsInvoiceInput): string | null {
  if (!REQUEST_KEY.test(input.requestKey)) return 'requestKey';
  if (input.items.length > ITEMS_MAX || (!input.items.length && !input.duesYear)) return 'items';
  if (input.duesYear !== null && !isValidYear(input.duesYear)) return 'year';
  const date = /^\d{4}-\d{2}-\d{2}$/;
  if (input.items.length && (!date.test(input.serviceStart) || !date.test(input.serviceEnd) || input.serviceEnd < input.serviceStart
    || !DateTime.fromISO(input.serviceStart).isValid || !DateTime.fromISO(input.serviceEnd).isValid)) return 'serviceEnd';
  for (const i of input.items) {
    if (!i.name.trim() || i.name.length > 200) return 'items';
    if (!Number.isSafeInteger(i.quantityMilli) || i.quantityMilli <= 0 || i.quantityMilli > 10_000_000) return 'items';
    if (!Number.isSafeInteger(i.unitNetCents) || i.unitNetCents <= 0 || i.unitNetCents > ITEMS_MAX_CENTS) return 'items';
    if (!['19', '7', 'O'].includes(i.vat)) return 'items';
  }
  return null;
}

export interface Dashboard {
  year: number;
  invoiced: { count: number; cents: number };
  paid: { count: number; cents: number };
  open: { count: number; cents: number };
  overdue: { count: number; cents: number };
  cancelled: { count: number };
  months: { month: string; cents: number }[];
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  members: MembersService;
  config: Config;
  /** The Stripe sync (with Stripe off, `enabled` is false and it does nothing). */
  stripe: StripeSyncPort;
  log: Logger;
  /** h/money: puts a member's carried-over credit onto a newly issued invoice. */
  payments?: PaymentsService;
  /** h/einvoice: the member's SEPA mandate for direct debit (h/sepa wires it in context.ts); none = credit transfer only. */
  mandateOf?: (q: Knex | Knex.Transaction, organisationId: number) => Promise<DirectDebitMandate | null>;
}

/** h/einvoice: an invoice refused at issue because its e-invoice would break EN 16931; `fields` name what is missing or wrong. */
export class EInvoiceRefused extends AppError {
  constructor(public fields: EInvoiceField[]) {
    super(422, 'einvoice_invalid');
  }
}

/** h/einvoice: the buyer's e-invoice data stored with the invoice at issue. */
function buyerEInvoice(e: { publicBody: boolean; leitwegId: string; format: InvoiceEInvoice['format'] }, mandate: DirectDebitMandate | null): InvoiceEInvoice {
  return { format: e.format, leitwegId: e.publicBody ? e.leitwegId : '', mandate };
}

/** h/fee: the issuer snapshot with another exemption reason (BT-120) for this invoice's lines outside VAT. */
function withExemptionReason(issuer: IssuerSnapshot, reason: string): IssuerSnapshot {
  return issuer.einvoice ? { ...issuer, einvoice: { ...issuer.einvoice, exemptionReason: reason } } : issuer;
}

export function isValidYear(y: number): boolean {
  return Number.isSafeInteger(y) && y >= 2000 && y <= 2100;
}

function duesKey(year: number, organisationId: number): string {
  return `${year}-${organisationId}`;
}

function issuerOf(a: AssociationSettings, e?: EInvoiceSettings): IssuerSnapshot {
  return {
    name: a.name, street: a.street, postcode: a.postcode, city: a.city, country: a.country, taxNumber: a.taxNumber,
    registerCourt: a.registerCourt, registerNumber: a.registerNumber, contactEmail: a.contactEmail, website: a.website,
    bankHolder: a.bankHolder, iban: a.iban, bic: a.bic, bankName: a.bankName,
    ...(e ? { einvoice: { ...e } } : {}), // h/einvoice
  };
}

/**
 * h/einvoice: the fields that would make the e-invoice of an invoice row about to be issued
 * break EN 16931 (and, where the member receives XRechnung, the German CIUS); empty = fine.
 */
export function problemsOfDraft(row: Omit<NewInvoiceRow, 'number'>, number = 'DRAFT', cancels?: { number: string; issueDate: string }): EInvoiceField[] {
  return problemsOfInvoice(rowToInvoice({ stripe_dispute: null, stripe_problem: null, stripe_amount_cents: null, push_error: null, push_error_permanent: false, stripe_payment_methods: null, ...row, id: 0, number, cancels_number: cancels?.number ?? null, cancels_issue_date: cancels?.issueDate ?? null }));
}

/** h/einvoice: as problemsOfDraft, for an invoice as read. */
export function problemsOfInvoice(inv: Invoice): EInvoiceField[] {
  const out = new Set(eInvoiceProblems(eInvoiceOf(inv, 'en16931'), inv.amountCents));
  if (inv.einvoice && inv.einvoice.format !== 'hybrid') for (const f of eInvoiceProblems(eInvoiceOf(inv, 'xrechnung'), inv.amountCents)) out.add(f);
  return [...out];
}

/** The contact who receives invoices (of contacts by id): the billing contact, else the voting representative, else anyone with an e-mail. */
export function billingContact(contacts: Contact[]): { name: string; email: string; locale: Locale } | null {
  const withMail = contacts.filter((c) => c.email);
  const pick = withMail.find((c) => c.isBilling)
    ?? withMail.find((c) => c.isRepresentative)
    ?? withMail[0]
    ?? contacts.find((c) => c.isBilling)
    ?? contacts.find((c) => c.isRepresentative);
  return pick ? { name: pick.name ?? '', email: pick.email ?? '', locale: pick.locale } : null;
}

/**
 * Dues: the fee schedule per year, issuing invoices (one per member and year, numbered
 * gaplessly), cancellation invoices, invoice e-mails, the treasurer's lists and numbers.
 */
export class DuesService {
  /** Told inside a Stornorechnung's transaction of the invoice it cancels (SEPA: its pending debit must not collect; set by the composition root). */
  private cancelledHook?: (trx: Knex.Transaction, actor: Actor, invoiceId: number) => Promise<void>;

  constructor(private d: Deps) {}

  onInvoiceCancelled(fn: (trx: Knex.Transaction, actor: Actor, invoiceId: number) => Promise<void>): void {
    this.cancelledHook = fn;
  }

  private today(): string {
    return berlinDate(this.d.clock.now());
  }

  // ---------------------------------------------------------------- fee schedule

  async feeSchedule(year: number, q: Knex | Knex.Transaction = this.d.db): Promise<FeeScheduleEntry[]> {
    return feeSchedule(q, year);
  }

  async scheduleYears(): Promise<number[]> {
    return scheduleYears(this.d.db);
  }

  /**
   * Freezes the categories' current fee rules and the pro-rata rule as the schedule of a year.
   * Later changes of the categories do not touch it. It may be set again only while no invoice
   * of that year has been issued.
   */
  async freezeFeeSchedule(actor: Actor, year: number): Promise<FeeScheduleEntry[]> {
    if (!isValidYear(year)) throw new NotFoundError();
    return this.d.db.transaction(async (trx) => {
      if (await hasInvoiceOfYear(trx, year)) throw new ConflictError('schedule_in_use');
      const rules = await this.d.settings.rules(trx);
      const categories = await this.d.settings.categories({ includeInactive: true }, trx);
      const before = await this.feeSchedule(year, trx);
      const now = iso(this.d.clock.now());
      await replaceSchedule(trx, year, categories.map((c) => ({
        category_id: c.id, category_name_de: c.nameDe, category_name_en: c.nameEn,
        rule: JSON.stringify(c.feeRule), pro_rata: rules.proRata, created_by: actor.userId, created_at: now,
      })));
      const after = await this.feeSchedule(year, trx);
      await this.d.audit.record(trx, actor, 'fee_schedule.frozen', 'fee_schedule', year,
        before.length ? before.map((e) => ({ categoryId: e.categoryId, rule: e.rule, proRata: e.proRata })) : undefined,
        after.map((e) => ({ categoryId: e.categoryId, rule: e.rule, proRata: e.proRata })));
      return after;
    });
  }

  // ---------------------------------------------------------------- members of a year

  /** Organisations that belong in a year (joined by its end, not left before its start), by member number. */
  async memberIdsOfYear(year: number): Promise<number[]> {
    return this.d.members.memberIdsOfYear(year);
  }

  async preview(year: number): Promise<DuesPreview> {
    const schedule = await this.feeSchedule(year);
    const byCat = new Map(schedule.map((s) => [s.categoryId, s]));
    const orgs = await this.d.members.membersOfYear(year);
    const invoiced = await duesInvoiceNumbers(this.d.db, year);
    const withMail = await this.d.members.organisationIdsWithEmail();
    const rows: PreviewRow[] = [];
    const out: DuesPreview = { year, schedule, rows, toInvoice: { count: 0, cents: 0 }, skipped: { invoiced: 0, free: 0, no_schedule: 0, left: 0, tax_settings: 0, einvoice: 0 } };
    for (const o of orgs) {
      const s = byCat.get(o.categoryId);
      const amount = s ? duesFor(s.rule, o.employeeBand, o.joinDate, year, s.proRata) : null;
      const row: PreviewRow = {
        organisationId: o.id,
        memberNumber: o.memberNumber,
        memberNo: formatMemberNumber(o.memberNumber),
        name: o.legalName,
        categoryName: s?.nameDe ?? '',
        joinDate: o.joinDate,
        amountCents: amount?.amountCents ?? 0,
        annualCents: amount?.annualCents ?? 0,
        months: amount?.months ?? 12,
        proRata: amount?.proRata ?? false,
        skip: null,
        hasEmail: withMail.has(o.id),
        exitDate: o.exitDate,
      };
      if (invoiced.has(row.organisationId)) { row.skip = 'invoiced'; row.invoiceNumber = invoiced.get(row.organisationId); }
      else if (endsBefore(o.exitDate, year)) row.skip = 'left';
      else if (!s || !amount) row.skip = 'no_schedule';
      else if (amount.amountCents === 0) row.skip = 'free';
      if (row.skip) out.skipped[row.skip]++;
      else { out.toInvoice.count++; out.toInvoice.cents += row.amountCents; }
      rows.push(row);
    }
    return out;
  }

  // ---------------------------------------------------------------- issuing

  /**
   * Issues the dues invoice of one member for a year in one transaction: amount from the
   * frozen schedule, the next number, the snapshot of both parties, the audit entry and —
   * when Stripe is off — the e-mail with the PDF. Skips a member who already has a dues
   * invoice for the year (also when another run got there first) or whose dues are 0 €.
   */
  async issueDuesInvoice(actor: Actor, organisationId: number, year: number, opts: { duesRunId?: number | null } = {}): Promise<IssueResult> {
    if (!isValidYear(year)) throw new NotFoundError();
    const mailNow = !this.stripeOn();
    // The PDF takes far longer than the rest; rendered before the transaction (which holds
    // SQLite's only connection) for the number the invoice will most likely get, and used in
    // it only if the invoice came out exactly so.
    const prepared = mailNow ? await this.preparePdfAhead(organisationId, year, opts).catch(() => null) : null;
    try {
      return await this.d.db.transaction(async (trx) => {
        const existing = await idByDuesKey(trx, duesKey(year, organisationId));
        if (existing) return { issued: false, reason: 'invoiced', invoiceId: existing };
        const draft = await this.draftInvoice(trx, actor, organisationId, year, opts);
        if ('skip' in draft) return draft.skip;
        // h/einvoice: refused before a number is taken when the e-invoice would break EN 16931
        const fields = problemsOfDraft(draft.row);
        if (fields.length) return { issued: false, reason: 'einvoice', fields };
        const number = await nextInvoiceNumber(trx, year);
        const id = await insertInvoice(trx, { ...draft.row, number });
        await this.d.audit.record(trx, actor, 'invoice.issued', 'invoice', id, undefined, { number, organisationId, year, amountCents: draft.amountCents });
        if (this.d.payments) await this.d.payments.applyOpenCredit(trx, actor, id);
        if (mailNow) await this.mailInvoice(trx, id, prepared);
        return { issued: true, invoiceId: id, number };
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        const existing = await idByDuesKey(this.d.db, duesKey(year, organisationId));
        if (existing) return { issued: false, reason: 'invoiced', invoiceId: existing };
      }
      throw err;
    }
  }

  /**
   * h/money: a single invoice for one member and year, without a run (a joiner, or after a
   * Stornorechnung for a late category change): the same rules as a run (frozen schedule,
   * pro-rata, next number, refused for a year the membership does not cover), audited, delivered.
   */
  async issueSingle(actor: Actor, organisationId: number, year: number): Promise<IssueResult> {
    if (!isValidYear(year)) return { issued: false, reason: 'no_schedule' };
    if (!(await this.feeSchedule(year)).length) return { issued: false, reason: 'no_schedule' };
    const r = await this.issueDuesInvoice(actor, organisationId, year);
    if (!r.issued) return r;
    try {
      await this.deliver(r.invoiceId);
    } catch (err) {
      // Stripe unreachable: the invoice stands (committed), its push error is kept; "Jetzt zustellen" on the invoice tries again
      if (!(err instanceof GatewayError)) throw err;
      this.d.log.warn({ invoiceId: r.invoiceId, err: err.message }, 'single invoice not delivered: Stripe');
      return { ...r, undelivered: true };
    }
    return r;
  }

  // ---------------------------------------------------------------- h/items: an invoice with further items

  /**
   * The invoices these items (and the year's dues, if asked) would make, with what each would
   * show: net, VAT per rate, gross; or why none can be issued. Two invoices when lines outside
   * VAT (the dues) meet taxed lines: EN 16931 allows no other VAT category on an invoice with
   * category O (BR-O-11, BR-O-12).
   */
  async previewWithItems(organisationId: number, input: ItemsInvoiceInput): Promise<ItemsPreview> {
    const drafts = await this.draftWithItems(this.d.db, SYSTEM, organisationId, input);
    if ('skip' in drafts) return { ok: false, skip: drafts.skip };
    return {
      ok: true,
      invoices: drafts.map((d) => {
        const totals = totalsOf({ lines: d.lines });
        return { description: d.row.description, lines: d.lines, netCents: totals.lineTotal, breakdown: totals.breakdown.filter((x) => x.category === 'S'), grossCents: totals.grand, fields: problemsOfDraft(d.row) };
      }),
    };
  }

  /**
   * Issues a member's invoice with items beyond the dues (an event fee with 19 % VAT, a
   * sponsoring package), optionally with the year's dues beside them: VAT per rate on the sum of
   * the lines' nets (EN 16931 BR-CO-17), the amount payable is the gross; each invoice checked
   * against EN 16931 before a number is taken, audited and delivered like any invoice, all in one
   * transaction. Dues (outside VAT) and taxed items go on two invoices with consecutive numbers
   * (BR-O-11/12); the one with the dues line counts as the year's dues invoice (a run or a second
   * form skip the member). The form's one-time key makes a form sent twice issue nothing more.
   */
  async issueWithItems(actor: Actor, organisationId: number, input: ItemsInvoiceInput): Promise<ItemsIssueResult> {
    let r: ItemsIssueResult;
    try {
      r = await this.d.db.transaction(async (trx) => this.issueItemsIn(trx, actor, organisationId, input));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // the same form sent twice at once, or a dues invoice of the year issued meanwhile
      const seen = await this.issuedByRequestKey(this.d.db, input.requestKey);
      if (seen) return seen;
      const dues = input.duesYear ? await idByDuesKey(this.d.db, duesKey(input.duesYear, organisationId)) : null;
      if (dues) return { issued: false, reason: 'invoiced', invoiceId: dues };
      throw err;
    }
    if (!r.issued) return r;
    // h/fee: Stripe unreachable: the invoices stand (committed), the push error is kept on each and the caller is told
    const undelivered: string[] = [];
    for (const i of r.invoices) {
      try {
        await this.deliver(i.invoiceId);
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        this.d.log.warn({ invoiceId: i.invoiceId, err: err.message }, 'invoice with items not delivered: Stripe');
        undelivered.push(i.number);
      }
    }
    return undelivered.length ? { ...r, undelivered } : r;
  }

  /**
   * h/fee: issueWithItems inside the caller's transaction (a SEPA return charges its fee on to the
   * member in the return's own transaction): the same checks, numbering and audit; with Stripe off
   * the e-mail goes into the outbox in this transaction too. The caller calls `deliver` for each
   * invoice after the commit (with Stripe on: the push, then the e-mail with the payment link).
   * An invoice with this request key already issued is returned, not issued again.
   */
  async issueWithItemsInTrx(trx: Knex.Transaction, actor: Actor, organisationId: number, input: ItemsInvoiceInput): Promise<ItemsIssueResult> {
    const r = await this.issueItemsIn(trx, actor, organisationId, input);
    if (r.issued && !this.stripeOn()) {
      for (const i of r.invoices) if (!(await this.getIn(trx, i.invoiceId)).mailedAt) await this.mailInvoice(trx, i.invoiceId);
    }
    return r;
  }

  /** h/fee: the invoices an items form (or another caller's one-time key) issued; none: []. */
  async itemsInvoicesOf(requestKey: string, q: Knex | Knex.Transaction = this.d.db): Promise<{ invoiceId: number; number: string }[]> {
    const seen = await this.issuedByRequestKey(q, requestKey);
    return seen && seen.issued ? seen.invoices : [];
  }

  private async issuedByRequestKey(q: Knex | Knex.Transaction, requestKey: string): Promise<ItemsIssueResult | null> {
    // one query after the other: inside a transaction (PostgreSQL) a client takes one at a time
    const ids: number[] = [];
    for (const key of [requestKey, `${requestKey}.2`]) {
      const id = await idByRequestKey(q, key);
      if (id !== null) ids.push(id);
    }
    if (!ids.length) return null;
    const invoices: { invoiceId: number; number: string }[] = [];
    for (const id of ids) invoices.push({ invoiceId: id, number: (await this.getIn(q, id)).number });
    return { issued: true, invoices };
  }

  /** The body of issueWithItems, in the given transaction: nothing delivered yet. */
  private async issueItemsIn(trx: Knex.Transaction, actor: Actor, organisationId: number, input: ItemsInvoiceInput): Promise<ItemsIssueResult> {
    const seen = await this.issuedByRequestKey(trx, input.requestKey);
    if (seen) return seen;
    const drafts = await this.draftWithItems(trx, actor, organisationId, input);
    if ('skip' in drafts) return drafts.skip as ItemsIssueResult;
    const fields = [...new Set(drafts.flatMap((d) => problemsOfDraft(d.row)))];
    if (fields.length) return { issued: false, reason: 'einvoice', fields };
    const invoices: { invoiceId: number; number: string }[] = [];
    for (const [i, d] of drafts.entries()) {
      const number = await nextInvoiceNumber(trx, d.row.year);
      const id = await insertInvoice(trx, { ...d.row, number, request_key: i === 0 ? input.requestKey : `${input.requestKey}.${i + 1}` });
      await this.d.audit.record(trx, actor, 'invoice.issued', 'invoice', id, undefined, {
        number, organisationId, year: d.row.year, amountCents: d.row.amount_cents, withDues: d.row.dues_key ? input.duesYear : null,
        lines: d.lines.map((l) => ({ name: l.name, quantityMilli: l.quantityMilli, unitNetCents: l.unitNetCents, category: l.category, ratePercent: l.ratePercent })),
      });
      if (this.d.payments) await this.d.payments.applyOpenCredit(trx, actor, id);
      invoices.push({ invoiceId: id, number });
    }
    return { issued: true, invoices };
  }

  /** The rows of the invoices with items, all but their numbers, with their lines; or why there are none. */
  private async draftWithItems(q: Knex | Knex.Transaction, actor: Actor, organisationId: number, input: ItemsInvoiceInput):
    Promise<{ skip: IssueResult } | { row: Omit<NewInvoiceRow, 'number'>; lines: EInvoiceLine[] }[]> {
    const problem = itemsInputProblem(input);
    if (problem) throw new ValidationError({ [problem]: 'dues.items.invalid' });
    const org = await this.d.members.getIn(q, organisationId);
    if (!org) throw new NotFoundError();
    // services after the membership ended are not billed to it (issue 11: never a period after the end date)
    if (org.exitDate && input.items.length && !input.notAService && org.exitDate < input.serviceEnd) return { skip: { issued: false, reason: 'left', exitDate: org.exitDate } };
    if ((await this.missingTaxSettings(q)).length) return { skip: { issued: false, reason: 'tax_settings' } };
    const parties = await this.partiesOf(q, actor, org);
    const t = tFor(parties.row.locale as Locale);
    const outside: EInvoiceLine[] = [];
    let duesRow: Omit<NewInvoiceRow, 'number'> | null = null;
    if (input.duesYear) {
      const existing = await idByDuesKey(q, duesKey(input.duesYear, organisationId));
      if (existing) return { skip: { issued: false, reason: 'invoiced', invoiceId: existing } };
      const dues = await this.draftInvoice(q, actor, organisationId, input.duesYear, {});
      if ('skip' in dues) return dues;
      duesRow = dues.row;
      const net = dues.row.amount_cents;
      outside.push({
        name: dues.row.description, note: dues.row.pro_rata_note || undefined, quantityMilli: 1000, unitCode: 'C62', unitNetCents: net, netCents: net,
        category: 'O', ratePercent: null, period: { start: dues.row.period_start, end: dues.row.period_end },
      });
    }
    const taxed: EInvoiceLine[] = [];
    for (const i of input.items) {
      (i.vat === 'O' ? outside : taxed).push({
        name: i.name, quantityMilli: i.quantityMilli, unitCode: 'C62', unitNetCents: i.unitNetCents, netCents: Math.round((i.unitNetCents * i.quantityMilli) / 1000),
        category: i.vat === 'O' ? 'O' : 'S', ratePercent: i.vat === 'O' ? null : Number(i.vat), period: { start: input.serviceStart, end: input.serviceEnd },
      });
    }
    const out: { row: Omit<NewInvoiceRow, 'number'>; lines: EInvoiceLine[] }[] = [];
    for (const lines of [outside, taxed].filter((g) => g.length)) {
      const gross = totalsOf({ lines }).grand;
      if (gross > ITEMS_MAX_CENTS) return { skip: { issued: false, reason: 'too_large' } };
      if (gross <= 0) return { skip: { issued: false, reason: 'free' } };
      const withDues = lines === outside && duesRow !== null;
      const items = lines.slice(withDues ? 1 : 0).map((l) => l.name);
      const description = withDues
        ? (items.length ? t('dues.items.withDues', { description: duesRow!.description, count: items.length }) : duesRow!.description)
        : items.length === 1 ? items[0]! : t('dues.items.several', { first: items[0], count: items.length - 1 });
      const starts = lines.map((l) => l.period!.start).sort();
      const ends = lines.map((l) => l.period!.end).sort();
      const base: Omit<NewInvoiceRow, 'number'> = withDues ? duesRow! : {
        ...parties.row, year: Number(parties.row.issue_date.slice(0, 4)), dues_key: null, dues_run_id: null, category_id: null,
        description: '', pro_rata_note: '', period_start: '', period_end: '', amount_cents: 0, lines: null,
      };
      // h/fee: items outside VAT that are not dues say why in their own words (a return fee: damages)
      const note = !withDues && lines === outside && input.outsideVatNote?.trim() ? input.outsideVatNote.trim().slice(0, 300) : null;
      const own = note ? { tax_note: note, issuer: JSON.stringify(withExemptionReason(JSON.parse(base.issuer) as IssuerSnapshot, note)) } : {};
      out.push({
        lines,
        row: { ...base, ...own, description: description.slice(0, 500), period_start: starts[0]!, period_end: ends[ends.length - 1]!, amount_cents: gross, lines: JSON.stringify(lines) },
      });
    }
    return out;
  }

  /** The row of a member's dues invoice for a year, all but its number; or why there is none. */
  private async draftInvoice(q: Knex | Knex.Transaction, actor: Actor, organisationId: number, year: number, opts: { duesRunId?: number | null }):
    Promise<{ skip: IssueResult } | { row: Omit<NewInvoiceRow, 'number'>; amountCents: number }> {
    const org = await this.d.members.getIn(q, organisationId);
    if (!org) throw new NotFoundError();
    if (endsBefore(org.exitDate, year)) return { skip: { issued: false, reason: 'left', exitDate: org.exitDate ?? undefined } };
    if ((await this.missingTaxSettings(q)).length) return { skip: { issued: false, reason: 'tax_settings' } };
    const schedule = await this.feeSchedule(year, q);
    const s = schedule.find((e) => e.categoryId === org.categoryId);
    if (!s) return { skip: { issued: false, reason: 'no_schedule' } };
    const amount = duesFor(s.rule, org.employeeBand, org.joinDate, year, s.proRata);
    if (!amount) return { skip: { issued: false, reason: 'no_schedule' } };
    if (amount.amountCents === 0) return { skip: { issued: false, reason: 'free' } };

    const parties = await this.partiesOf(q, actor, org);
    const t = tFor(parties.row.locale as Locale);
    return {
      amountCents: amount.amountCents,
      row: {
        ...parties.row,
        year,
        dues_key: duesKey(year, organisationId),
        dues_run_id: opts.duesRunId ?? null,
        category_id: s.categoryId,
        description: t('dues.invoice.description', { year }),
        pro_rata_note: amount.proRata
          ? t('dues.invoice.proRataNote', { months: amount.months, annual: formatMoney(amount.annualCents, parties.row.locale as Locale), joinDate: formatDate(org.joinDate, parties.row.locale as Locale) })
          : '',
        period_start: amount.periodStart,
        period_end: amount.periodEnd,
        amount_cents: amount.amountCents,
        lines: null,
      },
    };
  }

  /**
   * What every invoice of a member repeats, whatever it bills: both parties as they stand now,
   * the billing contact and its language, the tax note, issue and due date, the buyer's e-invoice
   * data (and SEPA mandate); the rest (year, lines, amount, period) is the caller's.
   */
  private async partiesOf(q: Knex | Knex.Transaction, actor: Actor, org: NonNullable<Awaited<ReturnType<MembersService['getIn']>>>):
    Promise<{ row: Omit<NewInvoiceRow, 'number' | 'year' | 'dues_key' | 'dues_run_id' | 'category_id' | 'description' | 'pro_rata_note' | 'period_start' | 'period_end' | 'amount_cents' | 'lines'> }> {
    const organisationId = org.id;
    // one after the other: q may be a transaction, whose one connection takes one query at a time
    const association = await this.d.settings.association(q);
    const rules = await this.d.settings.rules(q);
    const contacts = await this.d.members.contactsIn(q, organisationId);
    const einvoice = await this.d.settings.einvoice(q);
    const contact = billingContact(contacts);
    const locale: Locale = contact?.locale ?? 'de';
    const issueDate = this.today();
    const dueDate = DateTime.fromISO(issueDate, { zone: ZONE }).plus({ days: rules.duesDueDays }).toISODate()!;
    const now = iso(this.d.clock.now());
    return {
      row: {
        kind: 'invoice',
        cancels_invoice_id: null,
        cancelled_by_invoice_id: null,
        organisation_id: organisationId,
        member_number: org.memberNumber,
        recipient_name: org.legalName,
        recipient_street: org.street ?? '',
        recipient_postcode: org.postcode ?? '',
        recipient_city: org.city ?? '',
        recipient_country: org.country ?? 'DE',
        recipient_vat_id: org.vatId ?? '',
        contact_name: contact?.name ?? '',
        contact_email: contact?.email ?? '',
        issuer: JSON.stringify(issuerOf(association, einvoice)),
        tax_note: rules.invoiceTaxNote,
        issue_date: issueDate,
        due_date: dueDate,
        status: 'open',
        paid_cents: 0,
        locale,
        stripe_customer_id: null,
        stripe_invoice_id: null,
        hosted_invoice_url: null,
        stripe_state: null,
        reminder_level: 0,
        last_reminder_at: null,
        reminders_stopped: false,
        mailed_at: null,
        created_by: actor.userId,
        created_at: now,
        updated_at: now,
        einvoice: JSON.stringify(buyerEInvoice(org.einvoice, this.d.mandateOf ? await this.d.mandateOf(q, organisationId) : null)),
      },
    };
  }

  /** The PDF of the invoice about to be issued, with the next free number; null when none is to be mailed. */
  private async preparePdfAhead(organisationId: number, year: number, opts: { duesRunId?: number | null }): Promise<PreparedPdf | null> {
    if (await idByDuesKey(this.d.db, duesKey(year, organisationId))) return null;
    const draft = await this.draftInvoice(this.d.db, SYSTEM, organisationId, year, opts);
    if ('skip' in draft || !draft.row.contact_email) return null;
    const number = formatInvoiceNumber(year, ((await currentValue(this.d.db, counterName(year))) ?? 0) + 1);
    return preparePdf(rowToInvoice({ ...draft.row, id: 0, number, cancels_number: null, stripe_dispute: null, stripe_problem: null, stripe_amount_cents: null, push_error: null, push_error_permanent: false, stripe_payment_methods: null }));
  }

  /**
   * Issues (when needed) and delivers one member's invoice: with Stripe on, the Stripe invoice
   * is created after the local one committed and the e-mail goes out once the payment link is
   * known. Safe to call again after a crash: an invoice already mailed is left alone.
   */
  async issueAndDeliver(actor: Actor, organisationId: number, year: number, opts: { duesRunId?: number | null } = {}): Promise<IssueResult> {
    const r = await this.issueDuesInvoice(actor, organisationId, year, opts);
    const id = r.issued ? r.invoiceId : r.reason === 'invoiced' ? r.invoiceId : undefined;
    if (id) await this.deliver(id);
    return r;
  }

  private stripeOn(): boolean {
    return this.d.stripe.enabled;
  }

  /** How many invoices a dues run delivers at once: STRIPE_CONCURRENCY with Stripe on (each push waits on Stripe), else 1. */
  deliveryConcurrency(): number {
    return this.stripeOn() ? Math.max(1, this.d.config.stripe.concurrency ?? 4) : 1;
  }

  /** Pushes to Stripe (if on and not yet done) and e-mails an invoice that has not been mailed yet. */
  async deliver(invoiceId: number): Promise<void> {
    const row = await getInvoice(this.d.db, invoiceId);
    if (!row || row.mailedAt || row.kind !== 'invoice' || row.status === 'cancelled') return;
    if (this.stripeOn() && !row.stripeInvoiceId) await this.d.stripe.pushInvoice(invoiceId);
    // the PDF (with the payment link) rendered before the transaction, used if nothing changed meanwhile
    const inv = await this.get(invoiceId);
    const prepared = inv.contactEmail ? await preparePdf(inv) : null;
    await this.d.db.transaction(async (trx) => {
      const fresh = await getInvoice(trx, invoiceId);
      if (!fresh || fresh.mailedAt) return;
      await this.mailInvoice(trx, invoiceId, prepared);
    });
  }

  /**
   * Puts the invoice e-mail with the PDF into the outbox (inside the caller's transaction) and
   * marks it mailed. `prepared`: the PDF rendered before the transaction, used if it was made
   * from this invoice as it is now.
   */
  private async mailInvoice(trx: Knex.Transaction, invoiceId: number, prepared?: PreparedPdf | null): Promise<void> {
    const inv = await this.getIn(trx, invoiceId);
    const now = iso(this.d.clock.now());
    await updateInvoice(trx, invoiceId, { mailed_at: now, updated_at: now });
    if (!inv.contactEmail) return;
    const t = tFor(inv.locale);
    const pdf = await pdfFor(inv, prepared);
    const cancellation = inv.kind === 'cancellation';
    const paragraphs = cancellation
      ? [t('dues.mail.cancellation.intro', { number: inv.number, original: inv.cancelsNumber ?? '', amount: formatMoney(-inv.amountCents, inv.locale) })]
      : [
          t('dues.mail.invoice.intro', { description: inv.description, number: inv.number, amount: formatMoney(inv.amountCents, inv.locale), due: formatDate(inv.dueDate, inv.locale) }),
          ...(inv.issuer.iban
            ? [t('dues.mail.invoice.bank', { holder: inv.issuer.bankHolder || inv.issuer.name, iban: formatIban(inv.issuer.iban), bic: inv.issuer.bic, number: inv.number })]
            : []),
        ];
    await this.d.outbox.enqueue(trx, {
      template: cancellation ? 'dues_cancellation' : 'dues_invoice',
      locale: inv.locale,
      to: inv.contactEmail,
      related: { type: 'invoice', id: inv.id },
      content: {
        subject: t(cancellation ? 'dues.mail.cancellation.subject' : 'dues.mail.invoice.subject', { number: inv.number, description: inv.description, association: inv.issuer.name }),
        greeting: greeting(t, inv.contactName),
        paragraphs,
        action: !cancellation && inv.payUrl && inv.payMethods.length ? { label: t('dues.mail.payOnline', { methods: payMethodsText(t, inv.payMethods) }), url: inv.payUrl } : undefined,
        afterAction: [t('dues.mail.attached')],
        signature: inv.issuer.name,
      },
      attachments: [
        { filename: `${t(cancellation ? 'dues.pdf.cancellationFile' : 'dues.pdf.file')}-${inv.number}.pdf`, contentType: 'application/pdf', content: pdf },
        // h/einvoice: XRechnung (CII) alongside the readable PDF for members who asked for it (public bodies by their Leitweg-ID)
        ...(inv.einvoice && inv.einvoice.format !== 'hybrid'
          ? [{ filename: `xrechnung-${inv.number}.xml`, contentType: 'application/xml', content: Buffer.from(buildCii(eInvoiceOf(inv, 'xrechnung')), 'utf8') }]
          : []),
      ],
    });
  }

  // ---------------------------------------------------------------- cancellation (Stornorechnung)

  /**
   * Cancels an invoice with a cancellation invoice of its own number (the negative amount,
   * referencing the original); the original becomes 'cancelled' and no longer blocks a new
   * dues invoice for that member and year. The Stripe invoice, if any, is voided or credited
   * after the local change committed.
   */
  async cancelInvoice(actor: Actor, invoiceId: number, reason: string): Promise<{ cancellationId: number; number: string; stripeError?: string }> {
    const result = await this.d.db.transaction(async (trx) => {
      const orig = await getInvoice(trx, invoiceId);
      if (!orig) throw new NotFoundError();
      if (orig.kind !== 'invoice') throw new AppError(422, 'not_an_invoice');
      if (orig.status === 'cancelled' || orig.status === 'void') throw new ConflictError('already_cancelled');
      const t = tFor(orig.locale);
      const now = iso(this.d.clock.now());
      const issueDate = this.today();
      const association = await this.d.settings.association(trx);
      const einvoice = await this.d.settings.einvoice(trx); // h/einvoice
      // h/einvoice: the Stornorechnung's e-invoice checked before a number is taken
      const fields = problemsOfInvoice({
        ...orig, kind: 'cancellation', number: 'DRAFT', issuer: issuerOf(association, einvoice), amountCents: -orig.amountCents,
        cancelsNumber: orig.number, cancelsIssueDate: orig.issueDate, issueDate, dueDate: issueDate,
      });
      // a correction of an invoice already issued is never blocked by the parties' data (the original's, or settings
      // missing since); only an amount that does not add up is refused
      const sellerSide = fields.filter((f) => f === 'amount' || f === 'lines');
      if (sellerSide.length) throw new EInvoiceRefused(sellerSide);
      const number = await nextInvoiceNumber(trx, orig.year);
      // the original's parties, period and locale; everything else of its own
      const cancellationId = await insertCopy(trx, orig.id, {
        number,
        kind: 'cancellation',
        cancels_invoice_id: orig.id,
        cancelled_by_invoice_id: null,
        dues_key: null,
        dues_run_id: null,
        issuer: JSON.stringify(issuerOf(association, einvoice)),
        description: t('dues.invoice.cancellationDescription', { description: orig.description, number: orig.number }),
        pro_rata_note: reason ? t('dues.invoice.cancellationReason', { reason }) : '',
        amount_cents: -orig.amountCents,
        issue_date: issueDate,
        due_date: issueDate,
        status: 'void',
        paid_cents: 0,
        stripe_customer_id: null,
        stripe_invoice_id: null,
        hosted_invoice_url: null,
        stripe_state: null,
        reminder_level: 0,
        last_reminder_at: null,
        reminders_stopped: true,
        mailed_at: null,
        created_by: actor.userId,
        created_at: now,
        updated_at: now,
      });
      await updateInvoice(trx, orig.id, {
        status: 'cancelled', dues_key: null, cancelled_by_invoice_id: cancellationId, reminders_stopped: true, updated_at: now,
      });
      await this.d.audit.record(trx, actor, 'invoice.cancelled', 'invoice', orig.id, { status: orig.status }, { status: 'cancelled', cancellationNumber: number, reason });
      if (this.cancelledHook) await this.cancelledHook(trx, actor, orig.id);
      await this.d.audit.record(trx, actor, 'invoice.cancellation_issued', 'invoice', cancellationId, undefined, { number, cancels: orig.number, amountCents: -orig.amountCents });
      await this.mailInvoice(trx, cancellationId);
      return { cancellationId, number, hadStripe: !!orig.stripeInvoiceId };
    });
    let stripeError: string | undefined;
    if (result.hadStripe) {
      try {
        await this.d.stripe.cancelOnStripe(invoiceId);
      } catch (err) {
        stripeError = err instanceof Error ? err.message : String(err);
        this.d.log.error({ invoiceId, err: stripeError }, 'stripe cancel failed');
      }
    }
    return { cancellationId: result.cancellationId, number: result.number, stripeError };
  }

  // ---------------------------------------------------------------- reading

  private async getIn(q: Knex | Knex.Transaction, id: number): Promise<Invoice> {
    const inv = await getInvoice(q, id);
    if (!inv) throw new NotFoundError();
    return this.offered(inv);
  }

  /** h/money2: with Stripe off (the key removed after invoices went there) no page, e-mail or PDF offers Stripe's payment page or its methods. */
  private offered(inv: Invoice): Invoice {
    return this.stripeOn() || !inv.payUrl ? inv : { ...inv, payUrl: null, payMethods: [] };
  }

  /**
   * h/bank2: a direct debit of the association now collects this invoice: a Stripe pay link it
   * had is withdrawn (stripe_state `debit`, so neither PDF, portal, mail nor reminder offers it;
   * the Stripe invoice stays open until the collection counts as paid, then the bank booking
   * marks it paid out of band). In the caller's transaction; audited.
   */
  async debitStarted(trx: Knex.Transaction, actor: Actor, invoiceId: number): Promise<void> {
    const inv = await this.getInTrx(trx, invoiceId);
    if (!inv.stripeInvoiceId || inv.stripeState === 'debit' || (inv.stripeState !== null && !PAYABLE_STRIPE_STATES.includes(inv.stripeState))) return;
    await updateInvoice(trx, invoiceId, { stripe_state: 'debit', updated_at: iso(this.d.clock.now()) });
    await this.d.audit.record(trx, actor, 'invoice.stripe_link_withdrawn', 'invoice', invoiceId, { stripeState: inv.stripeState }, { stripeState: 'debit' });
  }

  /**
   * h/bank2: the debit came back (returned) or was taken out of its collection: a withdrawn
   * Stripe pay link that still takes money is offered again; one whose Stripe invoice was closed
   * for the debit (`debit_closed`, voided there) cannot be: the rest is paid by transfer (`closed_bank`).
   */
  async debitEnded(trx: Knex.Transaction, actor: Actor, invoiceId: number): Promise<void> {
    const inv = await this.getInTrx(trx, invoiceId);
    if (inv.stripeState !== 'debit' && inv.stripeState !== 'debit_closed') return;
    const to = inv.stripeState === 'debit' ? 'open' : 'closed_bank';
    await updateInvoice(trx, invoiceId, { stripe_state: to, updated_at: iso(this.d.clock.now()) });
    await this.d.audit.record(trx, actor, to === 'open' ? 'invoice.stripe_link_restored' : 'invoice.stripe_closed_bank', 'invoice', invoiceId, { stripeState: inv.stripeState }, { stripeState: to });
  }

  async get(id: number): Promise<Invoice> {
    return this.getIn(this.d.db, id);
  }

  // h/sepa: what a direct debit collects
  /** An invoice inside the caller's transaction (the SEPA collection reads it where it books). */
  async getInTrx(trx: Knex.Transaction, id: number): Promise<Invoice> {
    return this.getIn(trx, id);
  }

  /** The open and partially paid dues invoices of these organisations, oldest due first. */
  async openInvoicesOf(organisationIds: number[], q: Knex | Knex.Transaction = this.d.db): Promise<Invoice[]> {
    return organisationIds.length ? openInvoicesOfOrganisations(q, organisationIds) : [];
  }
  // h/sepa: end

  /** What may be done with an invoice now: take payments, cancel it (a dues invoice that counts), issue it anew (a cancelled one). */
  actions(invoice: Invoice): { payable: boolean; cancellable: boolean; reissuable: boolean; deliverable: boolean } {
    const counts = invoice.kind === 'invoice' && !['cancelled', 'void'].includes(invoice.status);
    // h/fee: deliverable: issued but not gone out (Stripe was unreachable when it was issued)
    return { payable: counts, cancellable: counts, reissuable: invoice.kind === 'invoice' && invoice.status === 'cancelled', deliverable: counts && !invoice.mailedAt };
  }

  /**
   * h/fee: the treasurer's "deliver now" of an issued invoice that has not gone out (Stripe was
   * unreachable at issue): pushed to Stripe and e-mailed as at issue; Stripe's message when it is
   * still unreachable. Each attempt audited.
   */
  async deliverNow(actor: Actor, invoiceId: number): Promise<{ delivered: boolean; error?: string }> {
    const inv = await this.get(invoiceId);
    if (!this.actions(inv).deliverable) return { delivered: !!inv.mailedAt };
    let error: string | undefined;
    try {
      await this.deliver(invoiceId);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      error = err.message;
    }
    const delivered = !!(await this.get(invoiceId)).mailedAt;
    await this.d.audit.record(this.d.db, actor, 'invoice.delivery_retried', 'invoice', invoiceId, { mailedAt: null }, { delivered, ...(error ? { error } : {}) });
    return { delivered, error };
  }

  /**
   * h/money: the settings § 14 Abs. 4 UStG needs on every invoice that are empty: the
   * association's tax number and the tax note. No invoice is issued while one is missing.
   */
  async missingTaxSettings(q: Knex | Knex.Transaction = this.d.db): Promise<('taxNumber' | 'invoiceTaxNote')[]> {
    const association = await this.d.settings.association(q); // one after the other: q may be a transaction
    const rules = await this.d.settings.rules(q);
    const out: ('taxNumber' | 'invoiceTaxNote')[] = [];
    if (!association.taxNumber.trim()) out.push('taxNumber');
    if (!rules.invoiceTaxNote.trim()) out.push('invoiceTaxNote');
    return out;
  }

  /** h/money: what was paid beyond an invoice's amount (to refund or carry over); 0 when nothing. */
  excessOf(invoice: Invoice): number {
    return invoice.kind === 'invoice' && ['open', 'partially_paid', 'paid', 'uncollectible'].includes(invoice.status) ? Math.max(0, invoice.paidCents - invoice.amountCents) : 0;
  }

  // h/einvoice: the XML of an invoice, and a year's e-invoices as a ZIP
  /** The CII XML of an invoice: EN 16931 (as embedded in the PDF) or XRechnung 3.0. */
  async xml(id: number, profile: EInvoiceProfile = 'en16931'): Promise<{ invoice: Invoice; xml: string }> {
    const invoice = await this.get(id);
    return { invoice, xml: buildCii(eInvoiceOf(invoice, profile)) };
  }

  /**
   * Every invoice and Stornorechnung of a year for the tax adviser: per invoice the hybrid PDF
   * (PDF/A-3 with factur-x.xml) and the XML on its own, and the XRechnung for members who receive
   * one. Audited like the CSV export.
   */
  async einvoiceZip(actor: Actor, year: number): Promise<{ zip: Buffer; count: number }> {
    const rows = await exportRows(this.d.db, year);
    const { default: JSZip } = await import('jszip');
    const zip = new JSZip();
    const date = DateTime.fromISO(`${year}-12-31T12:00:00`, { zone: ZONE }).toJSDate();
    for (const inv of rows) {
      zip.file(`${inv.number}.pdf`, await renderInvoicePdf(inv), { date });
      zip.file(`${inv.number}-factur-x.xml`, buildCii(eInvoiceOf(inv)), { date });
      if (inv.einvoice && inv.einvoice.format !== 'hybrid') zip.file(`${inv.number}-xrechnung.xml`, buildCii(eInvoiceOf(inv, 'xrechnung')), { date });
    }
    await this.d.audit.record(this.d.db, actor, 'invoices.einvoices_exported', 'invoice', null, undefined, { year, invoices: rows.length });
    return { zip: await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }), count: rows.length };
  }

  async pdf(id: number): Promise<{ invoice: Invoice; pdf: Buffer }> {
    const invoice = await this.get(id);
    return { invoice, pdf: await renderInvoicePdf(invoice) };
  }

  /** For the member portal: the PDF of an invoice of this organisation; NotFoundError for any other. */
  async organisationPdf(organisationId: number, id: number): Promise<{ invoice: Invoice; pdf: Buffer }> {
    const invoice = await getInvoice(this.d.db, id);
    if (!invoice || invoice.organisationId !== organisationId) throw new NotFoundError();
    return { invoice, pdf: await renderInvoicePdf(this.offered(invoice)) };
  }

  /**
   * h/money: the board's view of a member's account: invoices (newest first), every booking,
   * the credit not yet used, and the flag an organisation that has left puts on open invoices.
   */
  async accountOf(organisationId: number, locale: Locale = 'de'): Promise<{ invoices: Invoice[]; payments: Awaited<ReturnType<PaymentsService['forOrganisation']>>; creditCents: number; leftFlag: string; currentYear: number }> {
    const invoices = await invoicesOfOrganisation(this.d.db, organisationId);
    const payments = this.d.payments ? await this.d.payments.forOrganisation(organisationId) : [];
    const creditCents = this.d.payments ? await this.d.payments.openCredit(organisationId) : 0;
    const org = await this.d.members.get(organisationId);
    return { invoices, payments, creditCents, leftFlag: this.leftFlag(org?.exitDate ?? null, locale), currentYear: Number(this.today().slice(0, 4)) };
  }

  /** h/money: "Mitglied ausgetreten zum 30.06.2027" for an organisation whose membership has ended (exit date before today), else ''. */
  leftFlag(exitDate: string | null, locale: Locale = 'de'): string {
    return exitDate && exitDate < this.today() ? tFor(locale)('money.left.flag', { date: formatDate(exitDate, locale) }) : '';
  }

  /** h/money: the flags of the listed invoices: organisation left (exit date passed) and the invoice still open; by invoice id. */
  async leftFlags(invoices: Invoice[], locale: Locale = 'de'): Promise<Record<number, string>> {
    const open = invoices.filter((i) => i.openCents > 0);
    if (!open.length) return {};
    const orgs = new Map((await this.d.members.getMany(open.map((i) => i.organisationId))).map((o) => [o.id, o]));
    const out: Record<number, string> = {};
    for (const i of open) {
      const flag = this.leftFlag(orgs.get(i.organisationId)?.exitDate ?? null, locale);
      if (flag) out[i.id] = flag;
    }
    return out;
  }

  /** For the member portal: the organisation's invoices, newest first. */
  async invoicesForOrganisation(organisationId: number): Promise<Invoice[]> {
    return (await invoicesOfOrganisation(this.d.db, organisationId)).map((inv) => this.offered(inv));
  }

  async list(filter: { year?: number; status?: string; q?: string; overdue?: boolean; page?: number; perPage?: number }): Promise<{ rows: Invoice[]; total: number; page: number; pages: number }> {
    const perPage = filter.perPage ?? 50;
    const page = Math.max(1, filter.page ?? 1);
    const { rows, total } = await listInvoices(this.d.db, { ...filter, today: this.today(), page, perPage });
    return { rows, total, page, pages: Math.max(1, Math.ceil(total / perPage)) };
  }

  /** Every invoice and cancellation invoice of a year by number, with the date of its last payment; the export is audited. */
  async exportRows(actor: Actor, year: number): Promise<(Invoice & { lastPaymentDate: string | null })[]> {
    const rows = await exportRows(this.d.db, year);
    await this.d.audit.record(this.d.db, actor, 'invoices.exported', 'invoice', null, undefined, { year, rows: rows.length });
    return rows;
  }

  async yearsWithInvoices(): Promise<number[]> {
    return invoiceYears(this.d.db);
  }

  /** The treasurer's numbers for a year: invoiced, paid, open, overdue (dues invoices that count), payments by month. */
  async dashboard(year: number): Promise<Dashboard> {
    const today = this.today();
    const rows = await duesAmountsOfYear(this.d.db, year);
    const out: Dashboard = {
      year,
      invoiced: { count: 0, cents: 0 }, paid: { count: 0, cents: 0 }, open: { count: 0, cents: 0 }, overdue: { count: 0, cents: 0 },
      cancelled: { count: 0 }, months: [],
    };
    for (const r of rows) {
      const status = r.status;
      const amount = r.amountCents;
      const paid = r.paidCents;
      if (status === 'cancelled' || status === 'void') { out.cancelled.count++; continue; }
      out.invoiced.count++; out.invoiced.cents += amount;
      if (paid > 0) { out.paid.cents += paid; }
      if (status === 'paid') out.paid.count++;
      if (OPEN_STATUSES.includes(status)) {
        const openCents = Math.max(0, amount - paid);
        out.open.count++; out.open.cents += openCents;
        if (r.dueDate < today) { out.overdue.count++; out.overdue.cents += openCents; }
      }
    }
    const pays = await paymentAmountsOfYear(this.d.db, year);
    const byMonth = new Map<string, number>();
    for (const p of pays) byMonth.set(p.date.slice(0, 7), (byMonth.get(p.date.slice(0, 7)) ?? 0) + p.amountCents);
    // the months from the first payment (at the latest January of the year) to December of the year
    const keys = [...byMonth.keys()].sort();
    let m = DateTime.fromISO(`${keys.length && keys[0] < `${year}-01` ? keys[0] : `${year}-01`}-01`);
    const last = keys.length && keys[keys.length - 1] > `${year}-12` ? keys[keys.length - 1] : `${year}-12`;
    while (m.toFormat('yyyy-MM') <= last && out.months.length < 36) {
      const k = m.toFormat('yyyy-MM');
      out.months.push({ month: k, cents: byMonth.get(k) ?? 0 });
      m = m.plus({ months: 1 });
    }
    return out;
  }

  /** h/stripe: the register's payment-status filter (dues of the current year): a subquery of organisation ids. */
  organisationsByPayment(state: 'paid' | 'open' | 'overdue'): { year: number; ids: Knex.QueryBuilder } {
    const today = this.today();
    const year = Number(today.slice(0, 4));
    return { year, ids: organisationIdsByPayment(this.d.db, state, year, today) };
  }

  /** h/stripe: what the treasurer must look at on Stripe's side for a year: open disputes, invoices voided in the Stripe Dashboard, failed finalize checks. */
  async stripeFlags(year: number): Promise<{ disputes: number; voided: number; problems: number }> {
    return stripeFlagCounts(this.d.db, year);
  }

  async stopReminders(actor: Actor, invoiceId: number, stopped: boolean): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const r = await getInvoice(trx, invoiceId);
      if (!r) throw new NotFoundError();
      const before = r.remindersStopped;
      if (before === stopped) return;
      await updateInvoice(trx, invoiceId, { reminders_stopped: stopped, updated_at: iso(this.d.clock.now()) });
      await this.d.audit.record(trx, actor, stopped ? 'invoice.reminders_stopped' : 'invoice.reminders_resumed', 'invoice', invoiceId, { remindersStopped: before }, { remindersStopped: stopped });
    });
  }

  /** Invoice ids whose e-mail has not gone out (e.g. Stripe was unreachable); a new run delivers them. */
  async undelivered(year: number): Promise<number[]> {
    return undeliveredIds(this.d.db, year);
  }

  /** An organisation's invoices as stored, without the PDF (for its GDPR data export); undefined before the dues tables exist. */
  async invoicesOfOrganisation(organisationId: number): Promise<InvoiceRow[] | undefined> {
    return invoiceRowsOfOrganisation(this.d.db, organisationId);
  }

  // h/bank: the open invoices the bank statement import matches against
  async openForMatching(q: Knex | Knex.Transaction = this.d.db): ReturnType<typeof openInvoicesForMatching> {
    return openInvoicesForMatching(q);
  }

  /** h/bankperf: a stamp of what openForMatching returns; it changes when an open invoice is paid, cancelled or issued (the bank's stored proposals are then recomputed). */
  async matchingStamp(q: Knex | Knex.Transaction = this.d.db): Promise<string> {
    return openInvoicesMatchingStamp(q);
  }

  /** h/gdpr: the numbers of the organisation's (partly) unpaid invoices; anonymisation waits for them. */
  async unpaidInvoiceNumbers(organisationId: number): Promise<string[]> {
    return unpaidInvoiceNumbers(this.d.db, organisationId);
  }
}

export { SYSTEM };
