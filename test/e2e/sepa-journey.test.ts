import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, freePort, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { insertMembers } from '../fakes/dues-fixture.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';

const actor = { userId: null, label: 'test' };

describe('browser: the treasurer creates a direct debit run and downloads its pain.008 file', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;
  const shots = screenshotDir();

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn('    chromium not installed at /usr/bin/chromium: apt-get install chromium');
      this.skip();
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = await createTestEnv({ env: { BASE_URL: base } });
    env.clock.set('2027-03-10T09:00:00Z');
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', contactEmail: 'vorstand@chemienetzwerk-harz.example', taxNumber: '21/270/12345',
      bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank', sepaCreditorId: 'DE98ZZZ09999999999',
    });
    await insertMembers(env.db, [cats.company, cats.research], 3);
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    const orgs = await env.ctx.dues.memberIdsOfYear(2027);
    for (const id of orgs) await env.ctx.dues.issueDuesInvoice(actor, id, 2027);
    // two of the three members have a mandate: one core, one B2B
    await env.ctx.sepa.createMandate(actor, orgs[0], 'paper', { scheme: 'CORE', iban: 'DE02120300000000202051', bic: '', holder: 'Harzer Mitglied 1 GmbH', signedOn: '2027-02-01' });
    await env.ctx.sepa.createMandate(actor, orgs[1], 'paper', { scheme: 'B2B', iban: 'AT611904300234573201', bic: '', holder: 'Harzer Mitglied 2 GmbH', signedOn: '2027-02-01' });
    await makeUser(env.ctx, 'schatzmeister@test.example', ['treasurer'], 'Tom Schatz');
    stop = (await serve(env.app, port)).stop;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
    await env?.close();
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `sepa-${name}.png`), fullPage: true });

  it('from the dashboard to the run, pre-notifications queued, the file downloaded', async () => {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 375, height: 800 } });
    const page = await context.newPage();
    await signIn(page, base, 'schatzmeister@test.example', PASSWORD);
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    await page.goto(`${base}/treasurer`);
    await page.getByRole('link', { name: 'SEPA-Lastschrift', exact: true }).click();
    await page.waitForURL(/\/treasurer\/sepa$/);
    await page.getByRole('button', { name: 'Neuer Lastschriftlauf' }).click();
    await page.waitForURL(/\/treasurer\/sepa\/runs\/new/);
    expect(await page.inputValue('#f-dueDate')).to.equal('2027-03-24');
    expect(await page.locator('#sepa-preview tbody tr').count()).to.equal(2);
    await shot(page, '01-preview');
    await page.getByRole('button', { name: 'Lastschriftlauf anlegen und Mitglieder benachrichtigen' }).click();
    await page.waitForURL(/\/treasurer\/sepa\/runs\/\d+$/);
    expect(await page.textContent('main')).to.contain('Lastschriftlauf mit 2 Lastschriften angelegt');
    expect(await page.textContent('#run-due')).to.contain('24.03.2027');
    await shot(page, '02-run');
    const width = await page.evaluate('document.documentElement.scrollWidth');
    expect(width).to.be.at.most(375);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#sepa-files li', { hasText: 'Basislastschrift' }).getByRole('link', { name: 'pain.008.001.08' }).click(),
    ]);
    expect(download.suggestedFilename()).to.equal('pain.008.001.08-2027-03-24-CORE-FRST.xml');
    const xml = fs.readFileSync((await download.path())!, 'utf8');
    expect(xml).to.contain('urn:iso:std:iso:20022:tech:xsd:pain.008.001.08');
    expect(xml).to.contain('<NbOfTxs>1</NbOfTxs>');
    expect(xml).to.contain('<SeqTp>FRST</SeqTp>');
    expect(xml).to.contain('<IBAN>DE02120300000000202051</IBAN>');
    const mails = await env.db('mail_messages').where({ template: 'sepa_prenotification' });
    expect(mails).to.have.length(2);
    await context.close();
  });
});
