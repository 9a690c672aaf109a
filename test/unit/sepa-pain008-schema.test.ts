import { expect } from 'chai';
import { buildPain008, PAIN_VERSIONS, type PainDebit, type PainFile, type PainVersion } from '../../server/sepa/pain008.ts';
import { isMandateReference, sepaBic } from '../../server/sepa/rules.ts';
import type { MandateScheme, SequenceType } from '../../server/sepa/sepa.tables.ts';
import { hasXmllint, painSchema, schemaErrors, XMLLINT_SKIP_MESSAGE } from '../helpers/einvoice-standards.ts';

/**
 * The pain.008 files against the project's own schemas of the subset German banks accept
 * (test/standards/sepa/*-dfue-subset.xsd, written from the DFÜ-Abkommen Anlage 3 and the ISO 20022
 * message definitions; the official ISO schemas are not reachable here). Every file the code
 * writes must pass, and each kind of mistake a bank would refuse must fail, naming the element.
 */

const E2E_35 = 'D7-2027-0001/' + 'A'.repeat(22); // 35 characters, a slash inside
const REF_35 = "M+?-:().,'/" + 'B'.repeat(24); // 35 characters, every special character of the set

const debits: PainDebit[] = [
  { endToEndId: E2E_35, amountCents: 1, mandateReference: REF_35, mandateSignedOn: '2026-11-02', debtorName: 'Größe & Söhne Straßenbau GmbH', debtorIban: 'DE02120300000000202051', debtorBic: 'BYLADEM1001', remittance: 'Mitgliedsbeitrag 2027 – Rechnung 2027-0001 (Mitgliedsnr. 1), Grüße' },
  // umlauts spelt out make the name longer than 70: cut at 70
  { endToEndId: 'D7-2027-0002', amountCents: 99_999_999_999, mandateReference: 'M00002-2', mandateSignedOn: '2027-01-15', debtorName: 'Ärztekammer Überseeküste ' + 'ä'.repeat(40), debtorIban: 'AT611904300234573201', debtorBic: '', remittance: 'R'.repeat(200) },
  { endToEndId: 'D7-2027-0003', amountCents: 120_050, mandateReference: 'M00003-3', mandateSignedOn: '2027-02-01', debtorName: "O'Brien (Dublin) Société Générale Łódź € 100 % <Labor>", debtorIban: 'NL91ABNA0417164300', debtorBic: 'COBADEFF', remittance: 'Beitrag 100 € & Gebühr' },
  // exactly 70 after the conversion
  { endToEndId: 'D7-2027-0004', amountCents: 5, mandateReference: 'M00004-4', mandateSignedOn: '2024-02-29', debtorName: 'ß'.repeat(35), debtorIban: 'DE89370400440532013000', debtorBic: '', remittance: 'x' },
];

function file(scheme: MandateScheme, sequence: SequenceType): PainFile {
  return {
    messageId: `CNH-7-20270310090000-${scheme === 'B2B' ? 'B' : 'C'}${sequence === 'FRST' ? 'F' : 'R'}`,
    createdAt: '2027-03-10T09:00:00',
    scheme,
    sequence,
    dueDate: '2027-03-24',
    // the RCUR files with a creditor without BIC (IBAN only: CdtrAgt as NOTPROVIDED)
    creditor: { name: 'ChemieNetzwerk Harz e.V. – Geschäftsstelle Clausthal-Zellerfeld, Adolph-Roemer-Straße 2A', iban: 'DE89370400440532013000', bic: sequence === 'FRST' ? 'COBADEFFXXX' : '', creditorId: 'DE98ZZZ09999999999' },
    debits,
  };
}

