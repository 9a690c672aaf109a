/**
 * Matching incoming credits to open invoices (pure: no database). In this order:
 * 1. invoice numbers in the remittance text, also written loosely (`2027 0012`, `RE2027-12`,
 *    `20270012`, several in one text), and one digit off when the amount then fits exactly;
 * 2. the payer's IBAN, learned from an earlier confirmed booking, plus the amount;
 * 3. the amount and the similarity of the payer's name to the invoice's recipient.
 * Each proposal says why (reason keys with values) and how sure: `sure` is booked by "confirm
 * all", `likely` and `weak` wait for the treasurer.
 */

export interface OpenInvoice {
  id: number;
  number: string; // 2027-0012
  organisationId: number;
  recipientName: string;
  openCents: number;
  dueDate: string;
}

export interface CreditLine {
  id: number;
  amountCents: number;
  counterpartyName: string;
  counterpartyIban: string;
  remittance: string;
}

export type Confidence = 'sure' | 'likely' | 'weak';

export interface Allocation { invoiceId: number; number: string; organisationId: number; amountCents: number; openCents: number }

export interface Proposal {
  lineId: number;
  confidence: Confidence;
  /** locale keys under bank.reasons with their values */
  reasons: { key: string; values: Record<string, string | number> }[];
  allocations: Allocation[];
  /** paid beyond the invoices' open sum (booked on the last invoice as overpayment) */
  overCents: number;
  /** left open on the invoices (a partial payment) */
  shortCents: number;
}

/** Splits an amount over invoices (oldest due first): each gets at most its open amount, the last takes any rest. */
export function split(amountCents: number, invoices: OpenInvoice[]): { allocations: Allocation[]; overCents: number; shortCents: number } {
  const sorted = [...invoices].sort((a, b) => (a.dueDate + a.number).localeCompare(b.dueDate + b.number));
  const allocations: Allocation[] = [];
  let rest = amountCents;
  for (const inv of sorted) {
    if (rest <= 0) break;
    const cents = Math.min(rest, inv.openCents);
    if (cents > 0) allocations.push({ invoiceId: inv.id, number: inv.number, organisationId: inv.organisationId, amountCents: cents, openCents: inv.openCents });
    rest -= cents;
  }
  if (rest > 0 && allocations.length) allocations[allocations.length - 1].amountCents += rest;
  else if (rest > 0 && sorted.length) {
    const inv = sorted[sorted.length - 1];
    allocations.push({ invoiceId: inv.id, number: inv.number, organisationId: inv.organisationId, amountCents: rest, openCents: inv.openCents });
  }
  const open = sorted.reduce((s, i) => s + i.openCents, 0);
  return { allocations, overCents: Math.max(0, amountCents - open), shortCents: Math.max(0, open - amountCents) };
}

/**
 * The invoice numbers a remittance text may mean, normalised to `YYYY-NNNN`: a year 2000–2099
 * followed (after optional separators, spaces or an RE/RG/Rechnung prefix before it) by 1–6
 * digits. Returns every reading; the caller keeps those that exist.
 */
export function numberCandidates(text: string): string[] {
  const t = text.toUpperCase().replace(/[Oo](?=\d)/g, '0');
  const out = new Set<string>();
  const re = /(?<![0-9])(20\d{2})\s*[-/._ ]?\s*(?:NR\.?\s*)?(\d{1,6})(?![0-9])/g;
  for (const m of t.matchAll(re)) {
    const n = m[2].replace(/^0+(?=\d)/, '');
    if (n.length <= 4) out.add(`${m[1]}-${n.padStart(4, '0')}`);
    else out.add(`${m[1]}-${n}`);
  }
  return [...out];
}

const LEGAL = /\b(gmbh|mbh|ag|kg|ohg|gbr|ug|e\.?\s?v\.?|e\.?\s?k\.?|co|se|kgaa|haftungsbeschraenkt|und|the|ltd|inc|plc)\b/g;

/** The words of a name for comparing: lower case, umlauts written out, legal forms and punctuation dropped. */
export function nameTokens(name: string): Set<string> {
  const n = name.toLowerCase().replace(/ä/g, 'ae').replace(/ö/g, 'oe').replace(/ü/g, 'ue').replace(/ß/g, 'ss')
    .normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(LEGAL, ' ').replace(/[^a-z0-9]+/g, ' ');
  return new Set(n.split(' ').filter((w) => w.length >= 2));
}

/** Share of common words (Jaccard), 0 … 1. */
export function nameSimilarity(a: string | Set<string>, b: string | Set<string>): number {
  const x = typeof a === 'string' ? nameTokens(a) : a;
  const y = typeof b === 'string' ? nameTokens(b) : b;
  if (!x.size || !y.size) return 0;
  let common = 0;
  for (const w of x) if (y.has(w)) common++;
  return common / (x.size + y.size - common);
}

