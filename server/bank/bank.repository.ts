import type { Knex } from 'knex';
import { affected, bool, insertId } from '../db/knex.ts';
import type { BankAllocationRow, BankLineRow, BankLineStatus, BankProposalStateRow, BankStatementRow } from './bank.tables.ts';
import type { Proposal } from './matching.ts';
import type { CsvMapping } from './statement.ts';

/** Every query on the bank tables (owner: bank): statements, lines, their bookings onto invoices, learned payer IBANs, CSV mappings. */

type Q = Knex | Knex.Transaction;

export interface BankLine {
  id: number;
  statementId: number;
  accountIban: string;
  bookingDate: string;
  valueDate: string | null;
  amountCents: number;
  currency: string;
  counterpartyName: string;
  counterpartyIban: string;
  remittance: string;
  bookingText: string;
  entryRef: string | null;
  endToEndId: string | null;
  bankTxCode: string;
  isReversal: boolean;
  isReturn: boolean;
  returnReason: string | null;
  status: BankLineStatus;
  note: string;
  organisationId: number | null;
  decidedAt: string | null;
  sepaReturnId: number | null;
}

export interface BankAllocation {
  id: number;
  lineId: number;
  invoiceId: number;
  organisationId: number;
  paymentId: number;
  amountCents: number;
  reversalPaymentId: number | null;
  createdAt: string;
  undoneAt: string | null;
}

function rowToLine(r: BankLineRow): BankLine {
  return {
    id: Number(r.id), statementId: Number(r.statement_id), accountIban: r.account_iban, bookingDate: r.booking_date, valueDate: r.value_date,
    amountCents: Number(r.amount_cents), currency: r.currency, counterpartyName: r.counterparty_name, counterpartyIban: r.counterparty_iban,
    remittance: r.remittance, bookingText: r.booking_text, entryRef: r.entry_ref, endToEndId: r.end_to_end_id, bankTxCode: r.bank_tx_code,
    isReversal: bool(r.is_reversal), isReturn: bool(r.is_return), returnReason: r.return_reason, status: r.status, note: r.note,
    organisationId: r.organisation_id == null ? null : Number(r.organisation_id), decidedAt: r.decided_at,
    sepaReturnId: r.sepa_return_id == null ? null : Number(r.sepa_return_id),
  };
}

function rowToAllocation(r: BankAllocationRow): BankAllocation {
  return {
    id: Number(r.id), lineId: Number(r.line_id), invoiceId: Number(r.invoice_id), organisationId: Number(r.organisation_id), paymentId: Number(r.payment_id),
    amountCents: Number(r.amount_cents), reversalPaymentId: r.reversal_payment_id == null ? null : Number(r.reversal_payment_id), createdAt: r.created_at, undoneAt: r.undone_at,
  };
}

export async function insertStatement(q: Q, row: Omit<BankStatementRow, 'id'>): Promise<number> {
  return insertId(q, 'bank_statements', row);
}

export async function setStatementCounts(q: Q, id: number, lineCount: number, newCount: number): Promise<void> {
  await q('bank_statements').where({ id }).update({ line_count: lineCount, new_count: newCount });
}

export type NewLineRow = Omit<BankLineRow, 'id' | 'status' | 'note' | 'organisation_id' | 'decided_at' | 'decided_by' | 'sepa_return_id'>;

/**
 * Inserts the lines whose dedup key is not stored yet (ON CONFLICT DO NOTHING: a line another
 * import stored, even one committing at this moment, is skipped, never doubled) and returns
 * the ids of those inserted.
 */
export async function insertNewLines(q: Q, rows: NewLineRow[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < rows.length; i += 200) {
    const chunk = rows.slice(i, i + 200);
    const out = await q('bank_lines').insert(chunk.map((r) => ({ ...r, status: 'open' as const, note: '' }))).onConflict('dedup_key').ignore().returning('id');
    for (const r of out) ids.push(typeof r === 'object' ? Number((r as { id: number }).id) : Number(r)); // why: PostgreSQL returns { id } rows, SQLite the bare id
  }
  return ids;
}

export async function getLine(q: Q, id: number): Promise<BankLine | undefined> {
  const r = await q('bank_lines').where({ id }).first();
  return r ? rowToLine(r) : undefined;
}

/** Moves a line from one status to another; false when it was not in `from` (someone else decided it). */
export async function moveLine(q: Q, id: number, from: BankLineStatus, patch: { status: BankLineStatus; note?: string; organisation_id?: number | null; decided_at: string | null; decided_by: number | null }): Promise<boolean> {
  return affected(await q('bank_lines').where({ id, status: from }).update(patch)) === 1;
}

/** Marks an open return line as booked by the SEPA module (the return's id); false when it was decided already. */
export async function markLineReturned(q: Q, id: number, patch: { sepa_return_id: number; organisation_id: number; decided_at: string; decided_by: number | null }): Promise<boolean> {
  return affected(await q('bank_lines').where({ id, status: 'open' }).update({ ...patch, status: 'returned' })) === 1;
}

