import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { Browser } from '../helpers/http.ts';
import { apply, validForm } from './applications.fixtures.ts';
import { nextPrivacyVersion } from '../../server/settings/settings.service.ts';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/\s+/g, ' ');

describe('privacy notice: built from the settings, a new version with every change, recorded at apply', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let admin: Browser;
  let cats: Record<string, number>;

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'admin@verein.example', ['admin']);
    await env.ctx.settings.updateAssociation({ userId: null, label: 'test' }, { ...(await env.ctx.settings.association()), name: 'Chemie Harz e.V.', street: 'Bäringerstraße 10', postcode: '38640', city: 'Goslar', boardMembers: 'Dr. Katrin Wölfel (Vorsitzende)', contactEmail: 'vorstand@chemie-harz.example' });
    admin = new Browser(env.app);
    await admin.login('admin@verein.example', PASSWORD);
  });
  after(() => env.close());

  it('names the next version by the date of the change', () => {
    expect(nextPrivacyVersion('2026-01', '2026-12-02')).to.equal('2026-12-02');
    expect(nextPrivacyVersion('2026-12-02', '2026-12-02')).to.equal('2026-12-02-2');
    expect(nextPrivacyVersion('2026-12-02-2', '2026-12-02')).to.equal('2026-12-02-3');
    expect(nextPrivacyVersion('2026-12-02-3', '2026-12-03')).to.equal('2026-12-03');
  });

  it('shows the controller, purposes with legal bases, recipients, periods, rights and the authority (default Niedersachsen)', async () => {
    const page = text((await new Browser(env.app).get('/privacy')).text);
    expect(page).to.contain('Verantwortlicher Chemie Harz e.V. Bäringerstraße 10 38640 Goslar vorstand@chemie-harz.example');
    expect(page).to.contain('Vertreten durch: Dr. Katrin Wölfel (Vorsitzende)');
    expect(page).to.contain('Einen Datenschutzbeauftragten haben wir nicht benannt (§ 38 BDSG). Fragen zum Datenschutz richten Sie bitte an vorstand@chemie-harz.example.');
    expect(page).to.contain('Einladungen zur Mitgliederversammlung per E-Mail Rechtsgrundlage: Art. 6 Abs. 1 lit. a DSGVO');
    expect(page).to.contain('Stripe Payments Europe Ltd., Dublin (Irland)');
    expect(page).to.contain('8 Jahre nach Ablauf des Ausstellungsjahres');
    expect(page).to.contain('bei einer Datenschutz-Aufsichtsbehörde beschweren (Art. 77 DSGVO)');
    expect(page).to.contain('Zuständige Aufsichtsbehörde: Landesbeauftragte(r) für den Datenschutz Niedersachsen (https://www.lfd.niedersachsen.de).');
    const en = text((await new Browser(env.app).get('/privacy?lang=en')).text);
    expect(en).to.contain('Purposes and legal bases');
    expect(en).to.contain('Competent supervisory authority');
  });

  it('saves a change as a new version that the next application records; the form keeps bad input with a message', async () => {
    const form = await admin.get('/admin/privacy');
    expect(form.status).to.equal(200);
    const current = await env.ctx.settings.privacy();
    const bad = await admin.submit('/admin/privacy', { ...current, purposes: '', authority: 'xx', recipients: 'Steuerbüro Muster, Goslar – Buchführung' });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('id="e-purposes"');
    expect(bad.text).to.contain('id="e-authority"');
    expect(bad.text).to.contain('Steuerbüro Muster, Goslar – Buchführung'); // kept as typed
    expect((await env.ctx.settings.association()).privacyNoticeVersion).to.equal('2026-01');

    const ok = await admin.submit('/admin/privacy', { ...current, authority: 'by', recipients: 'Steuerbüro Muster, Goslar – Buchführung\r\nMailhost GmbH – E-Mail-Versand', dataProtectionContact: 'Datenschutz: Jana Albrecht, datenschutz@chemie-harz.example' });
    expect(ok.status).to.equal(303);
    expect((await env.ctx.settings.association()).privacyNoticeVersion).to.equal('2026-11-25'); // the test clock's day
    const page = text((await new Browser(env.app).get('/privacy')).text);
    expect(page).to.contain('Fassung 2026-11-25');
    expect(page).to.contain('Bayerisches Landesamt für Datenschutzaufsicht (BayLDA)');
    expect(page).to.contain('Mailhost GmbH – E-Mail-Versand');
    expect(page).to.contain('Datenschutz: Jana Albrecht');
    expect(page).not.to.contain('Stripe Payments Europe');
    const audit = (await env.ctx.audit.list({ action: 'settings.privacy_updated' }))[0];
    expect(audit.before).to.include({ version: '2026-01' });
    expect(audit.after).to.include({ version: '2026-11-25', authority: 'by' });

    // saving the same again changes nothing, and no new version
    await admin.submit('/admin/privacy', { ...(await env.ctx.settings.privacy()) });
    expect((await env.ctx.settings.association()).privacyNoticeVersion).to.equal('2026-11-25');

    // the application form quotes the version and states an acknowledgement, not a consent; the application records it
    const applyPage = text((await new Browser(env.app).get('/apply')).text);
    expect(applyPage).to.contain('Ich habe die Datenschutzhinweise (Fassung 2026-11-25) zur Kenntnis genommen.');
    expect(applyPage).not.to.contain('einverstanden');
    await apply(env.app, validForm(cats.company, { legal_name: 'Version GmbH', rep_email: 'v@version.example' }));
    const row = (await env.db('applications').where({ legal_name: 'Version GmbH' }).first())!;
    expect(row.privacy_version).to.equal('2026-11-25');
  });

  it('the settings page no longer edits the version by hand; admins only', async () => {
    const page = text((await admin.get('/admin/settings')).text);
    expect(page).to.contain('Datenschutzhinweise: Fassung 2026-11-25');
    await makeUser(env.ctx, 'vorstand@verein.example', ['board']);
    const board = new Browser(env.app);
    await board.login('vorstand@verein.example', PASSWORD);
    expect((await board.get('/admin/privacy')).status).to.equal(403);
  });
});