function oneDigitOff(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
  if (diff === 1) return true;
  // two neighbouring digits swapped
  for (let i = 0; i + 1 < a.length; i++) {
    if (a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(0, i) === b.slice(0, i) && a.slice(i + 2) === b.slice(i + 2)) return true;
  }
  return false;
}

/** Prepared lookups over the open invoices, built once for many lines. */
export class Matcher {
  private byNumber = new Map<string, OpenInvoice>();
  private byAmount = new Map<number, OpenInvoice[]>();
  private byOrg = new Map<number, OpenInvoice[]>();
  private byYear = new Map<string, OpenInvoice[]>();
  /** each recipient's name words, computed once */
  private tokens = new Map<number, Set<string>>();

  constructor(invoices: OpenInvoice[], private payerIbans: Map<string, number>) {
    for (const inv of invoices) {
      this.byNumber.set(inv.number, inv);
      const a = this.byAmount.get(inv.openCents) ?? [];
      a.push(inv);
      this.byAmount.set(inv.openCents, a);
      const o = this.byOrg.get(inv.organisationId) ?? [];
      o.push(inv);
      this.byOrg.set(inv.organisationId, o);
      const y = this.byYear.get(inv.number.slice(0, 4)) ?? [];
      y.push(inv);
      this.byYear.set(inv.number.slice(0, 4), y);
    }
  }

  private proposal(line: CreditLine, invoices: OpenInvoice[], confidence: Confidence, reasons: Proposal['reasons']): Proposal {
    const s = split(line.amountCents, invoices);
    const amountFits = s.overCents === 0 && s.shortCents === 0;
    if (invoices.length > 1) reasons.push({ key: 'combined', values: { count: invoices.length } });
    if (s.shortCents > 0) reasons.push({ key: 'partial', values: { cents: s.shortCents } });
    if (s.overCents > 0) reasons.push({ key: 'over', values: { cents: s.overCents } });
    if (amountFits) reasons.push({ key: 'amountFits', values: {} });
    return { lineId: line.id, confidence, reasons, ...s };
  }

  match(line: CreditLine): Proposal | null {
    if (line.amountCents <= 0) return null;
    // 1. invoice numbers in the text
    const candidates = numberCandidates(`${line.remittance}`);
    const found = [...new Set(candidates.map((c) => this.byNumber.get(c)).filter((x): x is OpenInvoice => Boolean(x)))];
    if (found.length) {
      const numbers = found.map((i) => i.number).join(', ');
      const open = found.reduce((s, i) => s + i.openCents, 0);
      // the amount fitting makes it sure; a partial or overpayment by the numbers named is likely (the treasurer looks at it)
      return this.proposal(line, found, open === line.amountCents ? 'sure' : 'likely', [{ key: 'number', values: { numbers } }]);
    }
    // 1b. a number one digit off, when the amount fits that invoice exactly
    for (const c of candidates) {
      const near = (this.byYear.get(c.slice(0, 4)) ?? []).filter((i) => oneDigitOff(i.number, c) && i.openCents === line.amountCents);
      if (near.length === 1) return this.proposal(line, near, 'likely', [{ key: 'numberNear', values: { written: c, number: near[0].number } }]);
    }
    // 2. the payer's IBAN known for a member
    const org = line.counterpartyIban ? this.payerIbans.get(line.counterpartyIban) : undefined;
    if (org !== undefined) {
      const invs = this.byOrg.get(org) ?? [];
      if (invs.length) {
        const exact = invs.filter((i) => i.openCents === line.amountCents);
        if (exact.length === 1) return this.proposal(line, exact, 'sure', [{ key: 'iban', values: { name: exact[0].recipientName } }]);
        const sum = invs.reduce((s, i) => s + i.openCents, 0);
        if (sum === line.amountCents) return this.proposal(line, invs, 'sure', [{ key: 'iban', values: { name: invs[0].recipientName } }]);
        return this.proposal(line, exact.length ? [exact[0]] : invs, 'likely', [{ key: 'iban', values: { name: invs[0].recipientName } }]);
      }
    }
    // 3. amount and name
    const same = this.byAmount.get(line.amountCents) ?? [];
    let best: OpenInvoice | null = null;
    let bestScore = 0;
    const payer = same.length ? nameTokens(line.counterpartyName) : new Set<string>();
    for (const inv of same) {
      let t = this.tokens.get(inv.id);
      if (!t) { t = nameTokens(inv.recipientName); this.tokens.set(inv.id, t); }
      const s = nameSimilarity(payer, t);
      if (s > bestScore) { best = inv; bestScore = s; }
    }
    if (best && bestScore >= 0.5) {
      return this.proposal(line, [best], bestScore >= 0.8 ? 'likely' : 'weak', [{ key: 'name', values: { name: best.recipientName, percent: Math.round(bestScore * 100) } }]);
    }
    return null;
  }
}
