import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { associationFormSchema, electionsFormSchema, majoritiesFormSchema, rulesFormSchema, SETTINGS_CHECKBOXES } from '../../server/admin/admin.schemas.ts';

/**
 * h/harden2: no settings field is dropped silently. Every field of the settings form's schema is
 * on the page (a new rule added to the schema but not to the page fails here), and a rule field a
 * form does not send (a page from before the field existed) keeps its stored value instead of
 * failing or being reset, except checkboxes, whose absence means "off".
 */
describe('admin: every settings field is on the page, and a field not sent keeps its value', function () {
  this.timeout(90_000);
  let env: TestEnv;
  let admin: Browser;
  before(async () => {
    env = await createTestEnv();
    await makeUser(env.ctx, 'admin@example.org', ['admin'], 'Ada Admin');
    admin = new Browser(env.app);
    await admin.login('admin@example.org', PASSWORD);
  });
  after(async () => env.close());

  it('shows a field for every key of the settings schema (the privacy notice version on its own page)', async () => {
    const page = (await admin.get('/admin/settings')).text;
    const privacy = (await admin.get('/admin/privacy')).text;
    const keys = [associationFormSchema, rulesFormSchema, majoritiesFormSchema, electionsFormSchema].flatMap((s) => Object.keys(s.shape));
    expect(keys.length).to.be.greaterThan(40);
    // the privacy notice's version is no field: it changes with the notice (Administration → Datenschutzhinweise), which shows it
    const missing = keys.filter((k) => k !== 'privacyNoticeVersion' && !page.includes(`name="${k}"`) && !privacy.includes(`name="${k}"`));
    expect(missing, 'settings fields not on the page').to.deep.equal([]);
    expect(SETTINGS_CHECKBOXES).to.include('proxiesAllowed');
  });

  it('a post without the rule fields a page of yesterday did not have keeps them; an unchecked box is off', async () => {
    const before = await env.ctx.settings.rules();
    // the whole form as the page shows it, with a changed quorum ...
    const page = (await admin.get('/admin/settings')).text;
    const fields: Record<string, string> = {};
    for (const m of page.matchAll(/<input[^>]*name="([^"]+)"[^>]*>/g)) {
      const tag = m[0];
      const type = /type="([^"]+)"/.exec(tag)?.[1] ?? 'text';
      if (type === 'checkbox' || type === 'radio') { if (/\schecked/.test(tag)) fields[m[1]!] = /value="([^"]*)"/.exec(tag)?.[1] ?? 'on'; continue; }
      fields[m[1]!] = (/value="([^"]*)"/.exec(tag)?.[1] ?? '').replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x3D;/g, '=').replace(/&#x27;/g, "'");
    }
    for (const m of page.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) fields[m[1]!] = /<option value="([^"]*)" selected/.exec(m[2]!)?.[1] ?? '';
    for (const m of page.matchAll(/<textarea[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g)) fields[m[1]!] = m[2]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x3D;/g, '=').replace(/&#x27;/g, "'");
    delete fields._csrf;
    // ... but without the rules of later features (as a form cached before they existed would send) and without one checkbox
    const later = ['supplementNoticeDays', 'writtenResolutionMode', 'writtenMinParticipationPercent', 'attendanceRight', 'votingRight', 'remoteParticipation', 'minorityDemandBasis', 'minorityDemandPercent', 'minorityDemandCount', 'mailBodyRetentionDays', 'duesDueDays'];
    for (const k of later) delete fields[k];
    delete fields.proxiesAllowed;
    const res = await admin.submit('/admin/settings', { ...fields, quorumPercent: '30' });
    expect(res.status, res.text.match(/field-error">[^<]*/g)?.join(' | ')).to.equal(303);
    const after = await env.ctx.settings.rules();
    expect(after.quorumPercent).to.equal(30);
    expect(after.proxiesAllowed).to.equal(false);
    for (const k of later) expect((after as unknown as Record<string, unknown>)[k], k).to.deep.equal((before as unknown as Record<string, unknown>)[k]); // why: comparing the rules field by field by name
  });
});
