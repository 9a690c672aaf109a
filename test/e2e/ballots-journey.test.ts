import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, freePort, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { SmtpSink } from '../fakes/smtp-sink.ts';
import { ballotWorld, type BallotWorld } from '../integration/ballots.fixtures.ts';
import { createRequire } from 'node:module';

/** Serious and critical axe-core violations of the page (axe evaluated in the page, so the CSP does not stop it). */
async function axeViolations(page: Page): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const source = fs.readFileSync(path.join(path.dirname(require.resolve('axe-core/package.json')), 'axe.min.js'), 'utf8');
  await page.evaluate(source);
  return page.evaluate<string[]>(`(async () => {
    const r = await window.axe.run({ resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.impact + ' ' + v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', '));
  })()`);
}

/**
 * Issue 15: an electronic ballot in the browser with three voters: Aurum online in the portal,
 * carrying two proxies; Brocken in the room, counted by show of hands entered by the board;
 * Elbingerode on the check-in tablet. The chair opens, watches the participation rise without
 * reloading, closes, and the minutes show the result.
 */
describe('browser: an electronic ballot — online with proxies, the tablet, a show of hands, the minutes', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let sink: SmtpSink;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;
  let w: BallotWorld;
  const shots = screenshotDir();

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn('    chromium not installed at /usr/bin/chromium: apt-get install chromium');
      this.skip();
    }
    sink = await SmtpSink.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = await createTestEnv({ smtpUrl: sink.url, env: { BASE_URL: base } });
    w = await ballotWorld(env);
    stop = (await serve(env.app, port)).stop;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
    await env?.close();
    await sink?.stop();
  });

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: path.join(shots, `ballot-${name}.png`), fullPage: true });
  }

  it('walks the ballot from opening to the minutes', async () => {
    const chair = await (await browser.newContext()).newPage();
    await signIn(chair, base, 'board@test.example', PASSWORD);
    // the chair opens a ballot on the discharge of the board
    await chair.goto(`${base}/board/assemblies/${w.id}/day`);
    await chair.getByRole('button', { name: 'Elektronische Abstimmungen' }).click();
    expect(await axeViolations(chair), 'the ballots page').to.deep.equal([]);
    const item = chair.locator(`#item-${w.items.resolution}`);
    await item.locator('summary').click();
    await item.locator('[name=question]').fill('Wird der Vorstand für 2025 entlastet?');
    await item.locator('[name=minutes]').fill('15');
    await item.locator('button[type=submit]').click();
    await chair.waitForURL(/\/ballots\/\d+$/);
    const chairUrl = chair.url();
    expect(await chair.textContent('#participation')).to.match(/0\s*von\s*5/);
    await shot(chair, '01-opened');
    expect(await axeViolations(chair), 'the chair\'s page').to.deep.equal([]);

    // online: Aurum votes in the portal for itself and the two members it represents, one of them separately
    const member = await (await browser.newContext({ viewport: { width: 375, height: 800 } })).newPage();
    await signIn(member, base, 'member.a@test.example', PASSWORD);
    await member.goto(`${base}/portal/assemblies/${w.id}`);
    await member.locator('#ballots a').first().click();
    expect(await member.textContent('main')).to.contain('Sie stimmen für 3 Mitglieder.');
    await member.getByLabel('Ja').first().check();
    await member.locator('summary', { hasText: 'Getrennt' }).click();
    await member.locator(`[name=m${w.org.c}][value=no]`).check();
    await shot(member, '02-portal-form');
    expect(await axeViolations(member), 'the voting form').to.deep.equal([]);
    await member.getByRole('button', { name: 'Stimme abgeben' }).click();
    expect(await member.textContent('main')).to.contain('3 Stimmen wurden gezählt.');
    expect(await member.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).to.equal(true);
    await shot(member, '03-portal-voted');

    // the chair's page follows without a reload (polling)
    await chair.locator('[data-live="voted"]', { hasText: /^3$/ }).waitFor();

    // the room: Elbingerode on the check-in tablet
    const tablet = await (await browser.newContext()).newPage();
    await signIn(tablet, base, 'board@test.example', PASSWORD);
    await tablet.goto(`${chairUrl}/tablet`);
    await tablet.getByRole('link', { name: 'Elbingerode Kalk AG' }).click();
    expect(await axeViolations(tablet), 'the tablet').to.deep.equal([]);
    await tablet.getByLabel('Nein').check();
    await tablet.getByRole('button', { name: 'Stimme abgeben' }).click();
    expect(await tablet.textContent('main')).to.contain('1 Stimme wurde gezählt.');
    expect(await tablet.textContent('main')).to.not.contain('Elbingerode Kalk AG');
    await chair.locator('[data-live="voted"]', { hasText: /^4$/ }).waitFor();

    // the room's show of hands: Brocken, the one vote in the room not cast electronically, raises its hand for yes
    await chair.reload();
    await chair.locator('#h-yes').fill('1');
    await chair.getByRole('button', { name: 'Handzeichen eintragen' }).click();
    expect(await chair.textContent('#participation')).to.match(/5\s*von\s*5/);
    await shot(chair, '04-all-voted');
    await chair.getByRole('button', { name: 'Abstimmung schließen' }).click();
    const result = (await chair.textContent('#result')) ?? '';
    expect(result.replace(/\s+/g, ' ')).to.contain('angenommen mit 3 von 5 abgegebenen Stimmen');
    await shot(chair, '05-result');
    expect(await axeViolations(chair), 'the result').to.deep.equal([]);

    // the minutes: the result with the rule, the participation and who voted how
    await chair.goto(`${base}/board/assemblies/${w.id}/results`);
    const article = (await chair.locator('article', { hasText: 'Entlastung des Vorstands' }).textContent()) ?? '';
    expect(article.replace(/\s+/g, ' ')).to.contain('angenommen').and.contain('Elektronische Abstimmung (offen)').and.contain('Clausthal Polymere GmbH (vertreten durch Aurum Chemie GmbH): Nein');
    await chair.fill('form[action$="/minutes"] [name=body]', 'Protokoll der hybriden Mitgliederversammlung.');
    await chair.locator('form[action$="/minutes"] button[type=submit]').click();
    await chair.waitForURL(/\/results/);
    await chair.locator('form[action$="/minutes/send"] button[type=submit]').click();
    await chair.waitForURL(/\/results/);
    await env.ctx.assemblies.jobs.idle(w.id);
    await env.ctx.outbox.flush();
    await sink.waitFor(1);
    const mail = sink.to('b@b.example').find((m) => /Protokoll/.test(m.subject));
    expect(mail, 'the minutes arrived over SMTP').to.not.equal(undefined);
    expect((mail!.parsed.text ?? '').replace(/\s+/g, ' ')).to.contain('Entlastung des Vorstands: angenommen (Ja 3, Nein 2, Enthaltungen 0)').and.contain('1 per Handzeichen');
    const pdf = mail!.parsed.attachments.find((a) => a.contentType === 'application/pdf');
    expect(pdf, 'the minutes PDF is attached').to.not.equal(undefined);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'minutes-')), 'protokoll.pdf');
    fs.writeFileSync(file, pdf!.content);
    const pdfText = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(pdfText).to.contain('angenommen mit 3 von 5 abgegebenen Stimmen').and.contain('Zahl der Abstimmenden und Zahl der Stimmen stimmen überein (5)');
  });
});
