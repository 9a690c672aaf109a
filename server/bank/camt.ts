import { XMLParser } from 'fast-xml-parser';
import { StatementFileError, type ParsedLine, type ParsedStatement } from './statement.ts';

/**
 * CAMT.053 (ISO 20022 bank to customer statement), versions .001.02 and .001.08 as the German
 * banks deliver them (DFÜ-Abkommen Anlage 3). Entity processing is off and a document with a
 * DOCTYPE or ENTITY declaration is refused before parsing, so neither external entities (XXE)
 * nor entity expansion (billion laughs) can happen.
 */

const SUPPORTED = ['camt.053.001.02', 'camt.053.001.08'] as const;

type Node = Record<string, unknown>;

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The child at a path of element names (first of each array), or undefined. */
function at(n: unknown, ...path: string[]): unknown {
  let cur: unknown = n;
  for (const p of path) {
    if (Array.isArray(cur)) cur = cur[0];
    if (!isNode(cur)) return undefined;
    cur = cur[p];
  }
  return Array.isArray(cur) ? cur[0] : cur;
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The five predefined XML entities and character references, decoded once (no entity of the document is ever expanded). */
export function decodeXmlText(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (whole, e: string) => {
    if (e[0] !== '#') return PREDEFINED[e];
    const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
  });
}

/** The text of an element (a plain value, or the #text of one with attributes). */
function text(n: unknown, ...path: string[]): string {
  const v = at(n, ...path);
  if (v === undefined || v === null) return '';
  if (isNode(v)) return typeof v['#text'] === 'string' || typeof v['#text'] === 'number' ? decodeXmlText(String(v['#text'])).trim() : '';
  return decodeXmlText(String(v)).trim();
}

function list(n: unknown, ...path: string[]): unknown[] {
  let cur: unknown = n;
  for (let i = 0; i < path.length; i++) {
    if (Array.isArray(cur)) cur = cur[0];
    if (!isNode(cur)) return [];
    cur = cur[path[i]];
  }
  if (cur === undefined || cur === null) return [];
  return Array.isArray(cur) ? cur : [cur];
}

/** '1234.5' → 123450 cents; refuses anything that is not a decimal amount with at most two places. */
export function decimalToCents(s: string): number {
  const m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(s.trim());
  if (!m) throw new StatementFileError('bad_amount', { value: s.slice(0, 30) });
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

function dateOf(n: unknown): string {
  const d = text(n, 'Dt') || text(n, 'DtTm');
  return /^\d{4}-\d{2}-\d{2}/.test(d) ? d.slice(0, 10) : '';
}

export function refuseEntities(xml: string): void {
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) throw new StatementFileError('xml_entities');
}

const ARRAYS = new Set(['Stmt', 'Ntry', 'NtryDtls', 'TxDtls', 'Ustrd', 'Bal']);

/** The statements of a CAMT.053 document (one document may hold several). */
export function parseCamt(xml: string): ParsedStatement[] {
  refuseEntities(xml);
  const parser = new XMLParser({
    ignoreAttributes: false, attributeNamePrefix: '@', removeNSPrefix: true, processEntities: false, htmlEntities: false,
    parseTagValue: false, parseAttributeValue: false, trimValues: true,
    isArray: (name) => ARRAYS.has(name),
  });
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch {
    throw new StatementFileError('not_camt');
  }
  const root = at(doc, 'Document');
  if (!isNode(root)) throw new StatementFileError('not_camt');
  // the namespace names the version (removeNSPrefix drops xmlns attributes from the tree)
  const ns = /<(?:[\w-]+:)?Document\b[^>]*?\sxmlns(?::[\w-]+)?\s*=\s*["']([^"']+)["']/.exec(xml)?.[1] ?? '';
  const version = SUPPORTED.find((v) => ns.endsWith(v));
  if (!version) throw new StatementFileError(/camt\.05[234]/.test(ns) ? 'camt_version' : 'not_camt', { ns: ns.slice(0, 80) });
  const stmts = list(root, 'BkToCstmrStmt', 'Stmt');
  if (!stmts.length) throw new StatementFileError('not_camt');
  return stmts.map((s) => statementOf(s, version));
}

