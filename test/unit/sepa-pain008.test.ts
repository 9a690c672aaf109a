import { expect } from 'chai';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { amount, buildPain008, painFileName, type PainFile } from '../../server/sepa/pain008.ts';
import { SEPA_ALLOWED } from '../../server/sepa/rules.ts';

type Node = Record<string, unknown>;
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, isArray: (name) => name === 'DrctDbtTxInf' || name === 'PmtInf' });
const parse = (xml: string) => parser.parse(xml) as { Document: Node & { CstmrDrctDbtInitn: { GrpHdr: Node; PmtInf: Node[] } } };
const at = (n: unknown, path: string): unknown => path.split('.').reduce<unknown>((x, k) => (x as Node | undefined)?.[k], n);

const file: PainFile = {
  messageId: 'CNH-7-20270310090000-CF',
  createdAt: '2027-03-10T09:00:00',
  scheme: 'CORE',
  sequence: 'FRST',
  dueDate: '2027-03-24',
  creditor: { name: 'ChemieNetzwerk Harz e.V. – Geschäftsstelle Clausthal-Zellerfeld', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', creditorId: 'DE98ZZZ09999999999' },
  debits: [
    { endToEndId: 'D7-2027-0001', amountCents: 250000, mandateReference: 'M00001-1', mandateSignedOn: '2026-11-02', debtorName: 'Müller & Söhne Spezialchemie GmbH', debtorIban: 'DE02120300000000202051', debtorBic: 'BYLADEM1001', remittance: 'Mitgliedsbeitrag 2027 Rechnung 2027-0001 Mitgliedsnr. 1' },
    { endToEndId: 'D7-2027-0002', amountCents: 120050, mandateReference: 'M00002-2', mandateSignedOn: '2027-01-15', debtorName: 'Łódź Pigments Sp. z o.o. ' + 'x'.repeat(80), debtorIban: 'AT611904300234573201', debtorBic: '', remittance: 'R'.repeat(200) },
    { endToEndId: 'D7-2027-0003', amountCents: 5, mandateReference: 'M00003-3', mandateSignedOn: '2027-02-01', debtorName: 'Ötztal Labor KG', debtorIban: 'DE89370400440532013000', debtorBic: '', remittance: 'Beitrag' },
  ],
};

describe('pain.008 file', () => {
  it('writes amounts as decimals with two places', () => {
    expect(amount(250000)).to.equal('2500.00');
    expect(amount(5)).to.equal('0.05');
    expect(amount(120050)).to.equal('1200.50');
  });

  for (const version of ['001.08', '001.02'] as const) {
    describe(`version ${version}`, () => {
      const xml = buildPain008(file, version);
      const doc = parse(xml);
      const root = doc.Document.CstmrDrctDbtInitn;

      it('has the ISO 20022 namespace of its version and a UTF-8 declaration', () => {
        expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).to.equal(true);
        expect(XMLValidator.validate(xml)).to.equal(true); // well-formed
        expect(doc.Document['@xmlns']).to.equal(`urn:iso:std:iso:20022:tech:xsd:pain.008.${version}`);
      });

      it('group header: message id, creation time, number of transactions and control sum, initiating party', () => {
        expect(at(root, 'GrpHdr.MsgId')).to.equal('CNH-7-20270310090000-CF');
        expect(at(root, 'GrpHdr.CreDtTm')).to.equal('2027-03-10T09:00:00');
        expect(at(root, 'GrpHdr.NbOfTxs')).to.equal('3');
        expect(at(root, 'GrpHdr.CtrlSum')).to.equal('3700.55');
        expect(at(root, 'GrpHdr.InitgPty.Nm')).to.equal('ChemieNetzwerk Harz e.V. Geschaeftsstelle Clausthal-Zellerfeld');
        expect(Object.keys(root.GrpHdr)).to.deep.equal(['MsgId', 'CreDtTm', 'NbOfTxs', 'CtrlSum', 'InitgPty']);
      });

      it('one payment information block: DD, its own count and sum, SEPA, CORE, FRST, the due date, creditor, SLEV and the creditor id', () => {
        expect(root.PmtInf).to.have.length(1);
        const p = root.PmtInf[0];
        expect(Object.keys(p)).to.deep.equal(['PmtInfId', 'PmtMtd', 'BtchBookg', 'NbOfTxs', 'CtrlSum', 'PmtTpInf', 'ReqdColltnDt', 'Cdtr', 'CdtrAcct', 'CdtrAgt', 'ChrgBr', 'CdtrSchmeId', 'DrctDbtTxInf']);
        expect(at(p, 'PmtMtd')).to.equal('DD');
        expect(at(p, 'NbOfTxs')).to.equal('3');
        expect(at(p, 'CtrlSum')).to.equal('3700.55');
        expect(at(p, 'PmtTpInf.SvcLvl.Cd')).to.equal('SEPA');
        expect(at(p, 'PmtTpInf.LclInstrm.Cd')).to.equal('CORE');
        expect(at(p, 'PmtTpInf.SeqTp')).to.equal('FRST');
        expect(at(p, 'ReqdColltnDt')).to.equal('2027-03-24');
        expect(at(p, 'CdtrAcct.Id.IBAN')).to.equal('DE89370400440532013000');
        expect(at(p, `CdtrAgt.FinInstnId.${version === '001.08' ? 'BICFI' : 'BIC'}`)).to.equal('COBADEFFXXX');
        expect(at(p, 'ChrgBr')).to.equal('SLEV');
        expect(at(p, 'CdtrSchmeId.Id.PrvtId.Othr.Id')).to.equal('DE98ZZZ09999999999');
        expect(at(p, 'CdtrSchmeId.Id.PrvtId.Othr.SchmeNm.Prtry')).to.equal('SEPA');
      });

      it('each transaction: end-to-end id, amount in EUR, mandate id and signature date, debtor agent (or NOTPROVIDED), debtor, IBAN, remittance', () => {
        const txs = root.PmtInf[0].DrctDbtTxInf as Node[];
        expect(txs).to.have.length(3);
        const [a, b, c] = txs;
        expect(Object.keys(a)).to.deep.equal(['PmtId', 'InstdAmt', 'DrctDbtTx', 'DbtrAgt', 'Dbtr', 'DbtrAcct', 'RmtInf']);
        expect(at(a, 'PmtId.EndToEndId')).to.equal('D7-2027-0001');
        expect(at(a, 'InstdAmt.#text')).to.equal('2500.00');
        expect(at(a, 'InstdAmt.@Ccy')).to.equal('EUR');
        expect(at(a, 'DrctDbtTx.MndtRltdInf.MndtId')).to.equal('M00001-1');
        expect(at(a, 'DrctDbtTx.MndtRltdInf.DtOfSgntr')).to.equal('2026-11-02');
        expect(at(a, `DbtrAgt.FinInstnId.${version === '001.08' ? 'BICFI' : 'BIC'}`)).to.equal('BYLADEM1001');
        expect(at(a, 'Dbtr.Nm')).to.equal('Mueller + Soehne Spezialchemie GmbH');
        expect(at(a, 'DbtrAcct.Id.IBAN')).to.equal('DE02120300000000202051');
        expect(at(b, 'DbtrAgt.FinInstnId.Othr.Id')).to.equal('NOTPROVIDED');
        expect(at(c, 'InstdAmt.#text')).to.equal('0.05');
      });

      it('keeps the lengths (Nm 70, Ustrd 140) and only SEPA characters in every text', () => {
        const b = (root.PmtInf[0].DrctDbtTxInf as Node[])[1];
        const nm = String(at(b, 'Dbtr.Nm'));
        expect(nm.startsWith('Lodz Pigments Sp. z o.o. xxx')).to.equal(true);
        expect(nm).to.have.length(70);
        expect(String(at(b, 'RmtInf.Ustrd'))).to.have.length(140);
        const texts = [...xml.matchAll(/<(Nm|Ustrd|MndtId|EndToEndId|MsgId|PmtInfId)>([^<]*)</g)].map((m) => m[2]);
        expect(texts.length).to.be.greaterThan(8);
        for (const t of texts) expect(SEPA_ALLOWED.test(t), t).to.equal(true);
      });
    });
  }

  it('B2B and RCUR go into the local instrument and the sequence type; the file name says both', () => {
    const doc = parse(buildPain008({ ...file, scheme: 'B2B', sequence: 'RCUR' }, '001.08'));
    const p = doc.Document.CstmrDrctDbtInitn.PmtInf[0];
    expect(at(p, 'PmtTpInf.LclInstrm.Cd')).to.equal('B2B');
    expect(at(p, 'PmtTpInf.SeqTp')).to.equal('RCUR');
    expect(painFileName({ dueDate: '2027-03-24', scheme: 'B2B', sequence: 'RCUR' }, '001.02')).to.equal('pain.008.001.02-2027-03-24-B2B-RCUR.xml');
  });
});
