import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';

const VALID = {
  name: 'ChemieNetzwerk Harz e.V.',
  street: 'Adolph-Roemer-Straße 2A',
  postcode: '38678',
  city: 'Clausthal-Zellerfeld',
  country: 'DE',
  registerCourt: 'Amtsgericht Braunschweig',
  registerNumber: 'VR 201234',
  taxNumber: '21/270/12345',
  boardMembers: 'Dr. Anna Beispiel (Vorsitzende)\nJonas Muster (Schatzmeister)',
  contactEmail: 'vorstand@chemienetzwerk-harz.de',
  website: 'www.chemienetzwerk-harz.de',
  bankHolder: 'ChemieNetzwerk Harz e.V.',
  iban: 'de89 3704 0044 0532 0130 00',
  bic: 'cobadeffxxx',
  bankName: 'Commerzbank Goslar',
  sepaCreditorId: 'DE98ZZZ09999999999',
  privacyNoticeVersion: '2026-11',
  bylawsUrl: '/documents/satzung',
  invitationNoticeDays: '21',
  motionDeadlineDays: '10',
  proxiesAllowed: '1',
  maxProxiesPerHolder: '3',
  quorumPercent: '25',
  terminationNoticeMonths: '3',
  terminationToYearEnd: '1',
  duesDueDays: '30',
  proRata: 'full_year',
  reminder1Days: '14',
  reminder2Days: '28',
  invoiceTaxNote: 'Echter Mitgliedsbeitrag, nicht umsatzsteuerbar.',
  applicationRetentionMonths: '6',
  contactRetentionYears: '1',
  invoiceRetentionYears: '10',
  unconfirmedApplicationDays: '30',
  mailBodyRetentionDays: '180',
  auditDetailRetentionYears: '3',
};

/** The text of the error shown under a field (the field partial's <small id="e-NAME">). */
function fieldError(html: string, name: string): string | undefined {
  const m = html.match(new RegExp(`<small id="e-${name}" class="field-error">([^<]*)</small>`));
  return m?.[1];
}

