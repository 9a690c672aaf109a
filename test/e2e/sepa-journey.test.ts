import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
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
  /** axe-core's violations on the page (any impact), injected through the debugger protocol as the layout walk does. */
  const axeViolations = async (page: Page): Promise<string[]> => {
    const src = fs.readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve('axe-core/package.json')), 'axe.min.js'), 'utf8');
    if (!(await page.evaluate<boolean>('typeof window.axe === "object"'))) await page.evaluate(src);
    return page.evaluate<string[]>(`(async () => (await window.axe.run({ resultTypes: ['violations'] })).violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))()`);
  };

  it('a debit taken out before its file went to the bank: the form asks for a reason next to the field, the run and its files no longer hold it; after the download the form asks to confirm the recall', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const page = await context.newPage();
    await signIn(page, base, 'schatzmeister@test.example', PASSWORD);
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    await page.goto(`${base}/treasurer/sepa`);
    await page.getByRole('link', { name: /^Lastschriftlauf \d+$/ }).first().click();
    await page.waitForURL(/\/treasurer\/sepa\/runs\/\d+$/);
    const runUrl = page.url();
    const euros = async () => Number((await page.textContent('#run-total'))!.replace(/[^\d,]/g, '').replace(',', '.'));
    const totalBefore = await euros();
    // the B2B debit: its file was not downloaded
    await page.locator('#sepa-debits tr', { hasText: 'B2B' }).getByRole('link', { name: 'Herausnehmen …' }).click();
    await page.waitForURL(/\/debits\/\d+\/cancel$/);
    expect(await page.textContent('main')).to.contain('noch nicht heruntergeladen');
    expect(await page.locator('#f-recalled').count()).to.equal(0);
    await page.getByRole('button', { name: 'Lastschrift herausnehmen' }).click();
    expect(await page.textContent('#e-reason')).to.contain('Bitte angeben, warum');
    expect(await axeViolations(page)).to.deep.equal([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).to.be.at.most(375);
    await shot(page, '03-take-out');
    await page.fill('#f-reason', 'Mitglied zahlt per Überweisung');
    await page.getByRole('button', { name: 'Lastschrift herausnehmen' }).click();
    await page.waitForURL(runUrl);
    expect(await page.textContent('main')).to.contain('ist herausgenommen');
    expect(await page.textContent('#sepa-debits')).to.contain('herausgenommen: Mitglied zahlt per Überweisung');
    expect(await page.locator('#sepa-files li').count(), 'only the core file is left').to.equal(1);
    const totalAfter = await euros();
    expect(totalAfter).to.be.above(0);
    expect(totalAfter, 'the run sum without the B2B debit').to.be.below(totalBefore);
    expect(await axeViolations(page)).to.deep.equal([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).to.be.at.most(375);
    // the core debit: its file was downloaded in the first test
    await page.locator('#sepa-debits tr', { hasText: 'CORE' }).getByRole('link', { name: 'Herausnehmen …' }).click();
    expect(await page.textContent('main')).to.contain('heruntergeladen; die Bank hat sie vielleicht schon');
    await page.fill('#f-reason', 'doppelt bezahlt');
    await page.getByRole('button', { name: 'Lastschrift herausnehmen' }).click();
    expect(await page.textContent('#e-recalled')).to.contain('erst bei der Bank zurückrufen');
    expect(await page.inputValue('#f-reason')).to.equal('doppelt bezahlt');
    expect(await axeViolations(page)).to.deep.equal([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).to.be.at.most(375);
    await shot(page, '04-recall');
    await context.close();
  });
});
