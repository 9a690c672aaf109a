import type { TestEnv } from '../helpers/context.ts';
import { bankSetup, OWN } from './bank.fixtures.ts';

const actor = { userId: null, label: 'test' };
export const CREDITOR_ID = 'DE98ZZZ09999999999';

/**
 * bankSetup's association and six members with their 2027 invoices, plus the creditor ID and
 * an active CORE mandate for Harzer and Okertal (h/bank2: the tests of debits in the bank,
 * reminders and Stripe).
 */
export async function debitSetup(env: TestEnv): Promise<{ org: Record<string, number>; inv: Record<string, number>; mandate: Record<string, number> }> {
  const { org, inv } = await bankSetup(env);
  await env.ctx.settings.updateAssociation(actor, { ...(await env.ctx.settings.association()), sepaCreditorId: CREDITOR_ID });
  const mandate: Record<string, number> = {};
  mandate.harzer = await env.ctx.sepa.createMandate(actor, org.harzer, 'paper', { scheme: 'CORE', iban: 'DE12500105170648489890', bic: '', holder: 'Harzer Spezialchemie GmbH', signedOn: '2027-02-01' });
  mandate.okertal = await env.ctx.sepa.createMandate(actor, org.okertal, 'paper', { scheme: 'CORE', iban: 'DE02120300000000202051', bic: '', holder: 'Okertal Pigmente GmbH', signedOn: '2027-02-01' });
  return { org, inv, mandate };
}

/**
 * A run collecting the given invoices on the earliest due date possible today, its files
 * downloaded for the bank (unless `download: false`); returns the run and its debits by invoice id.
 */
export async function collect(env: TestEnv, invoiceIds: number[], opts: { download?: boolean } = {}): Promise<{ runId: number; dueDate: string; e2e: Map<number, { endToEndId: string; amountCents: number }> }> {
  const dueDate = await env.ctx.sepa.earliestDueDate();
  const { runId } = await env.ctx.sepa.createRun(actor, { dueDate, invoiceIds });
  if (opts.download !== false) for (const f of (await env.ctx.sepa.run(runId)).files) await env.ctx.sepa.file(actor, runId, f.scheme, f.sequence, '001.08');
  const { debits } = await env.ctx.sepa.run(runId);
  return { runId, dueDate, e2e: new Map(debits.map((d) => [d.invoiceId, { endToEndId: d.endToEndId, amountCents: d.amountCents }])) };
}

const money = (cents: number) => (Math.abs(cents) / 100).toFixed(2);

/** A CAMT.053 .001.02 statement of the association's account with the given bookings (returns carry RtrInf with the reason). */
export function camt(id: string, date: string, entries: { ref: string; amountCents: number; name: string; iban: string; text: string; endToEndId?: string; returnReason?: string }[]): Buffer {
  const ntry = entries.map((e) => `
      <Ntry>
        <Amt Ccy="EUR">${money(e.amountCents)}</Amt>
        <CdtDbtInd>${e.amountCents < 0 ? 'DBIT' : 'CRDT'}</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>${date}</Dt></BookgDt>
        <ValDt><Dt>${date}</Dt></ValDt>
        <AcctSvcrRef>${e.ref}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>${e.returnReason ? 'IDDT' : 'RCDT'}</Cd><SubFmlyCd>${e.returnReason ? 'UPDD' : 'ESCT'}</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>${e.endToEndId ?? 'NOTPROVIDED'}</EndToEndId></Refs>
            <RltdPties>
              <Dbtr><Nm>${e.name}</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>${e.iban}</IBAN></Id></DbtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>${e.text}</Ustrd></RmtInf>${e.returnReason ? `
            <RtrInf><Rsn><Cd>${e.returnReason}</Cd></Rsn></RtrInf>` : ''}
          </TxDtls>
        </NtryDtls>
        <AddtlNtryInf>${e.returnReason ? 'RUECKLASTSCHRIFT' : 'GUTSCHR. UEBERWEISUNG'}</AddtlNtryInf>
      </Ntry>`).join('');
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>CAMT053-${id}</MsgId><CreDtTm>${date}T04:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>${id}</Id>
      <CreDtTm>${date}T04:00:00+01:00</CreDtTm>
      <FrToDt><FrDtTm>${date}T00:00:00+01:00</FrDtTm><ToDtTm>${date}T23:59:59+01:00</ToDtTm></FrToDt>
      <Acct><Id><IBAN>${OWN}</IBAN></Id><Ccy>EUR</Ccy></Acct>${ntry}
    </Stmt>
  </BkToCstmrStmt>
</Document>
`, 'utf8');
}