describe('admin: association settings and membership categories', () => {
  let env: TestEnv;
  let admin: Browser;
  before(async () => {
    env = await createTestEnv();
    await makeUser(env.ctx, 'admin@example.org', ['admin'], 'Ada Admin');
    admin = new Browser(env.app);
    await admin.login('admin@example.org', PASSWORD);
  });
  after(async () => env.close());

  describe('settings', () => {
    it('shows the current settings with the defaults', async () => {
      const res = await admin.get('/admin/settings');
      expect(res.status).to.equal(200);
      expect(res.text).to.contain('Vereinsdaten und Satzungsregeln');
      expect(res.text).to.match(/name="invitationNoticeDays" type="text" value="14"/);
      expect(res.text).to.match(/name="proxiesAllowed" value="1" checked/);
      expect(res.text).to.contain('aria-current="page">Vereinsdaten und Satzungsregeln</a>');
    });

    it('saves the association data and rules, shows them and records both in the audit log', async () => {
      const res = await admin.submit('/admin/settings', VALID);
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal('/admin/settings');
      const page = await admin.get('/admin/settings');
      expect(page.text).to.contain('Die Einstellungen sind gespeichert.');
      expect(page.text).to.contain('value="DE89 3704 0044 0532 0130 00"');
      expect(page.text).to.contain('value="COBADEFFXXX"');
      expect(page.text).to.contain('value="https://www.chemienetzwerk-harz.de"');
      expect(page.text).to.match(/name="invitationNoticeDays" type="text" value="21"/);
      expect(page.text).to.match(/value="full_year" checked/);
      // the layout shows the new name on every page
      expect(page.text).to.contain('<strong>ChemieNetzwerk Harz e.V.</strong>');

      const a = await env.ctx.settings.association();
      expect(a.iban).to.equal('DE89370400440532013000');
      expect(a.bic).to.equal('COBADEFFXXX');
      expect(a.registerCourt).to.equal('Amtsgericht Braunschweig');
      const r = await env.ctx.settings.rules();
      expect(r).to.include({ invitationNoticeDays: 21, motionDeadlineDays: 10, maxProxiesPerHolder: 3, quorumPercent: 25, proRata: 'full_year', invoiceRetentionYears: 10 });

      const [entry] = await env.ctx.audit.list({ action: 'settings.association_updated' });
      expect(entry.actorLabel).to.equal('Ada Admin');
      expect(entry.before).to.include({ name: 'Mein Verein e.V.' });
      expect(entry.after).to.include({ name: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000' });
      const [rules] = await env.ctx.audit.list({ action: 'settings.rules_updated' });
      expect(rules.before).to.deep.include({ invitationNoticeDays: 14 });
      expect(rules.after).to.deep.include({ invitationNoticeDays: 21 });

      const audit = await admin.get('/admin/audit?entityType=settings');
      expect(audit.text).to.contain('settings.association_updated');
      expect(audit.text).to.contain('Mein Verein e.V.');
    });

    it('unchecking a checkbox turns the rule off', async () => {
      const { proxiesAllowed: _p, ...rest } = VALID;
      const res = await admin.submit('/admin/settings', rest);
      expect(res.status).to.equal(303);
      expect((await env.ctx.settings.rules()).proxiesAllowed).to.equal(false);
      const page = await admin.get('/admin/settings');
      expect(page.text).to.match(/name="proxiesAllowed" value="1">/);
    });

    it('shows per-field errors in German and keeps the input, checkboxes too', async () => {
      const before = await env.ctx.settings.association();
      const { proxiesAllowed: _p, ...rest } = VALID;
      const res = await admin.submit('/admin/settings', {
        ...rest, name: 'Geänderter Name', iban: 'DE89 3704 0044 0532 0130 01', contactEmail: 'vorstand@', invitationNoticeDays: '-3',
        bic: 'COBADEF', sepaCreditorId: 'DE99ZZZ09999999999', duesDueDays: 'dreißig', reminder2Days: '7',
      });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('Bitte prüfen Sie die markierten Felder.');
      expect(fieldError(res.text, 'iban')).to.equal('Diese IBAN ist nicht gültig.');
      expect(fieldError(res.text, 'contactEmail')).to.contain('gültige E-Mail-Adresse');
      expect(fieldError(res.text, 'invitationNoticeDays')).to.equal('Mindestens 0.');
      expect(fieldError(res.text, 'bic')).to.contain('8 oder 11 Zeichen');
      expect(fieldError(res.text, 'sepaCreditorId')).to.contain('Gläubiger-ID ist nicht gültig');
      expect(fieldError(res.text, 'duesDueDays')).to.equal('Bitte eine ganze Zahl angeben.');
      expect(fieldError(res.text, 'reminder2Days')).to.contain('später als die erste');
      expect(fieldError(res.text, 'name')).to.equal(undefined);
      // input kept
      expect(res.text).to.contain('value="Geänderter Name"');
      expect(res.text).to.contain('value="DE89 3704 0044 0532 0130 01"');
      expect(res.text).to.contain('value="vorstand@"');
      expect(res.text).to.contain('value="-3"');
      expect(res.text).to.contain('value="dreißig"');
      expect(res.text).to.match(/name="proxiesAllowed" value="1">/);
      expect(res.text).to.match(/name="terminationToYearEnd" value="1" checked>/);
      expect(res.text).to.match(/value="full_year" checked/);
      // nothing saved
      expect(await env.ctx.settings.association()).to.deep.equal(before);
    });

    it('shows the same errors in English after switching the language', async () => {
      await admin.get('/admin/settings?lang=en');
      const res = await admin.submit('/admin/settings', { ...VALID, iban: 'DE00 1234', contactEmail: 'not-an-address', motionDeadlineDays: '-1', name: '' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('<html lang="en">');
      expect(res.text).to.contain('Association and bylaws');
      expect(fieldError(res.text, 'iban')).to.equal('This IBAN is not valid.');
      expect(fieldError(res.text, 'contactEmail')).to.match(/valid e-mail address/i);
      expect(fieldError(res.text, 'motionDeadlineDays')).to.equal('At least 0.');
      expect(fieldError(res.text, 'name')).to.match(/^Please/);
      expect(res.text).to.contain('value="DE00 1234"');
      expect(res.text).to.contain('value="not-an-address"');
      await admin.get('/admin/settings?lang=de');
    });
  });

  describe('categories', () => {
    it('lists categories with German money amounts', async () => {
      await makeCategories(env.ctx);
      const res = await admin.get('/admin/categories');
      expect(res.status).to.equal(200);
      expect(res.text).to.contain('Forschungseinrichtung');
      expect(res.text).to.contain('300,00\u00a0€');
      expect(res.text).to.contain('1.200,00\u00a0€');
      expect(res.text).to.contain('2.500,00\u00a0€');
      expect(res.text).to.contain('nicht im Antrag'); // honorary members cannot apply
    });

    it('creates a category with tiers entered as German amounts, stored as cents', async () => {
      const res = await admin.submit('/admin/categories/new', {
        code: 'Startup', nameDe: 'Start-up', nameEn: 'Start-up', hasVote: '1', feeType: 'tiers',
        tierSmall: '150', tierMedium: '1.200,00', tierLarge: '2.500,5', sortOrder: '5', active: '1', openToApplicants: '1',
      });
      expect(res.status).to.equal(303);
      const c = (await env.ctx.settings.categories()).find((x) => x.code === 'startup')!;
      expect(c.feeRule).to.deep.equal({ type: 'tiers', tiers: { '1-49': 15000, '50-249': 120000, '250+': 250050 } });
      expect(c).to.include({ hasVote: true, active: true, openToApplicants: true, sortOrder: 5 });
      const list = await admin.get('/admin/categories');
      expect(list.text).to.contain('Die Kategorie „Start-up“ ist angelegt.');
      expect(list.text).to.contain('2.500,50\u00a0€');
      const [entry] = await env.ctx.audit.list({ action: 'category.created' });
      expect(entry.entityId).to.equal(c.id);
    });

    it('edits a category: the form shows German amounts and a new fixed fee is saved in cents and audited', async () => {
      const c = (await env.ctx.settings.categories()).find((x) => x.code === 'research')!;
      const form = await admin.get(`/admin/categories/${c.id}/edit`);
      expect(form.status).to.equal(200);
      expect(form.text).to.contain('value="300,00"');
      const res = await admin.submit(`/admin/categories/${c.id}/edit`, {
        code: 'research', nameDe: 'Forschungseinrichtung', nameEn: 'Research institute', hasVote: '1', feeType: 'fixed',
        amount: '1200,5', sortOrder: '2', active: '1',
      });
      expect(res.status).to.equal(303);
      const after = (await env.ctx.settings.category(c.id))!;
      expect(after.feeRule).to.deep.equal({ type: 'fixed', amountCents: 120050 });
      expect(after.openToApplicants).to.equal(false);
      const [entry] = await env.ctx.audit.list({ action: 'category.updated', entityId: c.id });
      expect(entry.before).to.deep.include({ feeRule: { type: 'fixed', amountCents: 30000 } });
      expect(entry.after).to.deep.include({ feeRule: { type: 'fixed', amountCents: 120050 } });
    });

    it('refuses unreadable amounts, missing tiers and a taken code, keeping the input', async () => {
      const res = await admin.submit('/admin/categories/new', {
        code: 'x', nameDe: 'Test', nameEn: '', feeType: 'tiers', tierSmall: '1,200.00', tierMedium: '', tierLarge: 'viel', sortOrder: '1',
      });
      expect(res.status).to.equal(422);
      expect(fieldError(res.text, 'tierSmall')).to.contain('Betrag in Euro');
      expect(fieldError(res.text, 'tierMedium')).to.equal('Bitte ausfüllen.');
      expect(fieldError(res.text, 'tierLarge')).to.contain('Betrag in Euro');
      expect(fieldError(res.text, 'code')).to.contain('2 bis 40 Zeichen');
      expect(fieldError(res.text, 'nameEn')).to.equal('Bitte ausfüllen.');
      expect(res.text).to.contain('value="1,200.00"');
      expect(res.text).to.match(/value="tiers" checked/);

      const taken = await admin.submit('/admin/categories/new', {
        code: 'company', nameDe: 'Doppelt', nameEn: 'Double', feeType: 'fixed', amount: '10', sortOrder: '9',
      });
      expect(taken.status).to.equal(409);
      expect(fieldError(taken.text, 'code')).to.equal('Dieses Kürzel ist schon vergeben.');
      expect((await env.ctx.settings.categories({ includeInactive: true })).filter((c) => c.code === 'company')).to.have.length(1);
    });

    it('answers 404 for a category that does not exist', async () => {
      expect((await admin.get('/admin/categories/9999/edit')).status).to.equal(404);
    });
  });
});
