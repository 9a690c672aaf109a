import type { Knex } from 'knex';
import { berlinDate, iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { DuesService } from '../dues/dues.service.ts';
import type { PaymentsService } from '../dues/payments.service.ts';
import { compactCode, isValidIban } from '../settings/bank.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import {
  allocationsOfLines, bumpProposalGeneration, countOpen, csvMapping, forgetPayerIbanOf, getLine, insertAllocation, insertNewLines, insertStatement, learnPayerIban,
  linesByStatus, linesOfOrganisation, lockProposalState, markAllocationUndone, markLineReturned, moveLine, openCredits, payerIbans, proposalState, recentStatements, replaceProposals, saveCsvMapping,
  setProposalState, setStatementCounts, storedProposals,
  type BankAllocation, type BankLine,
} from './bank.repository.ts';
import { Matcher, split, type Proposal } from './matching.ts';
import { readStatementFile } from './statement-file.ts';
import { decodeText, dedupKeys, headerSignature, readCsvTable, StatementFileError, type CsvMapping, type ParsedStatement } from './statement.ts';

export type { BankLine, BankAllocation, Proposal };

export interface ImportResult {
  statements: number;
  lines: number;
  newLines: number;
  returns: number;
  /** lines matched `sure` right after the import (not booked yet) */
  sure: number;
}

export interface BankServiceDeps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  settings: SettingsService;
  dues: DuesService;
  payments: PaymentsService;
  /**
   * Called after the import has committed, for each NEW line that is a returned direct debit
   * (R-transaction): the SEPA module reopens the invoice, books the return fee and flags the
   * mandate in a transaction of its own (the line is stored whatever happens to it), and calls
   * `handled` inside that transaction with the return it booked: the line leaves the queue as
   * `returned`, linked to the return. The line carries endToEndId, returnReason, isReversal and
   * bankTxCode. Wired in context.ts; unset, or when the return is refused (an unknown debit),
   * the line waits in the queue.
   */
  onReturn?: (line: BankLine, hook: { actor: Actor; handled: (trx: Knex.Transaction, r: { returnId: number; organisationId: number }) => Promise<void> }) => Promise<void>;
  /** test hook: called after each statement's lines are stored, inside the transaction (a crash mid-import) */
  afterStatement?: (index: number) => Promise<void>;
}

/** A field error whose text takes values (the invoice numbers not found). */
export class BankFieldError extends ValidationError {
  constructor(fields: Record<string, string>, public readonly params: Record<string, string>) {
    super(fields);
  }
}

/** Why a line is where it is, for the list: a return with its reason, a debit, a reversal. */
export function lineKind(l: BankLine): 'return' | 'reversal' | 'debit' | 'credit' {
  if (l.isReturn) return 'return';
  if (l.isReversal) return 'reversal';
  return l.amountCents < 0 ? 'debit' : 'credit';
}

/**
 * The association's bank account: statement import (CAMT.053, ZIP, bank CSVs), matching of
 * incoming credits to open invoices, booking through the dues payments (so every rule of a
 * payment by hand applies), "not dues", and undo by counter-booking.
 */
