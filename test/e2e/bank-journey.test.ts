import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, freePort, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { bankSetup } from '../integration/bank.fixtures.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/bank');

describe('browser: the treasurer uploads a bank statement, books the sure matches, assigns one by hand and undoes one', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;
  let inv: Record<string, number>;
  const shots = screenshotDir();

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn('    chromium not installed at /usr/bin/chromium: apt-get install chromium');
      this.skip();
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = await createTestEnv({ env: { BASE_URL: base } });
    ({ inv } = await bankSetup(env));
    stop = (await serve(env.app, port)).stop;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
    await env?.close();
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `bank-${name}.png`), fullPage: true });

  it('walks the journey', async () => {
    const page = await (await browser.newContext({ viewport: { width: 375, height: 800 } })).newPage();
    await signIn(page, base, 'treasurer@test.example', PASSWORD);
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));

    // the dashboard links to the bank page
    await page.goto(`${base}/treasurer`);
    await page.getByRole('link', { name: 'Kontoauszug einlesen' }).click();
    await page.waitForURL(/\/treasurer\/bank$/);

    // upload the statement
    await page.setInputFiles('#f-file', path.join(dir, 'camt053-v02-sparkasse.xml'));
    await page.getByRole('button', { name: 'Einlesen' }).click();
    await page.waitForURL(/\/treasurer\/bank$/);
    const main = (await page.textContent('main')) ?? '';
    expect(main).to.contain('6 neue Buchungen');
    expect(main).to.contain('Rücklastschrift (Grund AC04)');
    expect(main).to.contain('Rechnungsnummer 2027-0001 im Verwendungszweck');
    // no sideways scroll on a phone
    expect(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).to.equal(true);
    await shot(page, '01-uploaded');

    // book the sure matches at once
    await page.getByRole('button', { name: 'Alle 2 sicheren Zuordnungen buchen' }).click();
    await page.waitForURL(/\/treasurer\/bank$/);
    expect(await page.textContent('main')).to.contain('2 sichere Zuordnungen gebucht');
    expect((await env.ctx.dues.get(inv.harzer)).status).to.equal('paid');
    expect((await env.ctx.dues.get(inv.okertal)).status).to.equal('paid');

    // assign the Labor transfer by hand
    await page.locator('tr', { hasText: 'Beitrag Labor' }).getByRole('link', { name: 'Ansehen, zuordnen' }).click();
    await page.waitForURL(/\/treasurer\/bank\/lines\/\d+$/);
    await page.getByLabel('Rechnungsnummer(n)').fill('2027-0003');
    await page.getByRole('button', { name: 'Zuordnen und buchen' }).click();
    await page.locator('#line-status', { hasText: 'zugeordnet' }).waitFor();
    expect(await page.textContent('#line-allocations')).to.contain('2027-0003');
    expect((await env.ctx.dues.get(inv.goslar)).status).to.equal('paid');
    await shot(page, '02-assigned');

    // undo it: the invoice is open again, the line back in the queue
    await page.getByLabel('Grund').fill('Falsche Rechnung');
    await page.getByRole('button', { name: 'Rückgängig machen' }).click();
    await page.locator('#line-status', { hasText: 'offen' }).waitFor();
    expect(await page.textContent('main')).to.contain('Rückgängig gemacht');
    expect((await env.ctx.dues.get(inv.goslar)).status).to.equal('open');
    await page.goto(`${base}/treasurer/bank`);
    expect(await page.textContent('#bank-open-lines')).to.contain('Beitrag Labor');
    await shot(page, '03-undone');
  });
});
