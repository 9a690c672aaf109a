import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { berlinDate, iso, ZONE, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { SYSTEM } from '../audit/audit.service.ts';
import { AppError, ConflictError, NotFoundError, ValidationError, type FieldErrors } from '../errors.ts';
import { isUniqueViolation } from '../db/errors.ts';
import type { Logger } from '../logger.ts';
import type { EnqueueInput, Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { UsersService } from '../auth/users.service.ts';
import type { DuesService } from '../dues/dues.service.ts';
import type { PaymentsService } from '../dues/payments.service.ts';
import type { Invoice } from '../dues/invoice.ts';
import type { DirectDebitMandate } from '../einvoice/model.ts';
import { compactCode, formatIban, isValidCreditorId } from '../settings/bank.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatDate, formatMoney } from '../i18n/format.ts';
import { greeting } from '../mail/greeting.ts';
import {
  LENGTH, RETURN_REASONS, earliestDueDate, isMandateReference, isReturnReason, isTargetDay, mandateValidUntil, reasonAllowedFor, sepaBic, sepaIban, sepaId, sepaText, sequenceOf,
} from './rules.ts';
import { buildPain008, painFileName, type PainVersion } from './pain008.ts';
import {
  adjustRun, debitsToRecall, getDebit, markFileDownloaded, pendingDebitOfInvoice, updatePendingDebit, usesOfMandate,
  debitByEndToEndId, debitsOfOrganisation, debitsOfRun, getMandate, getRun, insertDebits, insertMandate, insertReturn, insertRun, invoicesInCollection,
  listRuns, mandatesOfOrganisation, pendingDueDebits, recentReturns, referenceTaken, returnIdOfDebit, returnOfDebit, returnsOfInvoices, returnsOfOrganisation, runsDueFrom, updateDebit,
  updateMandate, updateMandates, updateRun, usableMandates, type Debit, type NewDebitRow, type Mandate, type ReturnEntry, type Run,
} from './sepa.repository.ts';
import type { MandateScheme, MandateSource, SequenceType } from './sepa.tables.ts';
import type { PaymentArrived } from '../dues/payments.service.ts';
import { chargeReturnFee, deliverReturnFee, notChargedReason, returnFeeKey, type ReturnFeeOutcome } from './return-fee.ts'; // h/fee

export type { Debit, Mandate, ReturnEntry, Run };

export type MandateState = 'active' | 'revoked' | 'flagged' | 'expired';

export interface MandateView extends Mandate {
  state: MandateState;
  /** the last due date a collection may have under it (36 months unused, SEPA rulebook) */
  validUntil: string;
  nextSequence: SequenceType;
}

export interface MandateInput {
  scheme: string;
  iban: string;
  bic: string;
  holder: string;
  signedOn: string;
  reference?: string;
}

export interface PreviewItem {
  invoiceId: number;
  invoiceNumber: string;
  organisationId: number;
  memberNumber: number;
  memberName: string;
  amountCents: number;
  invoiceDueDate: string;
  mandateId: number;
  mandateReference: string;
  scheme: MandateScheme;
  sequence: SequenceType;
  /** what the treasurer wants to see before collecting: reminded already, paid in part */
  reminderLevel: number;
  paidCents: number;
}

export interface ReturnInput {
  endToEndId: string;
  reasonCode: string;
  amountCents: number;
  bookedOn: string;
  feeCents?: number;
}

/**
 * Where an open invoice stands with direct debit, for its reminders (h/bank2):
 * - `collecting`: a debit collects it (pending, or collected and not returned): no reminder;
 * - `returned`: its last debit came back (reason, the debit's due date): the reminder says so;
 * - `awaiting`: the member has an active mandate and no debit was made yet: the invoice will be
 *   collected, so reminders count from `remindFrom`, the due date a run created on the invoice's
 *   due date would have had (pre-notification days and lead time), not from the due date.
 * Invoices not in the map have nothing to do with direct debit.
 */
export type DebitState =
  | { state: 'collecting' }
  | { state: 'returned'; reasonCode: string; debitDueDate: string; bookedOn: string }
  | { state: 'awaiting'; remindFrom: string };

/** The return as booked, handed to the caller's step inside the same transaction (the bank marks its statement line). */
export interface BookedReturn {
  returnId: number;
  invoiceId: number;
  organisationId: number;
}

/** What the SEPA module hears of a payment (PaymentsService.onPaymentArrived). */
type PaymentSeen = Parameters<PaymentArrived>[3];

/** Why a debit left its collection: paid otherwise, its invoice cancelled, taken out by the treasurer (before or after a recall at the bank), or its file never downloaded by the due date. */
type CancelWhy = 'paid' | 'invoice_cancelled' | 'withdrawn' | 'recalled' | 'expired';

export type WithinReturn = (trx: Knex.Transaction, r: BookedReturn) => Promise<void>;

export interface RunFile {
  scheme: MandateScheme;
  sequence: SequenceType;
  count: number;
  totalCents: number;
  /** when the file was first downloaded (for the bank), null while not */
  downloadedAt: string | null;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(s: string): boolean {
  return ISO_DATE.test(s) && DateTime.fromISO(s, { zone: ZONE }).isValid;
}

/** Thrown when the association's own data needed for a collection is missing or wrong (the settings page fixes it). */
export class SepaSettingsError extends AppError {
  constructor(public readonly fields: string[]) {
    super(422, 'sepa_settings');
  }
}

/**
 * SEPA direct debits (issue 12, items 3–5): the members' mandates (CORE or B2B, from the
 * portal or a signed paper form), the collection runs with their pre-notifications and
 * pain.008 files, booking a collection as paid on its due date, and returns.
 */
export class SepaService {
  constructor(private d: {
    db: Knex; clock: Clock; log: Logger; audit: AuditService; outbox: Outbox; settings: SettingsService; users: UsersService; dues: DuesService; payments: PaymentsService;
  }) {}

  /** h/debit: told in a new run's transaction of its Stripe-backed invoices (their Stripe invoices are closed; set by the composition root). */
  private runCreatedHook?: (trx: Knex.Transaction, runId: number, stripeBackedInvoiceIds: number[]) => Promise<void>;

  onRunCreated(fn: (trx: Knex.Transaction, runId: number, stripeBackedInvoiceIds: number[]) => Promise<void>): void {
    this.runCreatedHook = fn;
  }

  private today(): string {
    return berlinDate(this.d.clock.now());
  }

  // ------------------------------------------------------------------ mandates

  stateOf(m: Mandate, on: string = this.today()): MandateState {
    if (m.revokedAt) return 'revoked';
    if (m.flagCode) return 'flagged';
    if (on > mandateValidUntil(m)) return 'expired';
    return 'active';
  }

  view(m: Mandate, on: string = this.today()): MandateView {
    return { ...m, state: this.stateOf(m, on), validUntil: mandateValidUntil(m), nextSequence: sequenceOf(m) };
  }

  async mandatesOf(organisationId: number): Promise<MandateView[]> {
    return (await mandatesOfOrganisation(this.d.db, organisationId)).map((m) => this.view(m));
  }

  /**
   * What an invoice issued now names as its payment means (EN 16931 BG-19): the newest active
   * mandate of the organisation with the association's creditor ID, or null (then the invoice
   * asks for a transfer). Runs inside the issuing transaction.
   */
  async mandateForEInvoice(q: Knex | Knex.Transaction, organisationId: number): Promise<DirectDebitMandate | null> {
    const creditorId = compactCode((await this.d.settings.association(q)).sepaCreditorId);
    if (!creditorId || !isValidCreditorId(creditorId)) return null;
    const on = this.today();
    const m = (await mandatesOfOrganisation(q, organisationId)).find((x) => this.stateOf(x, on) === 'active');
    return m ? { reference: m.reference, creditorId, debtorIban: m.iban } : null;
  }

  async mandate(id: number): Promise<MandateView> {
    const m = await getMandate(this.d.db, id);
    if (!m) throw new NotFoundError();
    return this.view(m);
  }

  /** The checks of a mandate's fields; each error names its field. */
  private checkMandate(input: MandateInput): { errors: FieldErrors; scheme: MandateScheme; iban: string; bic: string; holder: string; reference: string } {
    const errors: FieldErrors = {};
    const scheme = input.scheme === 'B2B' ? 'B2B' : 'CORE';
    if (input.scheme !== 'CORE' && input.scheme !== 'B2B') errors.scheme = 'sepa.errors.scheme';
    const iban = sepaIban(input.iban);
    if (!input.iban.trim()) errors.iban = 'sepa.errors.ibanMissing';
    else if (!iban) errors.iban = 'sepa.errors.iban';
    const bic = sepaBic(input.bic);
    if (bic === null) errors.bic = 'sepa.errors.bic';
    const holder = sepaText(input.holder, LENGTH.name);
    if (!input.holder.trim() || !holder) errors.holder = 'sepa.errors.holder';
    else if (input.holder.trim().length > LENGTH.name) errors.holder = 'sepa.errors.holderLong';
    if (!input.signedOn.trim()) errors.signedOn = 'sepa.errors.signedOnMissing';
    else if (!validDate(input.signedOn)) errors.signedOn = 'sepa.errors.date';
    else if (input.signedOn > this.today()) errors.signedOn = 'sepa.errors.signedOnFuture';
    const reference = (input.reference ?? '').trim();
    if (reference && !isMandateReference(reference)) errors.reference = 'sepa.errors.reference';
    return { errors, scheme, iban: iban ?? '', bic: bic ?? '', holder, reference };
  }

  /**
   * A new mandate: entered by the board from a signed paper form ('paper'), granted by a
   * member contact in the portal ('portal', signed today) or on the application form. The
   * reference is the one printed on the paper form, or made here (unique).
   */
  async createMandate(actor: Actor, organisationId: number, source: MandateSource, input: MandateInput, contactId: number | null = null): Promise<number> {
    try {
      return await this.d.db.transaction(async (trx) => this.createMandateInTrx(trx, actor, organisationId, source, input, contactId));
    } catch (err) {
      if (isUniqueViolation(err)) throw new ValidationError({ reference: 'sepa.errors.referenceTaken' });
      throw err;
    }
  }

  /** createMandate inside the caller's transaction (h/bank2: the approval of an application with a mandate). */
  async createMandateInTrx(trx: Knex.Transaction, actor: Actor, organisationId: number, source: MandateSource, input: MandateInput, contactId: number | null = null): Promise<number> {
    const c = this.checkMandate(input);
    if (Object.keys(c.errors).length) throw new ValidationError(c.errors);
    const now = iso(this.d.clock.now());
    {
      {
        if (c.reference && (await referenceTaken(trx, c.reference))) throw new ValidationError({ reference: 'sepa.errors.referenceTaken' });
        const id = await insertMandate(trx, {
          organisation_id: organisationId, reference: c.reference || `tmp-${organisationId}-${now}`.slice(0, 35), scheme: c.scheme, iban: c.iban, bic: c.bic, holder: c.holder,
          signed_on: input.signedOn, source, granted_by_contact_id: contactId, last_used_on: null, first_used: false, revoked_at: null, revoked_reason: '',
          flag_code: null, flagged_at: null, created_by: actor.userId, created_at: now, updated_at: now,
        });
        const reference = c.reference || sepaId(`M${String(organisationId).padStart(5, '0')}-${id}`);
        if (!c.reference) await updateMandate(trx, id, { reference });
        await this.d.audit.record(trx, actor, 'sepa.mandate_created', 'organisation', organisationId, undefined, {
          mandateId: id, reference, scheme: c.scheme, iban: formatIban(c.iban), bic: c.bic, holder: c.holder, signedOn: input.signedOn, source,
        });
        return id;
      }
    }
  }

  /** Revokes a mandate (the member's word, or the board's); a revoked mandate is never used again. `organisationId`: the portal's check that it is the contact's own. */
  async revokeMandate(actor: Actor, mandateId: number, reason: string, organisationId?: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const m = await getMandate(trx, mandateId);
      if (!m || (organisationId !== undefined && m.organisationId !== organisationId)) throw new NotFoundError();
      if (m.revokedAt) return;
      const now = iso(this.d.clock.now());
      await updateMandate(trx, m.id, { revoked_at: now, revoked_reason: reason.slice(0, 300), updated_at: now });
      await this.d.audit.record(trx, actor, 'sepa.mandate_revoked', 'organisation', m.organisationId, { mandateId: m.id, reference: m.reference, revokedAt: null }, { revokedAt: now, reason });
    });
  }

  /** The board has looked at a flagged mandate (e.g. the member paid after AM04-like refusal) and lets it be used again. */
  async clearFlag(actor: Actor, mandateId: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const m = await getMandate(trx, mandateId);
      if (!m) throw new NotFoundError();
      if (!m.flagCode || m.revokedAt) return;
      const now = iso(this.d.clock.now());
      await updateMandate(trx, m.id, { flag_code: null, flagged_at: null, updated_at: now });
      await this.d.audit.record(trx, actor, 'sepa.mandate_flag_cleared', 'organisation', m.organisationId, { mandateId: m.id, flagCode: m.flagCode }, { flagCode: null });
    });
  }

  // ------------------------------------------------------------------ collection runs

  /** The association's creditor data; each missing or wrong field is named. */
  async creditor(): Promise<{ name: string; iban: string; bic: string; creditorId: string }> {
    const a = await this.d.settings.association();
    const missing: string[] = [];
    const creditorId = compactCode(a.sepaCreditorId);
    if (!creditorId || !isValidCreditorId(creditorId)) missing.push('sepaCreditorId');
    const iban = sepaIban(a.iban);
    if (!iban) missing.push('iban');
    const bic = sepaBic(a.bic);
    if (bic === null) missing.push('bic');
    if (missing.length) throw new SepaSettingsError(missing);
    return { name: a.bankHolder || a.name, iban: iban ?? '', bic: bic ?? '', creditorId };
  }

  /** The creditor fields that stop a collection (empty when none): for the run page. */
  async creditorProblems(): Promise<string[]> {
    try {
      await this.creditor();
      return [];
    } catch (err) {
      if (err instanceof SepaSettingsError) return err.fields;
      throw err;
    }
  }

  /** The earliest due date a run created today may have, for the mandates' schemes. */
  async earliestDueDate(schemes: MandateScheme[] = ['CORE', 'B2B']): Promise<string> {
    return earliestDueDate(this.today(), await this.d.settings.sepa(), schemes);
  }

  /** One usable mandate per organisation at that date: the newest active one. */
  private async mandatesByOrganisation(q: Knex | Knex.Transaction, on: string): Promise<Map<number, Mandate>> {
    const byOrg = new Map<number, Mandate>();
    for (const m of await usableMandates(q)) {
      if (this.stateOf(m, on) !== 'active') continue;
      const had = byOrg.get(m.organisationId);
      if (!had || had.id < m.id) byOrg.set(m.organisationId, m);
    }
    return byOrg;
  }

  /** What a run on `dueDate` would collect: each open invoice of a member with an active mandate that no debit collects yet. */
  async preview(dueDate?: string): Promise<PreviewItem[]> {
    const on = dueDate && validDate(dueDate) ? dueDate : await this.earliestDueDate();
    const byOrg = await this.mandatesByOrganisation(this.d.db, on);
    const invoices = await this.d.dues.openInvoicesOf([...byOrg.keys()]);
    const taken = await invoicesInCollection(this.d.db, invoices.map((i) => i.id));
    return invoices.filter((i) => !taken.has(i.id) && i.openCents > 0).map((i) => {
      const m = byOrg.get(i.organisationId)!; // the invoices were asked for exactly these organisations
      return {
        invoiceId: i.id, invoiceNumber: i.number, organisationId: i.organisationId, memberNumber: i.memberNumber, memberName: i.recipient.name,
        amountCents: i.openCents, invoiceDueDate: i.dueDate, mandateId: m.id, mandateReference: m.reference, scheme: m.scheme, sequence: sequenceOf(m),
        reminderLevel: i.reminderLevel, paidCents: i.paidCents,
      };
    });
  }

  /**
   * Creates a collection on `dueDate` for the chosen invoices: each must be open, of a member
   * with an active mandate, not collected already; the due date respects the pre-notification
   * days and the lead time (settings) and is a TARGET2 business day. Each member gets the
   * pre-notification (amount, due date, mandate reference, creditor ID) through the outbox in
   * the same transaction. All or nothing.
   */
  async createRun(actor: Actor, input: { dueDate: string; invoiceIds: number[] }): Promise<{ runId: number; count: number; totalCents: number }> {
    const creditor = await this.creditor();
    if (!input.dueDate.trim()) throw new ValidationError({ dueDate: 'sepa.errors.dueDateMissing' });
    if (!validDate(input.dueDate)) throw new ValidationError({ dueDate: 'sepa.errors.date' });
    const ids = [...new Set(input.invoiceIds)].filter((x) => Number.isSafeInteger(x) && x > 0);
    if (!ids.length) throw new ValidationError({ invoiceIds: 'sepa.errors.noInvoices' });
    const settings = await this.d.settings.sepa();
    const now = iso(this.d.clock.now());
    try {
      return await this.d.db.transaction(async (trx) => {
        const byOrg = await this.mandatesByOrganisation(trx, input.dueDate);
        const taken = await invoicesInCollection(trx, ids);
        const items: { inv: Invoice; m: Mandate }[] = [];
        // the open invoices of the organisations with a mandate, read at once; any other id is refused below
        const open = new Map((await this.d.dues.openInvoicesOf([...byOrg.keys()], trx)).map((i) => [i.id, i]));
        for (const id of ids) {
          const inv = open.get(id);
          if (!inv) {
            // not an open invoice of a member with a usable mandate: say which of the two
            const any = await this.d.dues.getInTrx(trx, id).catch(() => null);
            if (any && any.kind === 'invoice' && any.openCents > 0 && !byOrg.has(any.organisationId)) throw new ValidationError({ invoiceIds: 'sepa.errors.noMandate' });
            throw new ValidationError({ invoiceIds: 'sepa.errors.invoiceNotOpen' });
          }
          if (inv.openCents <= 0) throw new ValidationError({ invoiceIds: 'sepa.errors.invoiceNotOpen' });
          if (taken.has(id)) throw new ValidationError({ invoiceIds: 'sepa.errors.invoiceCollected' });
          const m = byOrg.get(inv.organisationId)!; // open holds only invoices of these organisations
          items.push({ inv, m });
        }
        const earliest = earliestDueDate(this.today(), settings, [...new Set(items.map((x) => x.m.scheme))]);
        if (input.dueDate < earliest) throw new ValidationError({ dueDate: 'sepa.errors.dueTooSoon' });
        if (!isTargetDay(input.dueDate)) throw new ValidationError({ dueDate: 'sepa.errors.notBusinessDay' });
        const runId = await insertRun(trx, { due_date: input.dueDate, message_id: `tmp-${now}`.slice(0, 35), debit_count: 0, total_cents: 0, created_by: actor.userId, created_at: now });
        const messageId = sepaId(`CNH-${runId}-${now.slice(0, 19).replace(/\D/g, '')}`);
        // the sequence of each mandate as it was before this run (all of its debits in the run share it)
        const seq = new Map<number, SequenceType>();
        for (const { m } of items) if (!seq.has(m.id)) seq.set(m.id, sequenceOf(m));
        let total = 0;
        const t = (l: string) => tFor(l === 'en' ? 'en' : 'de');
        // written in multi-row inserts of 500 (debits, pre-notifications, audit entries), chunk by chunk so that the rendered mails of a big run are not all held at once
        const pre = { dueDate: input.dueDate, creditorId: creditor.creditorId, creditorName: creditor.name };
        for (let i = 0; i < items.length; i += 500) {
          const debits: NewDebitRow[] = [];
          const mails: EnqueueInput[] = [];
          const audits: Parameters<AuditService['recordMany']>[2] = [];
          for (const { inv, m } of items.slice(i, i + 500)) {
            const endToEndId = sepaId(`D${runId}-${inv.number}`);
            const amountCents = inv.openCents;
            total += amountCents;
            const remittance = sepaText(t(inv.locale)('sepa.file.remittance', { number: inv.number, memberNumber: inv.memberNumber, year: inv.year }), LENGTH.remittance);
            debits.push({
              run_id: runId, mandate_id: m.id, invoice_id: inv.id, organisation_id: inv.organisationId, invoice_number: inv.number, end_to_end_id: endToEndId,
              sequence: seq.get(m.id)!, scheme: m.scheme, amount_cents: amountCents, due_date: input.dueDate, mandate_reference: m.reference, mandate_signed_on: m.signedOn,
              iban: m.iban, bic: m.bic, holder: m.holder, remittance, status: 'pending', payment_id: null, active_invoice_id: inv.id,
              prenotified_at: inv.contactEmail ? now : null, created_at: now,
            });
            if (inv.contactEmail) mails.push(this.preNotification(inv, m, { amountCents, ...pre }));
            audits.push({ action: 'sepa.debit_created', entityType: 'invoice', entityId: inv.id, after: { runId, endToEndId, amountCents, dueDate: input.dueDate, mandate: m.reference, sequence: seq.get(m.id) } });
          }
          await insertDebits(trx, debits);
          await this.d.outbox.enqueueMany(trx, mails);
          await this.d.audit.recordMany(trx, actor, audits);
          for (const { inv } of items.slice(i, i + 500)) if (inv.stripeInvoiceId) await this.d.dues.debitStarted(trx, actor, inv.id); // h/bank2: no Stripe pay link beside the debit
        }
        // each mandate is used (first_used, last_used_on): one update per distinct last-used date
        const mandates = new Map(items.map(({ m }) => [m.id, m]));
        const byLastUsed = new Map<string, number[]>();
        for (const id of seq.keys()) {
          const m = mandates.get(id)!;
          const lastUsed = m.lastUsedOn && m.lastUsedOn > input.dueDate ? m.lastUsedOn : input.dueDate;
          byLastUsed.set(lastUsed, [...(byLastUsed.get(lastUsed) ?? []), id]);
        }
        for (const [lastUsed, mandateIds] of byLastUsed) await updateMandates(trx, mandateIds, { first_used: true, last_used_on: lastUsed, updated_at: now });
        await updateRun(trx, runId, { message_id: messageId, debit_count: items.length, total_cents: total });
        await this.d.audit.record(trx, actor, 'sepa.run_created', 'sepa_run', runId, undefined, { dueDate: input.dueDate, count: items.length, totalCents: total, messageId });
        if (this.runCreatedHook) await this.runCreatedHook(trx, runId, items.filter(({ inv }) => inv.stripeInvoiceId).map(({ inv }) => inv.id));
        return { runId, count: items.length, totalCents: total };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ValidationError({ invoiceIds: 'sepa.errors.invoiceCollected' });
      throw err;
    }
  }

  private preNotification(inv: Invoice, m: Mandate, x: { amountCents: number; dueDate: string; creditorId: string; creditorName: string }): EnqueueInput {
    const locale: Locale = inv.locale === 'en' ? 'en' : 'de';
    const t = tFor(locale);
    const masked = `${m.iban.slice(0, 4)} **** ${m.iban.slice(-4)}`;
    return {
      template: 'sepa_prenotification',
      locale,
      to: inv.contactEmail,
      related: { type: 'invoice', id: inv.id },
      content: {
        subject: t('sepa.mail.pre.subject', { number: inv.number, association: inv.issuer.name }),
        greeting: greeting(t, inv.contactName),
        paragraphs: [
          t('sepa.mail.pre.intro', { number: inv.number, amount: formatMoney(x.amountCents, locale), due: formatDate(x.dueDate, locale) }),
          t('sepa.mail.pre.details', { reference: m.reference, creditorId: x.creditorId, creditor: x.creditorName, iban: masked, scheme: m.scheme }),
          t('sepa.mail.pre.funds'),
        ],
        signature: inv.issuer.name,
      },
    };
  }

  async runs(): Promise<Run[]> {
    return listRuns(this.d.db);
  }

  async run(id: number): Promise<{ run: Run; debits: Debit[]; files: RunFile[] }> {
    const run = await getRun(this.d.db, id);
    if (!run) throw new NotFoundError();
    const debits = await debitsOfRun(this.d.db, id);
    const files = new Map<string, RunFile>();
    for (const d of debits) {
      if (d.status === 'cancelled') continue; // taken out of the collection: in no file
      const k = `${d.scheme}-${d.sequence}`;
      const f = files.get(k) ?? { scheme: d.scheme, sequence: d.sequence, count: 0, totalCents: 0, downloadedAt: d.fileDownloadedAt };
      if (d.fileDownloadedAt && (!f.downloadedAt || d.fileDownloadedAt < f.downloadedAt)) f.downloadedAt = d.fileDownloadedAt;
      f.count++;
      f.totalCents += d.amountCents;
      files.set(k, f);
    }
    return { run, debits, files: [...files.values()].sort((a, b) => (a.scheme + a.sequence).localeCompare(b.scheme + b.sequence)) };
  }

  /**
   * The pain.008 of one scheme and sequence type of a run (every debit of the run as submitted,
   * none taken out); the download is stamped on its debits first and audited, in one transaction
   * with the read that builds the file.
   */
  async file(actor: Actor, runId: number, scheme: MandateScheme, sequence: SequenceType, version: PainVersion): Promise<{ filename: string; xml: string }> {
    const run = await getRun(this.d.db, runId);
    if (!run) throw new NotFoundError();
    const creditor = await this.creditor();
    const chosen = await this.d.db.transaction(async (trx) => {
      await markFileDownloaded(trx, runId, scheme, sequence, iso(this.d.clock.now()));
      const all = (await debitsOfRun(trx, runId)).filter((d) => d.scheme === scheme && d.sequence === sequence);
      const debits = all.filter((d) => d.status !== 'cancelled');
      // the whole submission recalled at the bank to take a debit out: the file without it is a new message, so that the
      // bank's duplicate check takes it when it is submitted again; otherwise the same message (a second upload is refused)
      const recalled = all.filter((d) => d.status === 'cancelled' && d.wholeFileRecalled).length;
      if (debits.length) await this.d.audit.record(trx, actor, 'sepa.file_downloaded', 'sepa_run', runId, undefined, { scheme, sequence, version, count: debits.length, edition: recalled + 1 });
      return { debits, recalled };
    });
    if (!chosen.debits.length) throw new NotFoundError();
    const xml = buildPain008({
      messageId: `${run.messageId}-${scheme === 'B2B' ? 'B' : 'C'}${sequence === 'FRST' ? 'F' : 'R'}${chosen.recalled ? chosen.recalled + 1 : ''}`,
      createdAt: run.createdAt.slice(0, 19),
      scheme, sequence, dueDate: run.dueDate, creditor,
      debits: chosen.debits.map((d) => ({
        endToEndId: d.endToEndId, amountCents: d.amountCents, mandateReference: d.mandateReference, mandateSignedOn: d.mandateSignedOn,
        debtorName: d.holder, debtorIban: d.iban, debtorBic: d.bic, remittance: d.remittance,
      })),
    }, version);
    return { filename: painFileName({ dueDate: run.dueDate, scheme, sequence }, version), xml };
  }

  /**
   * Books each pending debit whose due date has come as paid ("Lastschrift", dated the due date);
   * a return later reverses it. A debit whose file was never downloaded did not reach the bank: it
   * is taken out of its run instead (the member told, the invoice free for a later run).
   */
  async settleDue(actor: Actor = SYSTEM): Promise<number> {
    const due = await pendingDueDebits(this.d.db, this.today());
    let n = 0;
    for (const seen of due) {
      // each debit claimed inside its own transaction: two page loads at once book it once, and a take-out or download meanwhile is seen
      const done = await this.d.db.transaction(async (trx): Promise<'expired' | 'collected' | null> => {
        let d = await getDebit(trx, seen.id);
        if (!d || d.status !== 'pending') return null;
        if (!d.fileDownloadedAt) {
          // the file never went to the bank (not even downloaded by the due date): nothing was collected; the invoice is free for a later run
          if (await this.cancelInTrx(trx, actor, d, 'expired', '', { notDownloaded: true })) {
            await this.informChange(trx, await this.d.dues.getInTrx(trx, d.invoiceId), d, 0, 'expired');
            return 'expired';
          }
          d = await getDebit(trx, seen.id); // downloaded just now: booked below
          if (!d || d.status !== 'pending') return null;
        }
        if (!(await updatePendingDebit(trx, d.id, { status: 'collected' }))) return null;
        try {
          const p = await this.d.payments.recordInTrx(trx, actor, d.invoiceId, { date: d.dueDate, amountCents: d.amountCents, reference: `Lastschrift ${d.endToEndId}`, method: 'bank' }, { stripeAfterCommit: false, collectedDebit: true });
          await updateDebit(trx, d.id, { payment_id: p.paymentId });
        } catch (err) {
          // an invoice cancelled meanwhile takes no payment: the debit counts as collected, the treasurer sees it without a booking
          if (!(err instanceof ConflictError)) throw err;
          this.d.log.warn({ debitId: d.id, code: err.code }, 'sepa: collected debit not booked');
        }
        await this.d.audit.record(trx, actor, 'sepa.debit_collected', 'invoice', d.invoiceId, { status: 'pending' }, { status: 'collected', endToEndId: d.endToEndId });
        return 'collected';
      });
      if (!done) continue;
      // h/bank2: the collection counts as paid: a Stripe invoice is marked paid out of band (the gateway retries; reconcile repairs an outage)
      await this.d.payments.syncStripeAfterBooking(seen.invoiceId);
      if (done === 'collected') n++;
    }
    return n;
  }

  /** The invoices a debit collects (pending, or collected and not returned): no reminder for them. */
  async invoicesInCollection(invoiceIds: number[]): Promise<Set<number>> {
    return invoiceIds.length ? invoicesInCollection(this.d.db, invoiceIds) : new Set();
  }

  /** The direct-debit state of each of these open invoices (see DebitState); read at once. */
  async debitStates(invoices: { id: number; organisationId: number; dueDate: string }[]): Promise<Map<number, DebitState>> {
    const out = new Map<number, DebitState>();
    if (!invoices.length) return out;
    const ids = invoices.map((i) => i.id);
    const collecting = await invoicesInCollection(this.d.db, ids);
    const returns = await returnsOfInvoices(this.d.db, ids);
    const byOrg = await this.mandatesByOrganisation(this.d.db, this.today());
    const settings = await this.d.settings.sepa();
    for (const inv of invoices) {
      if (collecting.has(inv.id)) { out.set(inv.id, { state: 'collecting' }); continue; }
      const r = returns.find((x) => x.invoiceId === inv.id);
      if (r) {
        const debit = await debitByEndToEndId(this.d.db, r.endToEndId);
        out.set(inv.id, { state: 'returned', reasonCode: r.reasonCode, debitDueDate: debit?.dueDate ?? inv.dueDate, bookedOn: r.bookedOn });
        continue;
      }
      const m = byOrg.get(inv.organisationId);
      if (m) out.set(inv.id, { state: 'awaiting', remindFrom: earliestDueDate(inv.dueDate, settings, [m.scheme]) });
    }
    return out;
  }

  // ------------------------------------------------------------------ returns

  /**
   * A returned debit (R-transaction), entered by hand or from the bank statement: found by its
   * end-to-end id; the "Lastschrift" payment is reversed by a counter-booking (the invoice is
   * open again and reminded as usual), the bank's return fee (settings, or as given) is
   * recorded, the treasurer and the member are told, and a refusal (MD06, MD01, AC04 …) flags
   * the mandate so that it is not used again until the board has looked at it. h/fee: with the
   * setting chargeReturnFee on, a fee above 0 is charged on to the member by an invoice of its
   * own, issued in the same transaction (return-fee.ts) and delivered after the commit.
   */
  async recordReturn(input: ReturnInput, actor: Actor, within?: WithinReturn): Promise<{ returnId: number; invoiceId: number; mandateFlagged: boolean; feeInvoiceId: number | null }> {
    const errors: FieldErrors = {};
    const e2e = input.endToEndId.trim();
    const code = input.reasonCode.trim().toUpperCase();
    if (!e2e) errors.endToEndId = 'sepa.errors.endToEndIdMissing';
    if (!isReturnReason(code)) errors.reasonCode = 'sepa.errors.reasonCode';
    if (!Number.isSafeInteger(input.amountCents) || input.amountCents <= 0) errors.amount = 'common.validation.money';
    if (!validDate(input.bookedOn)) errors.bookedOn = 'sepa.errors.date';
    else if (input.bookedOn > this.today()) errors.bookedOn = 'sepa.errors.future';
    if (input.feeCents !== undefined && (!Number.isSafeInteger(input.feeCents) || input.feeCents < 0)) errors.fee = 'common.validation.money';
    if (Object.keys(errors).length || !isReturnReason(code)) throw new ValidationError(errors);
    await this.settleDue(actor);
    const settings = await this.d.settings.sepa();
    const feeCents = input.feeCents ?? settings.returnFeeCents;
    const now = iso(this.d.clock.now());
    // read before the transaction (SQLite has one connection)
    const treasurers = (await this.d.users.list({ role: 'treasurer' })).filter((u) => !u.disabled).map((u) => ({ email: u.email, locale: u.locale, name: u.displayName }));
    try {
      const out = await this.d.db.transaction(async (trx) => {
        const d = await debitByEndToEndId(trx, e2e);
        if (!d) throw new ValidationError({ endToEndId: 'sepa.errors.unknownDebit' });
        if (d.status === 'returned' || (await returnOfDebit(trx, d.id))) throw new ValidationError({ endToEndId: 'sepa.errors.alreadyReturned' });
        if (d.status === 'cancelled') throw new ValidationError({ endToEndId: 'sepa.errors.debitCancelled' });
        if (input.amountCents > d.amountCents) throw new ValidationError({ amount: 'sepa.errors.moreThanDebit' });
        if (!reasonAllowedFor(code, d.scheme)) throw new ValidationError({ reasonCode: 'sepa.errors.reasonB2b' });
        let reversalId: number | null = null;
        if (d.status === 'collected' && d.paymentId != null) {
          if (input.bookedOn < d.dueDate) throw new ValidationError({ bookedOn: 'sepa.errors.beforeDue' });
          const r = await this.d.payments.reverseInTrx(trx, actor, d.paymentId, { date: input.bookedOn, amountCents: input.amountCents, reason: `Rücklastschrift ${code} ${d.endToEndId}` });
          reversalId = r.reversalId;
        }
        await updateDebit(trx, d.id, { status: 'returned', active_invoice_id: null });
        await this.d.dues.debitEnded(trx, actor, d.invoiceId); // h/bank2: a pay link withdrawn for the debit (not paid out of band yet) is offered again
        const returnId = await insertReturn(trx, {
          debit_id: d.id, reason_code: code, amount_cents: input.amountCents, fee_cents: feeCents, booked_on: input.bookedOn, reversal_payment_id: reversalId, created_by: actor.userId, created_at: now,
        });
        const m = await getMandate(trx, d.mandateId);
        const refusal = RETURN_REASONS[code].refusal;
        if (m) {
          const patch: Parameters<typeof updateMandate>[2] = { updated_at: now };
          if (refusal && !m.revokedAt) { patch.flag_code = code; patch.flagged_at = now; }
          await updateMandate(trx, m.id, patch);
          await this.recomputeMandateUse(trx, m.id, now); // a returned first debit never counted: the next collection is a first one unless another did
          if (refusal) await this.d.audit.record(trx, actor, 'sepa.mandate_flagged', 'organisation', m.organisationId, { mandateId: m.id, flagCode: m.flagCode }, { flagCode: code });
        }
        await this.d.audit.record(trx, actor, 'sepa.debit_returned', 'invoice', d.invoiceId, { status: d.status }, {
          status: 'returned', endToEndId: d.endToEndId, reasonCode: code, amountCents: input.amountCents, feeCents, bookedOn: input.bookedOn, reversalPaymentId: reversalId,
        });
        const inv = await this.d.dues.getInTrx(trx, d.invoiceId);
        // h/fee: the fee charged on to the member (settings), by an invoice issued in this transaction
        // not when the association was asked to recall this debit (paid otherwise) and did not: that fee is its own
        const fee = settings.chargeReturnFee && feeCents > 0 && !d.recallAskedAt ? await chargeReturnFee(this.d, trx, actor, {
          returnId, organisationId: d.organisationId, invoiceId: d.invoiceId, invoiceNumber: inv.number, debitDueDate: d.dueDate, reasonCode: code, feeCents, bookedOn: input.bookedOn, locale: inv.locale === 'en' ? 'en' : 'de',
        }) : null;
        await this.informReturn(trx, inv, d, treasurers, { code, amountCents: input.amountCents, feeCents, refusal, fee });
        if (within) await within(trx, { returnId, invoiceId: d.invoiceId, organisationId: d.organisationId });
        return { returnId, invoiceId: d.invoiceId, mandateFlagged: refusal, feeInvoiceId: fee?.charged ? fee.invoiceId : null };
      });
      await this.d.payments.syncStripeAfterBooking(out.invoiceId); // h/bank2: Stripe cannot reopen a paid invoice: closed, the rest by bank
      if (out.feeInvoiceId) await deliverReturnFee(this.d, out.feeInvoiceId); // h/fee: with Stripe on, pushed and mailed now
      return out;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ValidationError({ endToEndId: 'sepa.errors.alreadyReturned' });
      throw err;
    }
  }

  /**
   * A returned debit as the bank statement reports it: booked as a return (recordReturn), and
   * `within` runs in the same transaction (the bank takes the line out of its queue). A return
   * the treasurer already entered by hand is not booked twice: `within` is given that return.
   * Refused (ValidationError) when no debit has the end-to-end id or the return does not fit it.
   */
  async recordReturnFromStatement(input: ReturnInput, actor: Actor, within: WithinReturn): Promise<{ returnId: number; invoiceId: number; already: boolean }> {
    try {
      const r = await this.recordReturn(input, actor, within);
      return { returnId: r.returnId, invoiceId: r.invoiceId, already: false };
    } catch (err) {
      if (!(err instanceof ValidationError && err.fields.endToEndId === 'sepa.errors.alreadyReturned')) throw err;
      return this.d.db.transaction(async (trx) => {
        const d = await debitByEndToEndId(trx, input.endToEndId.trim());
        const returnId = d ? await returnIdOfDebit(trx, d.id) : null;
        if (!d || returnId == null) throw err;
        await within(trx, { returnId, invoiceId: d.invoiceId, organisationId: d.organisationId });
        return { returnId, invoiceId: d.invoiceId, already: true };
      }).then(async (out) => {
        // h/fee: a fee invoice whose delivery an outage or a crash interrupted goes out now (nothing happens when it went out)
        for (const f of await this.d.dues.itemsInvoicesOf(returnFeeKey(out.returnId))) await deliverReturnFee(this.d, f.invoiceId);
        return out;
      });
    }
  }

  private async informReturn(trx: Knex.Transaction, inv: Invoice, d: Debit, treasurers: { email: string; locale: Locale; name: string }[], x: { code: string; amountCents: number; feeCents: number; refusal: boolean; fee?: ReturnFeeOutcome | null }): Promise<void> {
    const a = await this.d.settings.association(trx);
    const memberLocale: Locale = inv.locale === 'en' ? 'en' : 'de';
    if (inv.contactEmail) {
      const t = tFor(memberLocale);
      await this.d.outbox.enqueue(trx, {
        template: 'sepa_return_member', locale: memberLocale, to: inv.contactEmail, related: { type: 'invoice', id: inv.id },
        content: {
          subject: t('sepa.mail.returnMember.subject', { number: inv.number, association: inv.issuer.name }),
          greeting: greeting(t, inv.contactName),
          paragraphs: [
            t('sepa.mail.returnMember.intro', { number: inv.number, amount: formatMoney(x.amountCents, memberLocale), due: formatDate(d.dueDate, memberLocale), reason: t(`sepa.reasons.${x.code}`) }),
            inv.amountCents - inv.paidCents > 0
              ? t('sepa.mail.returnMember.pay', { open: formatMoney(inv.amountCents - inv.paidCents, memberLocale), number: inv.number })
              : t('sepa.mail.returnMember.nothingOpen', { number: inv.number }), // the debit had been paid otherwise too: nothing to transfer
            ...(x.refusal ? [t('sepa.mail.returnMember.mandate', { reference: d.mandateReference })] : []),
            ...(x.fee?.charged ? [t('sepa.mail.returnMember.fee', { fee: formatMoney(x.feeCents, memberLocale), feeNumber: x.fee.number })] : []), // h/fee
          ],
          signature: inv.issuer.name,
        },
      });
    }
    const to = treasurers.length ? treasurers : [{ email: a.contactEmail, locale: 'de' as Locale, name: '' }];
    for (const r of to) {
      const t = tFor(r.locale);
      await this.d.outbox.enqueue(trx, {
        template: 'sepa_return_treasurer', locale: r.locale, to: r.email, related: { type: 'invoice', id: inv.id },
        content: {
          subject: t('sepa.mail.returnTreasurer.subject', { number: inv.number, code: x.code }),
          greeting: greeting(t, r.name),
          paragraphs: [
            t('sepa.mail.returnTreasurer.intro', { number: inv.number, member: inv.recipient.name, amount: formatMoney(x.amountCents, r.locale), code: x.code, reason: t(`sepa.reasons.${x.code}`), endToEndId: d.endToEndId }),
            ...(x.feeCents > 0 ? [t('sepa.mail.returnTreasurer.fee', { fee: formatMoney(x.feeCents, r.locale) })] : []),
            // h/fee: whether the fee went to the member
            ...(x.fee?.charged ? [t('sepa.mail.returnTreasurer.feeCharged', { feeNumber: x.fee.number })] : []),
            ...(x.fee && !x.fee.charged ? [t('sepa.mail.returnTreasurer.feeNotCharged', { reason: notChargedReason(t, x.fee, r.locale) })] : []),
            ...(x.refusal ? [t('sepa.mail.returnTreasurer.flagged', { reference: d.mandateReference })] : []),
          ],
          signature: a.name,
        },
      });
    }
  }

  // ------------------------------------------------------------------ another payment beside a debit

  /**
   * Money arrived on an invoice that a pending debit collects (a card payment on a Stripe link
   * mailed before the run, a bank transfer, a carried credit): the member must not pay twice.
   * Called by PaymentsService inside the booking's transaction, so the booking and this step
   * stand or fall together.
   * - The debit's file was not downloaded yet (the bank cannot have it): the debit is taken out
   *   of the collection (nothing left to collect) or lowered to what is still open; the member
   *   is told by mail, with the new amount.
   * - The file was downloaded (the bank may collect it): nothing can be changed here; the debit
   *   is flagged, the treasurer is asked (dashboard, run page, mail) to recall it at the bank and
   *   then to confirm the recall here (cancelDebit). Not recalled, the collection is booked on its
   *   due date as an overpayment, which the treasurer refunds (or reverses, recalled too late).
   * A download at the same moment is decided by the database: the take-out only changes a debit
   * whose file is still not downloaded, else the recall is asked.
   */
  async paymentArrived(trx: Knex.Transaction, actor: Actor, invoiceId: number, p: PaymentSeen): Promise<void> {
    const d = await pendingDebitOfInvoice(trx, invoiceId);
    if (!d) return;
    const inv = await this.d.dues.getInTrx(trx, invoiceId);
    const open = inv.openCents;
    if (open >= d.amountCents) return; // the debit still collects no more than is open
    if (!d.fileDownloadedAt) {
      if (open <= 0) {
        if (await this.cancelInTrx(trx, actor, d, 'paid', '', { notDownloaded: true })) return this.informChange(trx, inv, d, 0, 'paid');
      } else if (await updatePendingDebit(trx, d.id, { amount_cents: open }, { notDownloaded: true })) {
        await adjustRun(trx, d.runId, { count: 0, cents: open - d.amountCents });
        await this.d.audit.record(trx, actor, 'sepa.debit_lowered', 'invoice', invoiceId, { amountCents: d.amountCents }, { amountCents: open, endToEndId: d.endToEndId, paymentId: p.paymentId, method: p.method });
        return this.informChange(trx, inv, d, open);
      }
    }
    // the file is (or has just been) downloaded
    const now = await getDebit(trx, d.id);
    if (now?.status === 'pending') await this.askRecall(trx, actor, inv, now, p);
  }

  /**
   * The invoice a pending debit collects is being cancelled (Stornorechnung): nothing may be
   * collected for it. Called by DuesService inside the cancellation's transaction. Before the
   * download the debit is taken out (the member told); after it the cancellation is refused
   * until the treasurer has recalled the debit at the bank and taken it out here, so that no
   * money is collected for an invoice that no longer counts.
   */
  async invoiceCancelled(trx: Knex.Transaction, actor: Actor, invoiceId: number): Promise<void> {
    const d = await pendingDebitOfInvoice(trx, invoiceId);
    if (!d) return;
    if (d.fileDownloadedAt || !(await this.cancelInTrx(trx, actor, d, 'invoice_cancelled', '', { notDownloaded: true }))) {
      throw new ValidationError({ reason: 'sepa.errors.cancelInvoiceDebitSent' });
    }
    await this.informChange(trx, await this.d.dues.getInTrx(trx, invoiceId), d, 0, 'invoice_cancelled');
  }

  /** The debit's file may be at the bank: flagged once, audited, the treasurers told (dashboard, run page, mail). */
  private async askRecall(trx: Knex.Transaction, actor: Actor, inv: Invoice, d: Debit, p: PaymentSeen): Promise<void> {
    if (d.recallAskedAt) return; // asked already
    await updateDebit(trx, d.id, { recall_asked_at: iso(this.d.clock.now()) });
    await this.d.audit.record(trx, actor, 'sepa.debit_recall_asked', 'invoice', inv.id, { status: 'pending' }, {
      why: 'paid', endToEndId: d.endToEndId, debitCents: d.amountCents, openCents: inv.openCents, fileDownloadedAt: d.fileDownloadedAt, ...p,
    });
    await this.informRecall(trx, inv, d, p);
  }

  /**
   * The treasurer takes a pending debit out of its collection: before the file went to the
   * bank, or after recalling it there (the form asks to confirm that). The invoice is free for
   * another collection or a transfer again; the member is told. Audited with the reason.
   */
  async cancelDebit(actor: Actor, debitId: number, input: { reason: string; recalled: boolean; wholeFile?: boolean }): Promise<void> {
    const reason = input.reason.trim();
    const errors: FieldErrors = {};
    if (!reason) errors.reason = 'sepa.errors.cancelReason';
    else if (reason.length > 300) errors.reason = 'sepa.errors.cancelReasonLong';
    const invoiceId = await this.d.db.transaction(async (trx) => {
      const d = await getDebit(trx, debitId);
      if (!d) throw new NotFoundError();
      // collected although a recall was asked: recalled at the bank too late for the due date, the booking is reversed here
      const late = d.status === 'collected' && !!d.recallAskedAt;
      if (d.status !== 'pending' && !late) throw new ValidationError({ reason: 'sepa.errors.notPending' });
      if ((d.fileDownloadedAt || late) && !input.recalled) errors.recalled = 'sepa.errors.recallFirst';
      if (Object.keys(errors).length) throw new ValidationError(errors);
      const why = d.fileDownloadedAt ? 'recalled' : 'withdrawn';
      if (late && d.paymentId != null) {
        await this.d.payments.reverseInTrx(trx, actor, d.paymentId, { date: this.today(), amountCents: d.amountCents, reason: `Lastschrift ${d.endToEndId} bei der Bank zurückgerufen` });
      }
      // not downloaded when read: taken out only if still not downloaded (else the bank may have it: recall first)
      const ok = await this.cancelInTrx(trx, actor, d, why, reason, { notDownloaded: !d.fileDownloadedAt, from: late ? 'collected' : 'pending', wholeFile: !!d.fileDownloadedAt && !!input.wholeFile });
      if (!ok) throw new ValidationError(d.fileDownloadedAt || late ? { reason: 'sepa.errors.notPending' } : { recalled: 'sepa.errors.recallFirst' });
      await this.informChange(trx, await this.d.dues.getInTrx(trx, d.invoiceId), d, 0, why);
      return d.invoiceId;
    });
    await this.d.payments.syncStripeAfterBooking(invoiceId);
  }

  /**
   * Takes a pending debit out of its run (false if it is no longer pending, or, with
   * `notDownloaded`, its file was downloaded meanwhile): status cancelled, the invoice freed, the
   * run's count and sum lowered, the mandate's first and last use as its remaining debits say.
   */
  private async cancelInTrx(trx: Knex.Transaction, actor: Actor, d: Debit, why: CancelWhy, reason: string, opts: { notDownloaded?: boolean; from?: 'pending' | 'collected'; wholeFile?: boolean } = {}): Promise<boolean> {
    const now = iso(this.d.clock.now());
    const patch = { status: 'cancelled' as const, active_invoice_id: null, cancelled_at: now, cancel_reason: reason, ...(opts.wholeFile ? { whole_file_recalled: true } : {}) };
    if (!(await updatePendingDebit(trx, d.id, patch, { notDownloaded: opts.notDownloaded, status: opts.from ?? 'pending' }))) return false;
    const fresh = (await getDebit(trx, d.id))!; // its amount as it is now (a lowering meanwhile)
    await adjustRun(trx, d.runId, { count: -1, cents: -fresh.amountCents });
    await this.recomputeMandateUse(trx, d.mandateId, now);
    await this.d.dues.debitEnded(trx, actor, d.invoiceId);
    await this.d.audit.record(trx, actor, 'sepa.debit_cancelled', 'invoice', d.invoiceId, { status: opts.from ?? 'pending' }, {
      status: 'cancelled', why, reason, endToEndId: d.endToEndId, amountCents: fresh.amountCents, runId: d.runId, fileDownloadedAt: fresh.fileDownloadedAt, wholeFileRecalled: !!opts.wholeFile,
    });
    return true;
  }

  /** A mandate's first and last use as its debits say: "first" again when no collection used it (a returned first debit never counted). */
  private async recomputeMandateUse(trx: Knex.Transaction, mandateId: number, now: string): Promise<void> {
    const uses = await usesOfMandate(trx, mandateId);
    const m = await getMandate(trx, mandateId);
    if (!m) return;
    const firstUsed = uses.some((u) => u.status === 'pending' || u.status === 'collected' || (u.status === 'returned' && u.sequence === 'RCUR'));
    const last = uses.length ? uses.map((u) => u.dueDate).reduce((a, b) => (a > b ? a : b)) : null;
    if (firstUsed !== m.firstUsed || last !== m.lastUsedOn) await updateMandate(trx, m.id, { first_used: firstUsed, last_used_on: last, updated_at: now });
  }

  /** The member's mail: the announced debit is off (newCents 0: why, and what is still open) or lower. */
  private async informChange(trx: Knex.Transaction, inv: Invoice, d: Debit, newCents: number, why: CancelWhy = 'paid'): Promise<void> {
    if (!inv.contactEmail || !d.prenotifiedAt) return; // told of nothing, nothing to correct
    const locale: Locale = inv.locale === 'en' ? 'en' : 'de';
    const t = tFor(locale);
    const args = { number: inv.number, amount: formatMoney(d.amountCents, locale), newAmount: formatMoney(newCents, locale), due: formatDate(d.dueDate, locale), reference: d.mandateReference, open: formatMoney(inv.openCents, locale) };
    const after = why === 'invoice_cancelled' ? 'sepa.mail.cancelled.invoiceCancelled'
      : inv.openCents <= 0 ? 'sepa.mail.cancelled.paid'
        : why === 'expired' ? 'sepa.mail.cancelled.later' : 'sepa.mail.cancelled.stillOpen';
    await this.d.outbox.enqueue(trx, {
      template: 'sepa_debit_changed', locale, to: inv.contactEmail, related: { type: 'invoice', id: inv.id },
      content: {
        subject: t(newCents ? 'sepa.mail.lowered.subject' : 'sepa.mail.cancelled.subject', { number: inv.number, association: inv.issuer.name }),
        greeting: greeting(t, inv.contactName),
        paragraphs: newCents ? [t('sepa.mail.lowered.intro', args)] : [t('sepa.mail.cancelled.intro', args), t(after, args)],
        signature: inv.issuer.name,
      },
    });
  }

  /** The treasurers' mail: the invoice was paid otherwise, and the bank may already have the debit; recall it. */
  private async informRecall(trx: Knex.Transaction, inv: Invoice, d: Debit, p: PaymentSeen): Promise<void> {
    const a = await this.d.settings.association(trx);
    const treasurers = (await this.d.users.list({ role: 'treasurer' }, trx)).filter((u) => !u.disabled).map((u) => ({ email: u.email, locale: u.locale, name: u.displayName }));
    const to = treasurers.length ? treasurers : [{ email: a.contactEmail, locale: 'de' as Locale, name: '' }];
    for (const r of to) {
      const t = tFor(r.locale);
      const args = {
        number: inv.number, member: inv.recipient.name, paid: formatMoney(p.amountCents, r.locale), method: t(`sepa.paidBy.${p.method}`),
        amount: formatMoney(d.amountCents, r.locale), due: formatDate(d.dueDate, r.locale), endToEndId: d.endToEndId, open: formatMoney(inv.openCents, r.locale),
      };
      await this.d.outbox.enqueue(trx, {
        template: 'sepa_debit_recall', locale: r.locale, to: r.email, related: { type: 'invoice', id: inv.id },
        content: {
          subject: t('sepa.mail.recall.subject', { number: inv.number }),
          greeting: greeting(t, r.name),
          paragraphs: [t('sepa.mail.recall.paid', args), t(inv.openCents > 0 ? 'sepa.mail.recall.rest' : 'sepa.mail.recall.nothingOpen', args), t('sepa.mail.recall.todo')],
          signature: a.name,
        },
      });
    }
  }

  async debit(id: number): Promise<Debit> {
    const d = await getDebit(this.d.db, id);
    if (!d) throw new NotFoundError();
    return d;
  }

  // ------------------------------------------------------------------ overviews

  async dashboard(): Promise<{ due: Run[]; returns: ReturnEntry[]; recalls: Debit[] }> {
    return { due: await runsDueFrom(this.d.db, this.today()), returns: await recentReturns(this.d.db, 10), recalls: await debitsToRecall(this.d.db) };
  }

  async recentReturns(): Promise<ReturnEntry[]> {
    return recentReturns(this.d.db, 50);
  }

  /** The member page: mandates, debits and returns of one organisation. */
  async ofOrganisation(organisationId: number): Promise<{ mandates: MandateView[]; debits: Debit[]; returns: ReturnEntry[] }> {
    return { mandates: await this.mandatesOf(organisationId), debits: await debitsOfOrganisation(this.d.db, organisationId), returns: await returnsOfOrganisation(this.d.db, organisationId) };
  }
}