describe('pain.008 against the DFÜ subset schema (own XSD, not the official ISO one)', function () {
  before(function () {
    if (!hasXmllint) {
      console.log(`      ${XMLLINT_SKIP_MESSAGE}`);
      this.skip();
    }
  });

  for (const version of PAIN_VERSIONS) {
    for (const scheme of ['CORE', 'B2B'] as const) {
      for (const sequence of ['FRST', 'RCUR'] as const) {
        it(`${version} ${scheme} ${sequence}: the file as written passes`, () => {
          const xml = buildPain008(file(scheme, sequence), version);
          expect(xml).to.contain(`<SeqTp>${sequence}</SeqTp>`);
          expect(xml).to.contain('<Id>NOTPROVIDED</Id>'); // the debtor without BIC, and in RCUR the creditor too
          expect(schemaErrors(xml, painSchema(version))).to.equal('');
        });
      }
    }
  }

  it('a file of one version does not pass as the other (namespace, BIC or BICFI)', () => {
    const v08 = buildPain008(file('CORE', 'FRST'), '001.08');
    const v02 = buildPain008(file('CORE', 'FRST'), '001.02');
    expect(schemaErrors(v08, painSchema('001.02'))).to.match(/Element '\{urn:iso:std:iso:20022:tech:xsd:pain\.008\.001\.08\}Document': No matching global declaration/);
    expect(schemaErrors(v02, painSchema('001.08'))).to.match(/Element '\{urn:iso:std:iso:20022:tech:xsd:pain\.008\.001\.02\}Document': No matching global declaration/);
    // the .02 element name under the .08 namespace
    const mixed = v08.replace(/<BICFI>([A-Z0-9]+)<\/BICFI>/, '<BIC>$1</BIC>');
    expect(mixed).to.not.equal(v08);
    expect(schemaErrors(mixed, painSchema('001.08'))).to.match(/Element '\{[^}]+\}BIC': This element is not expected/);
  });

  describe('each mistake a bank would refuse fails, naming the element', () => {
    for (const version of PAIN_VERSIONS) {
      const xml = buildPain008(file('CORE', 'FRST'), version);
      const refused = (mutate: (x: string) => string, element: RegExp) => {
        const bad = mutate(xml);
        expect(bad, 'the mutation changed the file').to.not.equal(xml);
        const errors = schemaErrors(bad, painSchema(version));
        expect(errors).to.contain('fails to validate');
        expect(errors).to.match(element);
      };

      it(`${version}: two elements in the wrong order (Dbtr before DbtrAgt; PmtMtd before PmtInfId)`, () => {
        refused((x) => x.replace(/(\s*<DbtrAgt>[\s\S]*?<\/DbtrAgt>)(\s*<Dbtr>[\s\S]*?<\/Dbtr>)/, '$2$1'), /Element '\{[^}]+\}Dbtr': This element is not expected\. Expected is .*DbtrAgt/);
        refused((x) => x.replace(/(\s*<PmtInfId>[^<]*<\/PmtInfId>)(\s*<PmtMtd>DD<\/PmtMtd>)/, '$2$1'), /Element '\{[^}]+\}PmtMtd': This element is not expected\. Expected is .*PmtInfId/);
      });

      it(`${version}: a mandatory element missing (MndtRltdInf/DtOfSgntr, Dbtr/Nm, CdtrSchmeId)`, () => {
        refused((x) => x.replace(/\s*<DtOfSgntr>[^<]*<\/DtOfSgntr>/, ''), /Element '\{[^}]+\}MndtRltdInf': Missing child element\(s\)\. Expected is .*DtOfSgntr/);
        refused((x) => x.replace(/(<Dbtr>)\s*<Nm>[^<]*<\/Nm>/, '$1'), /Element '\{[^}]+\}Dbtr': Missing child element\(s\)\. Expected is .*Nm/);
        refused((x) => x.replace(/\s*<CdtrSchmeId>[\s\S]*?<\/CdtrSchmeId>/, ''), /Element '\{[^}]+\}DrctDbtTxInf': This element is not expected\. Expected is .*CdtrSchmeId/);
      });

      it(`${version}: an amount with three decimals, of zero, or in another currency`, () => {
        refused((x) => x.replace('<InstdAmt Ccy="EUR">1200.50</InstdAmt>', '<InstdAmt Ccy="EUR">1200.505</InstdAmt>'), /Element '\{[^}]+\}InstdAmt'.*fractionDigits/);
        refused((x) => x.replace('<InstdAmt Ccy="EUR">1200.50</InstdAmt>', '<InstdAmt Ccy="EUR">0.00</InstdAmt>'), /Element '\{[^}]+\}InstdAmt'.*minInclusive/);
        refused((x) => x.replace('<InstdAmt Ccy="EUR">1200.50</InstdAmt>', '<InstdAmt Ccy="CHF">1200.50</InstdAmt>'), /Element '\{[^}]+\}InstdAmt', attribute 'Ccy'/);
        refused((x) => x.replace(/<CtrlSum>([0-9]+)\.([0-9]{2})<\/CtrlSum>/, '<CtrlSum>$1.$21</CtrlSum>'), /Element '\{[^}]+\}CtrlSum'.*fractionDigits/);
      });

      it(`${version}: texts and ids too long (EndToEndId 36, Nm 71, Ustrd 141)`, () => {
        refused((x) => x.replace(`<EndToEndId>${E2E_35}</EndToEndId>`, `<EndToEndId>${E2E_35}Z</EndToEndId>`), /Element '\{[^}]+\}EndToEndId'.*maxLength/);
        refused((x) => x.replace(/<Nm>(Aerztekammer[^<]*)<\/Nm>/, '<Nm>$1e</Nm>'), /Element '\{[^}]+\}Nm'.*maxLength/);
        refused((x) => x.replace(/<Ustrd>(R+)<\/Ustrd>/, '<Ustrd>$1R</Ustrd>'), /Element '\{[^}]+\}Ustrd'.*maxLength/);
      });

      it(`${version}: a character outside the SEPA set (ü, &, _) in a name, the remittance or an id`, () => {
        refused((x) => x.replace('<Nm>Groesse + Soehne Strassenbau GmbH</Nm>', '<Nm>Größe + Söhne Straßenbau GmbH</Nm>'), /Element '\{[^}]+\}Nm'.*pattern/);
        refused((x) => x.replace('<Ustrd>x</Ustrd>', '<Ustrd>x &amp; y</Ustrd>'), /Element '\{[^}]+\}Ustrd'.*pattern/);
        refused((x) => x.replace('<MndtId>M00002-2</MndtId>', '<MndtId>M00002_2</MndtId>'), /Element '\{[^}]+\}MndtId'.*pattern/);
        refused((x) => x.replace('<MndtId>M00002-2</MndtId>', '<MndtId>M00002 2</MndtId>'), /Element '\{[^}]+\}MndtId'.*pattern/); // no space in a mandate reference
      });

      it(`${version}: the EPC slash rule (no / first or last, no //) on ids and references`, () => {
        refused((x) => x.replace('<EndToEndId>D7-2027-0002</EndToEndId>', '<EndToEndId>/D7-2027-0002</EndToEndId>'), /Element '\{[^}]+\}EndToEndId'.*pattern/);
        refused((x) => x.replace('<MndtId>M00002-2</MndtId>', '<MndtId>M00002-2/</MndtId>'), /Element '\{[^}]+\}MndtId'.*pattern/);
        refused((x) => x.replace(/<MsgId>([^<]*)<\/MsgId>/, '<MsgId>CNH//7</MsgId>'), /Element '\{[^}]+\}MsgId'.*pattern/);
      });

      it(`${version}: codes outside the SEPA subset (COR1, SeqTp, PmtMtd, ChrgBr, SvcLvl, NOTPROVIDED, IBAN, BIC, creditor id)`, () => {
        refused((x) => x.replace('<Cd>CORE</Cd>', '<Cd>COR1</Cd>'), /Element '\{[^}]+\}Cd'.*enumeration/);
        refused((x) => x.replace('<SeqTp>FRST</SeqTp>', '<SeqTp>FIRST</SeqTp>'), /Element '\{[^}]+\}SeqTp'.*enumeration/);
        refused((x) => x.replace('<PmtMtd>DD</PmtMtd>', '<PmtMtd>TRF</PmtMtd>'), /Element '\{[^}]+\}PmtMtd'.*enumeration/);
        refused((x) => x.replace('<ChrgBr>SLEV</ChrgBr>', '<ChrgBr>SHAR</ChrgBr>'), /Element '\{[^}]+\}ChrgBr'.*enumeration/);
        refused((x) => x.replace('<Cd>SEPA</Cd>', '<Cd>NURG</Cd>'), /Element '\{[^}]+\}Cd'.*enumeration/);
        refused((x) => x.replace('<Id>NOTPROVIDED</Id>', '<Id>UNKNOWN</Id>'), /Element '\{[^}]+\}Id'.*enumeration/);
        refused((x) => x.replace('<IBAN>AT611904300234573201</IBAN>', '<IBAN>at611904300234573201</IBAN>'), /Element '\{[^}]+\}IBAN'.*pattern/);
        refused((x) => x.replace(/<(BICFI|BIC)>COBADEFF<\/(BICFI|BIC)>/, '<$1>COBADEF</$2>'), /Element '\{[^}]+\}BIC(FI)?'.*pattern/);
        refused((x) => x.replace('<Id>DE98ZZZ09999999999</Id>', '<Id>DE9ZZZ09999999999</Id>'), /Element '\{[^}]+\}Id'.*pattern/);
      });

      it(`${version}: a date that is not an ISO date, a creation time without time`, () => {
        refused((x) => x.replace('<ReqdColltnDt>2027-03-24</ReqdColltnDt>', '<ReqdColltnDt>24.03.2027</ReqdColltnDt>'), /Element '\{[^}]+\}ReqdColltnDt'/);
        refused((x) => x.replace('<DtOfSgntr>2024-02-29</DtOfSgntr>', '<DtOfSgntr>2023-02-29</DtOfSgntr>'), /Element '\{[^}]+\}DtOfSgntr'/);
        refused((x) => x.replace('<CreDtTm>2027-03-10T09:00:00</CreDtTm>', '<CreDtTm>2027-03-10</CreDtTm>'), /Element '\{[^}]+\}CreDtTm'/);
      });
    }
  });

  it('every BIC the mandate form and the settings accept passes both versions; those the .02 schema refuses, they refuse', () => {
    const withBic = (bic: string, version: PainVersion) => schemaErrors(buildPain008({ ...file('CORE', 'FRST'), debits: [{ ...debits[0], debtorBic: bic }] }, version), painSchema(version));
    for (const bic of ['COBADEFF', 'COBADEFFXXX', 'BYLADEM1001', 'NOLADE21', 'GENODEF1S04', 'COBADE2A']) {
      expect(sepaBic(bic), bic).to.equal(bic);
      for (const version of PAIN_VERSIONS) expect(withBic(bic, version), `${bic} ${version}`).to.equal('');
    }
    // a location code starting with 0 or 1, or with the letter O second: ibantools alone let them through, the bank's .02 schema does not
    for (const bic of ['COBADE0F', 'COBADE1F', 'COBADEFO', 'COBADE1FXXX']) {
      expect(withBic(bic, '001.02'), bic).to.match(/Element '\{[^}]+\}BIC'.*pattern/);
      expect(sepaBic(bic), bic).to.equal(null);
    }
  });

  it('the mandate form refuses exactly the references the schema refuses (the slash rule, spaces, length)', () => {
    const mndt = (ref: string) => schemaErrors(buildPain008({ ...file('CORE', 'FRST'), debits: [{ ...debits[1], mandateReference: ref }] }, '001.08'), painSchema('001.08'));
    for (const ref of [REF_35, 'M00002-2', 'A', 'BROCKEN-2026/1', 'a/b/c']) {
      expect(isMandateReference(ref), ref).to.equal(true);
      expect(mndt(ref), ref).to.equal('');
    }
    // buildPain008 writes a reference as sepaId makes it (spaces dropped, cut at 35); the file's MndtId must be what the debtor signed, so the form refuses these
    for (const ref of ['/M1', 'M1/', 'M1//2', '/', REF_35 + 'C']) {
      expect(isMandateReference(ref), ref).to.equal(false);
      if (ref !== REF_35 + 'C') expect(mndt(ref), ref).to.match(/Element '\{[^}]+\}MndtId'.*pattern/);
    }
    expect(isMandateReference('M1 2'), 'space').to.equal(false);
    expect(isMandateReference(''), 'empty').to.equal(false);
  });
});