export class BankService {
  constructor(private d: BankServiceDeps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  private async associationIban(): Promise<string> {
    return compactCode((await this.d.settings.association()).iban ?? '');
  }

  /** Reads the file into statements (nothing stored); refuses a file for another account. */
  async read(fileName: string, bytes: Buffer, mapping?: CsvMapping | null): Promise<ParsedStatement[]> {
    const own = await this.associationIban();
    if (!own || !isValidIban(own)) throw new StatementFileError('no_own_iban');
    const statements = await readStatementFile(fileName, bytes, { fallbackIban: own, mapping, mappingFor: (sig) => csvMapping(this.d.db, sig) });
    for (const s of statements) {
      if (s.accountIban !== own) throw new StatementFileError('other_account', { iban: s.accountIban.slice(0, 34) });
      if (s.lines.some((l) => l.currency !== 'EUR')) throw new StatementFileError('currency');
    }
    return statements;
  }

  /** The header of a CSV file and its signature (for the mapping form). */
  async csvHeader(bytes: Buffer): Promise<{ header: string[]; signature: string }> {
    const t = readCsvTable(decodeText(bytes));
    return { header: t.header, signature: headerSignature(t.header) };
  }

  /**
   * Imports a statement file in one transaction (all or nothing): each line once (a line already
   * stored, by this or a concurrent import, is skipped), returns handed to `onReturn`.
   */
  async import(actor: Actor, fileName: string, bytes: Buffer, mapping?: CsvMapping | null): Promise<ImportResult> {
    const statements = await this.read(fileName, bytes, mapping);
    const now = this.now();
    const returned: BankLine[] = [];
    const result = await this.d.db.transaction(async (trx) => {
      const r: ImportResult = { statements: statements.length, lines: 0, newLines: 0, returns: 0, sure: 0 };
      let index = 0;
      for (const st of statements) {
        const keys = dedupKeys(st);
        const statementId = await insertStatement(trx, {
          account_iban: st.accountIban, statement_ref: st.statementRef, format: st.format, file_name: fileName.slice(0, 255), from_date: st.fromDate, to_date: st.toDate,
          line_count: st.lines.length, new_count: 0, imported_by: actor.userId, imported_at: now,
        });
        const ids = await insertNewLines(trx, st.lines.map((l, i) => ({
          statement_id: statementId, dedup_key: keys[i], account_iban: st.accountIban, booking_date: l.bookingDate, value_date: l.valueDate,
          amount_cents: l.amountCents, currency: l.currency, counterparty_name: l.counterpartyName, counterparty_iban: l.counterpartyIban,
          remittance: l.remittance, booking_text: l.bookingText, entry_ref: l.entryRef, end_to_end_id: l.endToEndId, bank_tx_code: l.bankTxCode,
          is_reversal: l.isReversal, is_return: l.isReturn, return_reason: l.returnReason, created_at: now,
        })));
        await setStatementCounts(trx, statementId, st.lines.length, ids.length);
        if (ids.length) await bumpProposalGeneration(trx);
        r.lines += st.lines.length;
        r.newLines += ids.length;
        const returns = st.lines.filter((l) => l.isReturn).length;
        if (returns && ids.length) {
          for (const id of ids) {
            const line = await getLine(trx, id);
            if (line?.isReturn) {
              r.returns++;
              returned.push(line);
            }
          }
        }
        if (this.d.afterStatement) await this.d.afterStatement(index);
        index++;
      }
      if (mapping && statements.some((st) => st.format === 'csv-mapping')) {
        // the columns the treasurer chose are remembered for the next file with this header
        const { signature } = await this.csvHeader(bytes);
        await saveCsvMapping(trx, signature, mapping, now);
        await this.d.audit.record(trx, actor, 'bank.csv_mapping_saved', 'bank_csv_mapping', null, undefined, { signature: signature.slice(0, 12), ...mapping });
      }
      await this.d.audit.record(trx, actor, 'bank.statement_imported', 'bank_statement', null, undefined,
        { fileName: fileName.slice(0, 100), statements: r.statements, lines: r.lines, newLines: r.newLines, returns: r.returns });
      return r;
    });
    for (const line of returned) {
      try {
        if (this.d.onReturn) await this.d.onReturn(line, { actor, handled: (trx, r) => this.returnHandled(trx, actor, line.id, r) });
      } catch {
        // refused (e.g. no debit with this end-to-end id): the line stays in the queue as a return
      }
    }
    // the proposals are computed now and stored: the bank page reads them
    if (result.newLines) result.sure = (await this.refreshProposals()).filter((p) => p.confidence === 'sure').length;
    return result;
  }

  /** The SEPA module booked the return of this line: it leaves the queue, linked to the return; audited. */
  private async returnHandled(trx: Knex.Transaction, actor: Actor, lineId: number, r: { returnId: number; organisationId: number }): Promise<void> {
    if (!(await markLineReturned(trx, lineId, { sepa_return_id: r.returnId, organisation_id: r.organisationId, decided_at: this.now(), decided_by: actor.userId }))) {
      throw new ConflictError('bank_line_decided');
    }
    await bumpProposalGeneration(trx);
    await this.d.audit.record(trx, actor, 'bank.line_returned', 'bank_line', lineId, { status: 'open' }, { status: 'returned', sepaReturnId: r.returnId });
  }

  /** The matching proposal for every open incoming credit, computed from the lines and the open invoices as they are now. */
  private async computeProposals(q: Knex | Knex.Transaction): Promise<Proposal[]> {
    // one after the other: inside a transaction the queries share one connection
    const lines = await openCredits(q);
    const invoices = await this.d.dues.openForMatching(q);
    const ibans = await payerIbans(q);
    const m = new Matcher(invoices, ibans);
    const out: Proposal[] = [];
    for (const l of lines) {
      if (l.isReturn || l.isReversal) continue;
      const p = m.match(l);
      if (p) out.push(p);
    }
    return out;
  }

  /** One open line's proposal as it would be computed now (the confirm button checks against it). */
  private async proposalNow(q: Knex | Knex.Transaction, line: BankLine): Promise<Proposal | null> {
    if (line.status !== 'open' || line.amountCents <= 0 || line.isReturn || line.isReversal) return null;
    const invoices = await this.d.dues.openForMatching(q);
    const ibans = await payerIbans(q);
    return new Matcher(invoices, ibans).match(line);
  }

  /**
   * Computes every open credit's proposal and stores it (after an import and after each
   * decision); two recomputations wait for each other. Returns the proposals.
   */
  async refreshProposals(): Promise<Proposal[]> {
    return this.d.db.transaction(async (trx) => {
      const generation = await lockProposalState(trx);
      const stamp = await this.d.dues.matchingStamp(trx); // read before the invoices: a payment in between makes the stamp old, never the proposals
      const out = await this.computeProposals(trx);
      await replaceProposals(trx, out);
      await setProposalState(trx, { computed_generation: generation, invoices_stamp: stamp, computed_at: this.now() });
      return out;
    });
  }

  /**
   * The matching proposal for every open incoming credit: the stored ones, recomputed first
   * when a line changed since or an open invoice was paid, cancelled or issued meanwhile (so a
   * paid invoice is never proposed).
   */
  async proposals(): Promise<Proposal[]> {
    const state = await proposalState(this.d.db);
    const stamp = await this.d.dues.matchingStamp(this.d.db);
    if (state && state.computed_generation !== null && Number(state.computed_generation) === Number(state.generation) && state.invoices_stamp === stamp) {
      return storedProposals(this.d.db);
    }
    return this.refreshProposals();
  }

  /** After a decision has committed: the proposals are stored anew (should that fail, the next page load recomputes them: the generation moved). */
  private async afterChange(): Promise<void> {
    try {
      await this.refreshProposals();
    } catch {
      // the stored proposals stay marked out of date
    }
  }

  /** The page: open lines with their proposals, and the lines decided lately. */
  async overview(): Promise<{ open: (BankLine & { kind: string; proposal: Proposal | null })[]; booked: (BankLine & { allocations: BankAllocation[] })[]; notDues: BankLine[]; returned: BankLine[]; openCount: number; statements: Awaited<ReturnType<typeof recentStatements>> }> {
    const [open, booked, notDues, returned, proposals, openCount, statements] = await Promise.all([
      linesByStatus(this.d.db, 'open', 300), linesByStatus(this.d.db, 'booked', 100), linesByStatus(this.d.db, 'not_dues', 100), linesByStatus(this.d.db, 'returned', 100),
      this.proposals(), countOpen(this.d.db), recentStatements(this.d.db, 10),
    ]);
    const byLine = new Map(proposals.map((p) => [p.lineId, p]));
    const allocs = await allocationsOfLines(this.d.db, booked.map((l) => l.id));
    const rank = { sure: 0, likely: 1, weak: 2 } as const;
    const openRows = open.map((l) => ({ ...l, kind: lineKind(l), proposal: byLine.get(l.id) ?? null }))
      .sort((a, b) => (a.proposal ? rank[a.proposal.confidence] : 3) - (b.proposal ? rank[b.proposal.confidence] : 3) || b.bookingDate.localeCompare(a.bookingDate));
    return {
      open: openRows, booked: booked.map((l) => ({ ...l, allocations: allocs.filter((a) => a.lineId === l.id) })), notDues, returned, openCount, statements,
    };
  }

  async openCount(): Promise<number> {
    return countOpen(this.d.db);
  }

  async line(id: number): Promise<BankLine & { allocations: BankAllocation[]; kind: string }> {
    const l = await getLine(this.d.db, id);
    if (!l) throw new NotFoundError();
    return { ...l, kind: lineKind(l), allocations: await allocationsOfLines(this.d.db, [id]) };
  }

  /** A proposal's fingerprint, carried by the confirm form: a proposal that changed since the page was shown is not booked. */
  static fingerprint(p: Proposal): string {
    return p.allocations.map((a) => `${a.invoiceId}:${a.amountCents}`).join(',');
  }

  /** Books the line onto invoices through the dues payments, in the caller's transaction. */
  private async book(trx: Knex.Transaction, actor: Actor, line: BankLine, allocations: { invoiceId: number; organisationId: number; amountCents: number }[], how: string): Promise<void> {
    const now = this.now();
    if (!(await moveLine(trx, line.id, 'open', { status: 'booked', organisation_id: allocations[0]?.organisationId ?? null, decided_at: now, decided_by: actor.userId }))) {
      throw new ConflictError('bank_line_decided');
    }
    await bumpProposalGeneration(trx);
    const reference = `Bank ${line.bookingDate}: ${line.remittance || line.counterpartyName}`.slice(0, 300);
    for (const a of allocations) {
      const r = await this.d.payments.recordInTrx(trx, actor, a.invoiceId, { date: line.bookingDate, amountCents: a.amountCents, reference, method: 'bank' });
      await insertAllocation(trx, { line_id: line.id, invoice_id: a.invoiceId, organisation_id: a.organisationId, payment_id: r.paymentId, amount_cents: a.amountCents, created_at: now, created_by: actor.userId });
    }
    const orgs = new Set(allocations.map((a) => a.organisationId));
    if (line.counterpartyIban && orgs.size === 1 && isValidIban(line.counterpartyIban)) await learnPayerIban(trx, line.counterpartyIban, allocations[0].organisationId, line.id, now);
    await this.d.audit.record(trx, actor, 'bank.line_booked', 'bank_line', line.id, { status: 'open' },
      { status: 'booked', how, allocations: allocations.map((a) => ({ invoiceId: a.invoiceId, amountCents: a.amountCents })) });
  }

  /** Confirms one line's proposal as shown (fingerprint); refused when it changed. */
  async confirm(actor: Actor, lineId: number, fingerprint: string): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const line = await getLine(trx, lineId);
      if (!line) throw new NotFoundError();
      if (line.status !== 'open') throw new ConflictError('bank_line_decided');
      const p = await this.proposalNow(trx, line);
      if (!p || BankService.fingerprint(p) !== fingerprint) throw new ConflictError('bank_proposal_changed');
      await this.book(trx, actor, line, p.allocations, `proposal:${p.confidence}`);
    });
    await this.afterChange();
  }

  /** Books every sure proposal, each line in its own transaction; returns how many were booked. */
  async confirmAllSure(actor: Actor): Promise<{ booked: number; failed: number }> {
    const sure = (await this.proposals()).filter((p) => p.confidence === 'sure');
    let booked = 0;
    let failed = 0;
    for (const p of sure) {
      try {
        await this.d.db.transaction(async (trx) => {
          const line = await getLine(trx, p.lineId);
          if (!line || line.status !== 'open') throw new ConflictError('bank_line_decided');
          await this.book(trx, actor, line, p.allocations, 'proposal:sure');
        });
        booked++;
      } catch (err) {
        if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
        failed++;
      }
    }
    if (booked) await this.afterChange();
    return { booked, failed };
  }

  /** Assigns a line by hand to invoices named by number (split oldest first, any rest on the last). */
  async assign(actor: Actor, lineId: number, numbersText: string): Promise<void> {
    const numbers = [...new Set(numbersText.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean))];
    if (!numbers.length) throw new ValidationError({ numbers: 'bank.errors.numbersRequired' });
    if (numbers.length > 20) throw new ValidationError({ numbers: 'bank.errors.numbersTooMany' });
    await this.d.db.transaction(async (trx) => {
      const line = await getLine(trx, lineId);
      if (!line) throw new NotFoundError();
      if (line.status !== 'open') throw new ConflictError('bank_line_decided');
      if (line.amountCents <= 0 || line.isReturn) throw new ValidationError({ numbers: 'bank.errors.notCredit' });
      const open = await this.d.dues.openForMatching(trx);
      const byNumber = new Map(open.map((i) => [i.number, i]));
      const invoices = numbers.map((n) => byNumber.get(n));
      const missing = numbers.filter((_, i) => !invoices[i]);
      if (missing.length) throw new BankFieldError({ numbers: 'bank.errors.numbersUnknown' }, { numbers: missing.join(', ') });
      const s = split(line.amountCents, invoices.filter((x): x is NonNullable<typeof x> => Boolean(x)));
      await this.book(trx, actor, line, s.allocations, 'hand');
    });
    await this.afterChange();
  }

  /** Marks a line as not dues (a note says what it is); audited. */
  async notDues(actor: Actor, lineId: number, note: string): Promise<void> {
    const text = note.trim();
    if (!text) throw new ValidationError({ note: 'bank.errors.noteRequired' });
    if (text.length > 500) throw new ValidationError({ note: 'common.validation.tooLong' });
    await this.d.db.transaction(async (trx) => {
      if (!(await moveLine(trx, lineId, 'open', { status: 'not_dues', note: text, decided_at: this.now(), decided_by: actor.userId }))) {
        if (!(await getLine(trx, lineId))) throw new NotFoundError();
        throw new ConflictError('bank_line_decided');
      }
      await bumpProposalGeneration(trx);
      await this.d.audit.record(trx, actor, 'bank.line_not_dues', 'bank_line', lineId, { status: 'open' }, { status: 'not_dues', note: text });
    });
    await this.afterChange();
  }

  /**
   * Undoes a decision: a booked line gets a counter-booking (reversal) of each of its payments
   * through the dues payments, the IBAN learned from it is forgotten; a "not dues" line simply
   * returns. Either way the line is back in the queue; audited.
   */
  async undo(actor: Actor, lineId: number, reason: string): Promise<void> {
    const why = reason.trim();
    if (!why) throw new ValidationError({ reason: 'bank.errors.reasonRequired' });
    if (why.length > 300) throw new ValidationError({ reason: 'common.validation.tooLong' });
    await this.d.db.transaction(async (trx) => {
      const line = await getLine(trx, lineId);
      if (!line) throw new NotFoundError();
      const now = this.now();
      await bumpProposalGeneration(trx);
      if (line.status === 'not_dues') {
        if (!(await moveLine(trx, lineId, 'not_dues', { status: 'open', note: '', decided_at: null, decided_by: null }))) throw new ConflictError('bank_line_decided');
        await this.d.audit.record(trx, actor, 'bank.line_undone', 'bank_line', lineId, { status: 'not_dues', note: line.note }, { status: 'open', reason: why });
        return;
      }
      if (line.status !== 'booked') throw new ConflictError('bank_line_not_booked');
      if (!(await moveLine(trx, lineId, 'booked', { status: 'open', organisation_id: null, decided_at: null, decided_by: null }))) throw new ConflictError('bank_line_decided');
      const today = berlinDate(this.d.clock.now());
      const allocs = (await allocationsOfLines(trx, [lineId])).filter((a) => !a.undoneAt);
      for (const a of allocs) {
        const r = await this.d.payments.reverseInTrx(trx, actor, a.paymentId, { date: today < line.bookingDate ? line.bookingDate : today, amountCents: a.amountCents, reason: `Bankbuchung aufgehoben: ${why}` });
        await markAllocationUndone(trx, a.id, r.reversalId, now);
      }
      await forgetPayerIbanOf(trx, lineId);
      await this.d.audit.record(trx, actor, 'bank.line_undone', 'bank_line', lineId, { status: 'booked' },
        { status: 'open', reason: why, reversed: allocs.map((a) => ({ invoiceId: a.invoiceId, amountCents: a.amountCents })) });
    });
    await this.afterChange();
  }

  /** The organisation's bank bookings (the board's member page). */
  async forOrganisation(organisationId: number): Promise<(BankLine & { allocations: BankAllocation[] })[]> {
    const lines = await linesOfOrganisation(this.d.db, organisationId);
    const allocs = await allocationsOfLines(this.d.db, lines.map((l) => l.id));
    return lines.map((l) => ({ ...l, allocations: allocs.filter((a) => a.lineId === l.id && a.organisationId === organisationId) }));
  }
}
