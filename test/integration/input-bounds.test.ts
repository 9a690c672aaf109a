import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import { makeOrg, TEST_ACTOR } from './assemblies.fixtures.ts';
import { cjkFonts } from '../../server/pdf/fonts.ts';

/**
 * h/harden2: every date, year and money field has a bound that fits its meaning; a value outside
 * it (2027-02-30, the year 9999 or 0001, 999.999.999.999,99 €, a third decimal, a minus sign) is
 * answered 422 with a message next to the field in the reader's language, and what was typed stays.
 * The minutes take their full length (200,000 characters) without the body limit losing them.
 */

/** The message under a field (<small id="e-name" class="field-error">). */
function fieldError(html: string, name: string): string | undefined {
  return html.match(new RegExp(`<small id="e-${name}" class="field-error">([^<]*)</small>`))?.[1];
}

describe('input bounds: dates, years and amounts outside what makes sense are refused next to the field, the input kept', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let board: Browser;
  let treasurer: Browser;
  let orgId: number;
  let invoiceId: number;
  let assemblyId: number;

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-03-10T09:00:00Z');
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(TEST_ACTOR, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    orgId = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'gf@harzer.example' });
    await env.ctx.dues.freezeFeeSchedule(TEST_ACTOR, 2027);
    const r = await env.ctx.dues.issueDuesInvoice(TEST_ACTOR, orgId, 2027);
    if (!r.issued) throw new Error('not issued');
    invoiceId = r.invoiceId;
    assemblyId = await env.ctx.assemblies.assembly.create(TEST_ACTOR, {
      title: 'MV 2027', kind: 'ordinary', date: '2027-03-05', time: '18:00', durationMinutes: 120, format: 'in_person', location: 'Kaiserpfalz Goslar', participationInfo: '', copyAllContacts: false,
    });
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
  });
  after(async () => env.close());

  describe('money (payments)', () => {
    const pay = (data: Record<string, string>) => treasurer.submit(`/treasurer/invoices/${invoiceId}`, data, `/treasurer/invoices/${invoiceId}/payments`);

    it('refuses an amount beyond twice the invoice or beyond any number, a third decimal, a minus sign and 0 €, each with its message, the amount kept', async () => {
      const cases: [string, string][] = [
        ['999.999.999.999,99', 'Der Betrag ist zu hoch: Auf diese Rechnung können insgesamt höchstens 1.000,00\u00a0€ gebucht werden (das Doppelte des Rechnungsbetrags). Bitte den Betrag prüfen.'],
        ['99999999999999999999', 'Der Betrag ist zu hoch: höchstens 1.000.000,00 €. Bitte prüfen.'],
        ['12,345', 'Bitte höchstens zwei Nachkommastellen angeben (Cent), z. B. 1.200,50.'],
        ['-50,00', 'Bitte einen Betrag ohne Minuszeichen angeben.'],
        ['0,00', 'Bitte einen Betrag größer als 0,00 € angeben.'],
      ];
      for (const [amount, message] of cases) {
        const res = await pay({ date: '2027-03-09', amount, reference: 'Überweisung' });
        expect(res.status, amount).to.equal(422);
        expect(fieldError(res.text, 'amount'), amount).to.equal(message);
        expect(res.text, amount).to.contain(`value="${amount}"`);
      }
      expect(await env.db('payments').count({ n: '*' }).first().then((r) => Number(r?.n))).to.equal(0);
    });

    it('accepts an ordinary amount on a real past date typed the German way', async () => {
      const res = await pay({ date: '09.03.2027', amount: '120,00', reference: '' });
      expect(res.status).to.equal(303);
      expect(await env.db('payments').count({ n: '*' }).first().then((r) => Number(r?.n))).to.equal(1);
    });

    it('refuses an impossible payment date, a year like 9999 or 0001 and a day after today', async () => {
      const cases: [string, string][] = [
        ['2027-02-30', 'Dieses Datum gibt es nicht. Bitte ein Datum wie 28.02.2027 angeben.'],
        ['30.02.2027', 'Dieses Datum gibt es nicht. Bitte ein Datum wie 28.02.2027 angeben.'],
        ['9999-01-01', 'Das Datum liegt in der Zukunft. Gebucht wird, was eingegangen ist: bitte das Datum des Kontoauszugs eintragen.'],
        ['2027-03-11', 'Das Datum liegt in der Zukunft. Gebucht wird, was eingegangen ist: bitte das Datum des Kontoauszugs eintragen.'],
        ['0001-01-01', 'Das Datum liegt zu weit zurück: frühestens im Jahr 2000.'],
      ];
      for (const [date, message] of cases) {
        const res = await pay({ date, amount: '10,00', reference: '' });
        expect(res.status, date).to.equal(422);
        expect(fieldError(res.text, 'date'), date).to.equal(message);
      }
    });
  });

  describe('years (dues)', () => {
    it('a single invoice for the year 9999 is refused with the range in words', async () => {
      const res = await treasurer.submit('/treasurer', { year: '9999' }, `/treasurer/organisations/${orgId}/invoice`);
      expect(res.status).to.equal(303);
      const page = await treasurer.get(res.headers.location!);
      expect(page.text).to.contain('Bitte ein Jahr zwischen 2000 und 2028 angeben.');
      expect(await env.db('invoices').count({ n: '*' }).first().then((r) => Number(r?.n))).to.equal(1);
    });
  });

  describe('dates (assembly, consent, membership)', () => {
    it('the assembly form: 2027-02-30 and the year 9999 are refused next to the date, the title kept', async () => {
      for (const [date, message] of [
        ['2027-02-30', 'Dieses Datum gibt es nicht. Bitte ein Datum wie 28.02.2027 angeben.'],
        ['9999-06-01', 'Das Datum liegt zu weit in der Zukunft: höchstens 5 Jahre ab heute.'],
      ] as const) {
        const res = await board.submit('/board/assemblies/new', {
          title: 'Außerordentliche Mitgliederversammlung', kind: 'extraordinary', date, time: '18:00', durationMinutes: '120', format: 'in_person', location: 'Goslar', participationInfo: '',
        }, '/board/assemblies');
        expect(res.status, date).to.equal(422);
        expect(fieldError(res.text, 'date'), date).to.equal(message);
        expect(res.text).to.contain('value="Außerordentliche Mitgliederversammlung"');
      }
    });

    it('the consent form: 2027-02-30 (a 500 before), tomorrow and 1989 are messages next to the field', async () => {
      const contact: { id: number } | undefined = await env.db('contacts').where({ organisation_id: orgId }).first();
      if (!contact) throw new Error('no contact');
      for (const [givenOn, message] of [
        ['2027-02-30', 'Dieses Datum gibt es nicht. Bitte ein Datum wie 28.02.2027 angeben.'],
        ['2027-03-11', 'Das Datum darf nicht nach heute liegen.'],
        ['1989-12-31', 'Das Datum liegt zu weit zurück: frühestens im Jahr 1990.'],
      ] as const) {
        const res = await board.submit(`/board/gdpr/organisations/${orgId}`, { contactId: String(contact.id), kind: 'privacy_notice', version: 'v1', givenOn }, `/board/gdpr/organisations/${orgId}/consents`);
        expect(res.status, givenOn).to.equal(422);
        expect(fieldError(res.text, 'givenOn'), givenOn).to.equal(message);
      }
    });

    it('a notice received in the year 0001 or on 29 February of a common year is refused; in English the message is English', async () => {
      const org: { version: number } | undefined = await env.db('organisations').where({ id: orgId }).first();
      const version = String(org?.version);
      const old = await board.submit(`/board/members/${orgId}/status`, { receivedDate: '0001-01-01', note: 'per Brief', version }, `/board/members/${orgId}/notice`);
      expect(old.status).to.equal(422);
      expect(fieldError(old.text, 'receivedDate')).to.equal('Das Datum liegt zu weit zurück: frühestens im Jahr 1900.');
      expect(old.text).to.contain('per Brief');
      const en = await board.submit(`/board/members/${orgId}/status?lang=en`, { receivedDate: '2027-02-29', note: '', version }, `/board/members/${orgId}/notice?lang=en`);
      expect(en.status).to.equal(422);
      expect(fieldError(en.text, 'receivedDate')).to.equal('This date does not exist. Please enter a date such as 28.02.2027.');
    });
  });

  describe('the minutes: the full length is saved; beyond it the text stays in the form with a message', () => {
    const saveMinutes = (body: string) => board.submit(`/board/assemblies/${assemblyId}/results`, { chair: '', chairOther: 'Dr. Katrin Wölfel', minuteTaker: '', minuteTakerOther: 'Paula Gast', signedOn: '', body }, `/board/assemblies/${assemblyId}/minutes`);

    it('saves 150,000 characters of German text with umlauts and euro signs (far over 100 kB when sent)', async () => {
      const line = 'Die Versammlung beschließt einstimmig: Beitrag 1.200,00 € für Großunternehmen, Übergangsregelung ä ö ü ß.\n';
      const body = line.repeat(Math.ceil(150_000 / line.length)).slice(0, 150_000);
      expect(Buffer.byteLength(encodeURIComponent(body))).to.be.greaterThan(250_000);
      const res = await saveMinutes(body);
      expect(res.status, res.text.slice(0, 300)).to.equal(303);
      expect((await env.ctx.assemblies.minutes.get(assemblyId))?.body).to.equal(body.trim());
    });

    it('refuses 200,001 characters next to the field and shows them again, not a 413', async () => {
      const body = 'ä'.repeat(200_001);
      const res = await saveMinutes(body);
      expect(res.status).to.equal(422);
      expect(fieldError(res.text, 'body')).to.be.a('string').and.not.equal('');
      expect(res.text).to.contain(`>${body}</textarea>`);
    });

    it('prints Japanese in the minutes PDF (the fallback font), as pdftotext reads it', async function () {
      if (spawnSync('pdftotext', ['-v']).error !== undefined || !cjkFonts()) this.skip(); // poppler-utils or fonts-noto-cjk not installed
      expect((await saveMinutes('Gast: 株式会社ハルツ化学 (Tokio) begrüßt die Versammlung.')).status).to.equal(303);
      const pdf = await board.agent.get(`/board/assemblies/${assemblyId}/minutes.pdf`).buffer(true)
        .parse((res, cb) => { const c: Buffer[] = []; res.on('data', (d: Buffer) => c.push(d)); res.on('end', () => cb(null, Buffer.concat(c))); });
      expect(pdf.status).to.equal(200);
      const text = execFileSync('pdftotext', ['-enc', 'UTF-8', '-', '-'], { input: pdf.body as Buffer, encoding: 'utf8' }); // why: the parser above collects a Buffer
      expect(text.replace(/\s+/g, ' ')).to.contain('Gast: 株式会社ハルツ化学 (Tokio) begrüßt die Versammlung.');
    });
  });
});
