import { expect } from 'chai';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { seedDemo } from '../../seeds/demo.ts';

describe('browser: the board searches the register, edits a member and records its exit', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn('    chromium not installed at /usr/bin/chromium: apt-get install chromium');
      this.skip();
    }
    env = await createTestEnv();
    await seedDemo(env.ctx, () => {}); // ChemieNetzwerk Harz e.V. with its 20 founding members
    const server = await serve(env.app);
    base = server.url;
    stop = server.stop;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
    await env?.close();
  });

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: path.join(screenshotDir(), `${name}.png`), fullPage: true });
  }

  it('finds, edits and gives notice', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, base, 'vorstand@demo.example', 'demo-passwort');

    // search
    await page.goto(`${base}/board/members`);
    expect(await page.textContent('main')).to.contain('Harzer Spezialchemie GmbH');
    await page.fill('#f-q', 'oker');
    await page.locator('search form button[type=submit]').click();
    await shot(page, '11-register-search');
    const results = (await page.textContent('main')) ?? '';
    expect(results).to.contain('Oker Spezialgase GmbH');
    expect(results).to.contain('Okertal Metallrecycling GmbH & Co. KG');
    expect(results).not.to.contain('Harzer Spezialchemie GmbH');

    // open and edit
    await page.getByRole('link', { name: 'Oker Spezialgase GmbH' }).click();
    await page.locator('a[href$="/edit"][role=button]').first().click();
    await page.fill('[name=street]', 'Bahnhofstraße 41');
    await page.fill('[name=postcode]', '3864'); // wrong: four digits
    await page.locator('form[action$="/edit"] button[type=submit]').click();
    expect(await page.getAttribute('[name=postcode]', 'aria-invalid')).to.equal('true');
    expect(await page.inputValue('[name=street]')).to.equal('Bahnhofstraße 41');
    await page.fill('[name=postcode]', '38642');
    await page.locator('form[action$="/edit"] button[type=submit]').click();
    const detail = (await page.textContent('main')) ?? '';
    expect(detail).to.contain('Bahnhofstraße 41');

    // notice of termination received today (25.11.2026): 3 months to the end of the year → 31.12.2027
    await page.locator('a[href$="/status"][role=button]').first().click();
    await page.locator('form[action$="/notice"] [name=receivedDate]').fill('2026-11-25');
    await page.locator('form[action$="/notice"] button[type=submit]').click();
    await shot(page, '12-member-notice');
    const after = (await page.textContent('main')) ?? '';
    expect(after).to.contain('31.12.2027');

    const org = (await env.db('organisations').where({ legal_name: 'Oker Spezialgase GmbH' }).first())!;
    expect(org).to.include({ street: 'Bahnhofstraße 41', status: 'notice_given', exit_date: '2027-12-31' });
    const audit = await env.db('audit_log').where({ entity_type: 'organisation', entity_id: org.id }).pluck('action');
    expect(audit).to.include.members(['member.updated', 'member.notice_recorded']);

    // the register's filter lists it among those who gave notice
    await page.goto(`${base}/board/members?status=notice_given`);
    expect(await page.textContent('main')).to.contain('Oker Spezialgase GmbH');
  });
});