function statementOf(s: unknown, format: string): ParsedStatement {
  const iban = text(s, 'Acct', 'Id', 'IBAN').replace(/\s+/g, '').toUpperCase();
  if (!iban) throw new StatementFileError('no_account');
  const lines: ParsedLine[] = [];
  for (const e of list(s, 'Ntry')) {
    const credit = text(e, 'CdtDbtInd') === 'CRDT';
    const reversal = text(e, 'RvslInd') === 'true';
    const bookingDate = dateOf(at(e, 'BookgDt'));
    if (!bookingDate) throw new StatementFileError('bad_date');
    const valueDate = dateOf(at(e, 'ValDt')) || null;
    const currency = text(e, 'Amt', '@Ccy') || 'EUR';
    const entryRef = text(e, 'AcctSvcrRef') || text(e, 'NtryRef') || null;
    const code = [text(e, 'BkTxCd', 'Domn', 'Cd'), text(e, 'BkTxCd', 'Domn', 'Fmly', 'Cd'), text(e, 'BkTxCd', 'Domn', 'Fmly', 'SubFmlyCd')].filter(Boolean).join('/');
    const prtry = text(e, 'BkTxCd', 'Prtry', 'Cd');
    const bankTxCode = [code, prtry].filter(Boolean).join(' ');
    const bookingText = text(e, 'AddtlNtryInf');
    const details = list(e, 'NtryDtls').flatMap((d) => list(d, 'TxDtls'));
    const entryCents = decimalToCents(text(e, 'Amt'));
    const parts = details.length ? details : [undefined];
    parts.forEach((tx, i) => {
      // a batch booking (Sammelbuchung) lists each transfer with its own amount
      const txAmt = tx ? text(tx, 'AmtDtls', 'TxAmt', 'Amt') || text(tx, 'Amt') : '';
      const cents = parts.length > 1 && txAmt ? decimalToCents(txAmt) : entryCents;
      const txCredit = tx && text(tx, 'CdtDbtInd') ? text(tx, 'CdtDbtInd') === 'CRDT' : credit;
      // the other party: the debtor of a credit, the creditor of a debit; a returned debit names the debtor of the original debit
      const parties = txCredit ? ['Dbtr', 'Cdtr'] : ['Cdtr', 'Dbtr'];
      // .001.02: RltdPties/Dbtr/Nm; .001.08: RltdPties/Dbtr/Pty/Nm
      const nameOf = (p: string) => text(tx, 'RltdPties', p, 'Nm') || text(tx, 'RltdPties', p, 'Pty', 'Nm') || text(tx, 'RltdPties', `Ultmt${p}`, 'Nm') || text(tx, 'RltdPties', `Ultmt${p}`, 'Pty', 'Nm');
      const ibanOf = (p: string) => text(tx, 'RltdPties', `${p}Acct`, 'Id', 'IBAN').replace(/\s+/g, '').toUpperCase();
      const party = nameOf(parties[0]) || ibanOf(parties[0]) ? parties[0] : parties[1];
      const name = nameOf(party);
      const cpIban = ibanOf(party);
      const remittance = list(tx, 'RmtInf', 'Ustrd').map((u) => (isNode(u) ? text(u, '#text') : decodeXmlText(String(u))).trim()).filter(Boolean).join(' ')
        || text(tx, 'RmtInf', 'Strd', 'CdtrRefInf', 'Ref');
      const txRef = text(tx, 'Refs', 'AcctSvcrRef');
      const returnReason = text(tx, 'RtrInf', 'Rsn', 'Cd') || text(tx, 'RtrInf', 'Rsn', 'Prtry') || null;
      const sub = text(e, 'BkTxCd', 'Domn', 'Fmly', 'SubFmlyCd');
      const txPrtry = text(tx, 'BkTxCd', 'Prtry', 'Cd') || prtry;
      // a returned debit: return information, an ISO "unpaid/reversal" sub-family, or the German GVC 109 (Rücklastschrift) / 159 (Rückscheck)
      const isReturn = Boolean(returnReason) || ['UPDD', 'RRTN', 'RPCR'].includes(sub) || /^N[A-Z]{3}\+(108|109|159)\b/.test(txPrtry);
      const ref = txRef || (entryRef ? (parts.length > 1 ? `${entryRef}/${i + 1}` : entryRef) : null);
      lines.push({
        bookingDate, valueDate, amountCents: txCredit ? cents : -cents, currency,
        counterpartyName: name.slice(0, 200), counterpartyIban: cpIban.slice(0, 34), remittance: remittance.slice(0, 1000), bookingText: bookingText.slice(0, 200),
        entryRef: ref, endToEndId: text(tx, 'Refs', 'EndToEndId') || null, bankTxCode: bankTxCode.slice(0, 60),
        isReversal: reversal, isReturn, returnReason,
      });
    });
  }
  const dates = lines.map((l) => l.bookingDate).sort();
  return {
    accountIban: iban, statementRef: text(s, 'Id').slice(0, 140), format,
    fromDate: text(s, 'FrToDt', 'FrDtTm').slice(0, 10) || dates[0] || null,
    toDate: text(s, 'FrToDt', 'ToDtTm').slice(0, 10) || dates[dates.length - 1] || null,
    lines,
  };
}
