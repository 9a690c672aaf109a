import { expect } from 'chai';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { seedDemo, DEMO_PASSWORD, DEMO_PORTAL_USER } from '../../seeds/demo.ts';

describe('browser: a member publishes its directory profile, the board approves, a visitor finds it and writes', function () {
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
    await seedDemo(env.ctx, () => {});
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

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(screenshotDir(), `${name}.png`), fullPage: true });

  it('edits, approves, filters by field and sends an enquiry, at 375 px for the visitor', async () => {
    // the member's contact adds a field and submits
    const member = await (await browser.newContext()).newPage();
    await signIn(member, base, DEMO_PORTAL_USER.email, DEMO_PASSWORD);
    await member.goto(`${base}/portal`);
    await member.getByRole('link', { name: 'Netzwerkprofil' }).click();
    expect(await member.textContent('main')).to.contain('veröffentlicht');
    await member.getByLabel('Energie').check();
    await member.fill('#f-descriptionDe', 'Spezialchemikalien und Wasserstoff-Katalysatoren aus Goslar.');
    await member.getByRole('button', { name: 'Zur Freigabe einreichen' }).click();
    expect(await member.textContent('main')).to.contain('Das Profil ist eingereicht');
    expect(await member.textContent('main')).to.contain('Ihre letzten Änderungen sind noch nicht freigegeben');
    await shot(member, '40-directory-portal');

    // before approval the visitor does not find it under Energie
    const visitor = await (await browser.newContext({ viewport: { width: 375, height: 800 } })).newPage();
    await visitor.goto(`${base}/netzwerk?feld=energie`);
    expect(await visitor.textContent('main')).not.to.contain('Harzer Spezialchemie GmbH');

    // the board approves
    const board = await (await browser.newContext()).newPage();
    await signIn(board, base, 'vorstand@demo.example', DEMO_PASSWORD);
    await board.goto(`${base}/board/directory`);
    const card = board.locator('article', { hasText: 'Harzer Spezialchemie GmbH' });
    expect(await card.textContent()).to.contain('Wasserstoff-Katalysatoren');
    await card.getByRole('button', { name: 'Freigeben und veröffentlichen' }).click();
    expect(await board.textContent('main')).to.contain('Das Profil ist veröffentlicht.');

    // the visitor filters by field on a phone, opens the profile and writes
    await visitor.goto(`${base}/netzwerk`);
    await visitor.selectOption('#f-feld', 'energie');
    await visitor.getByRole('button', { name: 'Anzeigen' }).click();
    expect(visitor.url()).to.contain('feld=energie');
    const list = (await visitor.textContent('main')) ?? '';
    expect(list).to.contain('Harzer Spezialchemie GmbH');
    expect(list).not.to.contain('Okertal Metallrecycling'); // Recycling only
    const width = await visitor.evaluate<number>('document.documentElement.scrollWidth');
    expect(width, 'no sideways scroll at 375 px').to.be.at.most(375);
    await shot(visitor, '41-directory-list-375');
    await visitor.getByRole('link', { name: 'Harzer Spezialchemie GmbH' }).click();
    expect(await visitor.title()).to.contain('Harzer Spezialchemie GmbH');
    await visitor.fill('#f-name', 'Dr. Eva Forsch');
    await visitor.fill('#f-email', 'eva@tu-clausthal.example');
    await visitor.fill('#f-message', 'Wir suchen Partner für ein Wasserstoffprojekt.');
    await visitor.getByRole('button', { name: 'Nachricht senden' }).click();
    expect(await visitor.textContent('main')).to.contain('Danke, Ihre Nachricht ist unterwegs.');
    await shot(visitor, '42-directory-enquiry-375');

    const mail = await env.db('mail_messages').where({ template: 'directory_enquiry' }).first();
    expect(mail?.to_address).to.equal(DEMO_PORTAL_USER.email); // the representative is the named contact in the demo
    expect(mail?.text_body).to.contain('Wir suchen Partner für ein Wasserstoffprojekt.');
    expect(mail?.text_body).to.contain('eva@tu-clausthal.example');
  });
});
