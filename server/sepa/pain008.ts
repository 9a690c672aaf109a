import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { LENGTH, sepaId, sepaText } from './rules.ts';
import type { MandateScheme, SequenceType } from './sepa.tables.ts';

/**
 * pain.008 (SEPA direct debit initiation) as the German banks' DFÜ-Abkommen Anlage 3 describes
 * it, in version .001.08 (current) or .001.02 (for banks that still want it). One file holds
 * the debits of one scheme (CORE or B2B), one sequence type and one due date: one PmtInf.
 * Every text is put into the SEPA character set and cut to its length here.
 */

export type PainVersion = '001.08' | '001.02';
export const PAIN_VERSIONS: PainVersion[] = ['001.08', '001.02'];

export interface PainCreditor {
  name: string;
  iban: string;
  bic: string;
  creditorId: string;
}

export interface PainDebit {
  endToEndId: string;
  amountCents: number;
  mandateReference: string;
  mandateSignedOn: string;
  debtorName: string;
  debtorIban: string;
  debtorBic: string;
  remittance: string;
}

export interface PainFile {
  messageId: string;
  createdAt: string; // ISO date-time, no milliseconds
  scheme: MandateScheme;
  sequence: SequenceType;
  dueDate: string;
  creditor: PainCreditor;
  debits: PainDebit[];
}

/** Cents as the decimal the schema wants: 1234 → "12.34". */
export function amount(cents: number): string {
  const s = String(Math.abs(cents)).padStart(3, '0');
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

function agent(parent: XMLBuilder, tag: 'CdtrAgt' | 'DbtrAgt', bic: string, version: PainVersion): void {
  const fin = parent.ele(tag).ele('FinInstnId');
  if (bic) fin.ele(version === '001.08' ? 'BICFI' : 'BIC').txt(bic);
  else fin.ele('Othr').ele('Id').txt('NOTPROVIDED');
}

/** The file's name as the treasurer downloads it. */
export function painFileName(f: { dueDate: string; scheme: MandateScheme; sequence: SequenceType }, version: PainVersion): string {
  return `pain.008.${version}-${f.dueDate}-${f.scheme}-${f.sequence}.xml`;
}

export function buildPain008(f: PainFile, version: PainVersion): string {
  const total = f.debits.reduce((s, d) => s + d.amountCents, 0);
  const ns = `urn:iso:std:iso:20022:tech:xsd:pain.008.${version}`;
  const doc = create({ version: '1.0', encoding: 'UTF-8' })
    .ele(ns, 'Document', { 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', 'xsi:schemaLocation': `${ns} pain.008.${version}.xsd` });
  const root = doc.ele('CstmrDrctDbtInitn');
  const creditorName = sepaText(f.creditor.name, LENGTH.name);
  const gh = root.ele('GrpHdr');
  gh.ele('MsgId').txt(sepaId(f.messageId));
  gh.ele('CreDtTm').txt(f.createdAt);
  gh.ele('NbOfTxs').txt(String(f.debits.length));
  gh.ele('CtrlSum').txt(amount(total));
  gh.ele('InitgPty').ele('Nm').txt(creditorName);

  const pi = root.ele('PmtInf');
  pi.ele('PmtInfId').txt(sepaId(`${f.messageId}-${f.sequence}`));
  pi.ele('PmtMtd').txt('DD');
  pi.ele('BtchBookg').txt('true');
  pi.ele('NbOfTxs').txt(String(f.debits.length));
  pi.ele('CtrlSum').txt(amount(total));
  const tp = pi.ele('PmtTpInf');
  tp.ele('SvcLvl').ele('Cd').txt('SEPA');
  tp.ele('LclInstrm').ele('Cd').txt(f.scheme);
  tp.ele('SeqTp').txt(f.sequence);
  pi.ele('ReqdColltnDt').txt(f.dueDate);
  pi.ele('Cdtr').ele('Nm').txt(creditorName);
  pi.ele('CdtrAcct').ele('Id').ele('IBAN').txt(f.creditor.iban);
  agent(pi, 'CdtrAgt', f.creditor.bic, version);
  pi.ele('ChrgBr').txt('SLEV');
  const schme = pi.ele('CdtrSchmeId').ele('Id').ele('PrvtId').ele('Othr');
  schme.ele('Id').txt(f.creditor.creditorId);
  schme.ele('SchmeNm').ele('Prtry').txt('SEPA');

  for (const d of f.debits) {
    const tx = pi.ele('DrctDbtTxInf');
    tx.ele('PmtId').ele('EndToEndId').txt(sepaId(d.endToEndId));
    tx.ele('InstdAmt', { Ccy: 'EUR' }).txt(amount(d.amountCents));
    const m = tx.ele('DrctDbtTx').ele('MndtRltdInf');
    m.ele('MndtId').txt(sepaId(d.mandateReference));
    m.ele('DtOfSgntr').txt(d.mandateSignedOn);
    agent(tx, 'DbtrAgt', d.debtorBic, version);
    tx.ele('Dbtr').ele('Nm').txt(sepaText(d.debtorName, LENGTH.name));
    tx.ele('DbtrAcct').ele('Id').ele('IBAN').txt(d.debtorIban);
    tx.ele('RmtInf').ele('Ustrd').txt(sepaText(d.remittance, LENGTH.remittance));
  }
  return doc.end({ prettyPrint: true });
}