export async function linesByStatus(q: Q, status: BankLineStatus, limit = 500): Promise<BankLine[]> {
  return (await q('bank_lines').where({ status }).orderBy([{ column: 'booking_date', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit)).map(rowToLine);
}

/** The open incoming credits that are not returns (what matching looks at). */
export async function openCredits(q: Q): Promise<BankLine[]> {
  return (await q('bank_lines').where({ status: 'open' }).andWhere('amount_cents', '>', 0).orderBy('id')).map(rowToLine);
}

export async function countOpen(q: Q): Promise<number> {
  const r = await q('bank_lines').where({ status: 'open' }).count({ n: '*' }).first();
  return Number(r?.n ?? 0);
}

export async function countLines(q: Q): Promise<number> {
  const r = await q('bank_lines').count({ n: '*' }).first();
  return Number(r?.n ?? 0);
}

export async function linesOfStatement(q: Q, statementId: number): Promise<BankLine[]> {
  return (await q('bank_lines').where({ statement_id: statementId }).orderBy('id')).map(rowToLine);
}

/** The lines booked (or once booked) onto an organisation's invoices, newest first. */
export async function linesOfOrganisation(q: Q, organisationId: number): Promise<BankLine[]> {
  const ids = q('bank_allocations').where({ organisation_id: organisationId }).select('line_id');
  return (await q('bank_lines').where({ organisation_id: organisationId }).orWhereIn('id', ids)
    .orderBy([{ column: 'booking_date', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(200)).map(rowToLine);
}

export async function insertAllocation(q: Q, row: Omit<BankAllocationRow, 'id' | 'reversal_payment_id' | 'undone_at'>): Promise<number> {
  return insertId(q, 'bank_allocations', { ...row, reversal_payment_id: null, undone_at: null });
}

export async function allocationsOfLines(q: Q, lineIds: number[]): Promise<BankAllocation[]> {
  if (!lineIds.length) return [];
  const out: BankAllocation[] = [];
  for (let i = 0; i < lineIds.length; i += 500) {
    out.push(...(await q('bank_allocations').whereIn('line_id', lineIds.slice(i, i + 500)).orderBy('id')).map(rowToAllocation));
  }
  return out;
}

export async function markAllocationUndone(q: Q, id: number, reversalPaymentId: number, now: string): Promise<void> {
  await q('bank_allocations').where({ id }).update({ reversal_payment_id: reversalPaymentId, undone_at: now });
}

export async function recentStatements(q: Q, limit = 20): Promise<BankStatementRow[]> {
  return q('bank_statements').orderBy('id', 'desc').limit(limit);
}

// ---- payer IBANs ----

export async function payerIbans(q: Q): Promise<Map<string, number>> {
  const rows = await q('bank_payer_ibans').select('iban', 'organisation_id');
  return new Map(rows.map((r) => [r.iban, Number(r.organisation_id)]));
}

/** Remembers the IBAN an organisation paid from (the newest confirmed booking wins). */
export async function learnPayerIban(q: Q, iban: string, organisationId: number, lineId: number, now: string): Promise<void> {
  await q('bank_payer_ibans').insert({ iban, organisation_id: organisationId, source_line_id: lineId, learned_at: now })
    .onConflict('iban').merge(['organisation_id', 'source_line_id', 'learned_at']);
}

/** Forgets an IBAN learned from a line whose booking is undone. */
export async function forgetPayerIbanOf(q: Q, lineId: number): Promise<void> {
  await q('bank_payer_ibans').where({ source_line_id: lineId }).delete();
}

// ---- CSV mappings ----

export async function csvMapping(q: Q, signature: string): Promise<CsvMapping | null> {
  const r = await q('bank_csv_mappings').where({ header_signature: signature }).first();
  if (!r) return null;
  return JSON.parse(r.mapping) as CsvMapping; // why: written only by saveCsvMapping from a validated CsvMapping
}

export async function saveCsvMapping(q: Q, signature: string, mapping: CsvMapping, now: string): Promise<void> {
  await q('bank_csv_mappings').insert({ header_signature: signature, mapping: JSON.stringify(mapping), updated_at: now })
    .onConflict('header_signature').merge(['mapping', 'updated_at']);
}

// ---- stored proposals ----

/** The stored proposals, in line order. */
export async function storedProposals(q: Q): Promise<Proposal[]> {
  const rows = await q('bank_proposals').orderBy('line_id').select('proposal');
  return rows.map((r) => JSON.parse(r.proposal) as Proposal); // why: written only by replaceProposals from a Proposal
}

/** Replaces the stored proposals by these (multi-row inserts of 500). */
export async function replaceProposals(q: Q, proposals: Proposal[]): Promise<void> {
  await q('bank_proposals').delete();
  for (let i = 0; i < proposals.length; i += 500) {
    await q('bank_proposals').insert(proposals.slice(i, i + 500).map((p) => ({ line_id: p.lineId, confidence: p.confidence, proposal: JSON.stringify(p) })));
  }
}

export async function proposalState(q: Q): Promise<BankProposalStateRow | undefined> {
  return q('bank_proposal_state').where({ id: 1 }).first();
}

/** The lines or learned IBANs changed: the stored proposals are out of date (inside the change's transaction). */
export async function bumpProposalGeneration(q: Q): Promise<void> {
  if (!affected(await q('bank_proposal_state').where({ id: 1 }).increment('generation', 1))) {
    await q('bank_proposal_state').insert({ id: 1, generation: 1, computed_generation: null, invoices_stamp: null, computed_at: null }).onConflict('id').ignore();
  }
}

/**
 * Takes the state row for a recomputation (PostgreSQL: locked until the transaction ends, so
 * two recomputations do not write the proposals at once) and returns its generation.
 */
export async function lockProposalState(q: Q): Promise<number> {
  if (!affected(await q('bank_proposal_state').where({ id: 1 }).update({ id: 1 }))) {
    await q('bank_proposal_state').insert({ id: 1, generation: 0, computed_generation: null, invoices_stamp: null, computed_at: null }).onConflict('id').ignore();
  }
  return Number((await proposalState(q))?.generation ?? 0);
}

export async function setProposalState(q: Q, patch: Pick<BankProposalStateRow, 'computed_generation' | 'invoices_stamp' | 'computed_at'>): Promise<void> {
  await q('bank_proposal_state').where({ id: 1 }).update(patch);
}
