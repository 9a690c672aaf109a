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
import { makeOrg, TEST_ACTOR } from '../integration/assemblies.fixtures.ts';
import { makeWorld, type World } from '../integration/portal.fixtures.ts';

/**
 * Issue 10: a hybrid assembly in the browser. A member answers "online" in the portal, the
 * board checks in one member online and one in the room, a bylaws change fails at 8:3 and passes
 * at 9:3 (three quarters of the votes cast), and the minutes are sent.
 */
describe('browser: a hybrid assembly — RSVP online, check-in online and in the room, a bylaws change, the minutes', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let sink: SmtpSink;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;
  let w: World;
  const shots = screenshotDir();
  const others: number[] = [];

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn('    chromium not installed at /usr/bin/chromium: apt-get install chromium');
      this.skip();
    }
    sink = await SmtpSink.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = await createTestEnv({ smtpUrl: sink.url, env: { BASE_URL: base } });
    w = await makeWorld(env);
    for (let i = 1; i <= 10; i++) others.push(await makeOrg(env.ctx, { name: `Mitglied ${i} Chemie GmbH`, categoryId: w.cats.company, repEmail: `m${i}@mitglied.example` }));
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
    await page.screenshot({ path: path.join(shots, `hybrid-${name}.png`), fullPage: true });
  }

  it('walks the hybrid journey', async () => {
    const board = await (await browser.newContext()).newPage();
    await signIn(board, base, 'board@test.example', PASSWORD);
    await board.goto(`${base}/board/assemblies/new`);
    await board.fill('[name=title]', 'Hybride Mitgliederversammlung 2026');
    await board.check('[name=kind][value=ordinary]');
    await board.fill('[name=date]', '2026-12-19');
    await board.fill('[name=time]', '18:00');
    await board.check('[name=format][value=hybrid]');
    await board.fill('[name=location]', 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar');
    await board.fill('[name=participationInfo]', 'Online per Videokonferenz; Abstimmung per Handzeichen in der Kamera.');
    await board.fill('[name=onlineLink]', 'https://meet.example/mv2026');
    await board.fill('[name=onlineAccessCode]', 'Harz-4711');
    await board.locator('main form button[type=submit]').click();
    await board.waitForURL(/\/board\/assemblies\/\d+$/);
    const id = Number(board.url().split('/').pop());
    expect(await board.textContent('#remote-rule')).to.contain('hybride Versammlung erlaubt');
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Änderung der Satzung (§ 5)', description: '', kind: 'bylaws_change', proposedText: '§ 5 erhält folgende Fassung: …' });
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);

    // a member answers in the portal: attending, online
    const member = await (await browser.newContext()).newPage();
    await signIn(member, base, 'anna@harzer.example', PASSWORD);
    await member.goto(`${base}/portal/assemblies/${id}`);
    await member.check('[name=attending][value=yes]');
    await member.check('[name=mode][value=online]');
    await member.locator('form[action$="/rsvp"] button[type=submit]').click();
    await member.waitForURL(/#rsvp$/);
    expect(await member.textContent('#rsvp')).to.contain('online');
    await shot(member, '01-rsvp-online');

    // the day: one member checked in online, one in the room, the others in the room too
    env.clock.set('2026-12-19T16:45:00Z');
    await board.goto(`${base}/board/assemblies/${id}/day`);
    const rowA = board.locator(`form[action$="/attendance/${w.orgA}"]`);
    await rowA.locator('[name=mode][value=online]').check();
    await rowA.locator('button[type=submit]').click();
    await board.waitForURL(new RegExp(`#org-${w.orgA}$`));
    const rowB = board.locator(`form[action$="/attendance/${w.orgB}"]`);
    await rowB.locator('[name=mode][value=room]').check();
    await rowB.locator('button[type=submit]').click();
    await board.waitForURL(new RegExp(`#org-${w.orgB}$`));
    for (const o of others) await env.ctx.assemblies.day.checkIn(TEST_ACTOR, id, o, 'in', '', 'room');
    await board.reload();
    const counts = (await board.textContent('#mode-counts')) ?? '';
    expect(counts.replace(/\s+/g, ' ')).to.contain('11 vor Ort').and.contain('1 online');
    await shot(board, '02-day');

    // the bylaws change: 8 yes, 3 no is below three quarters; 9 yes, 3 no reaches it
    env.clock.set('2026-12-19T19:30:00Z');
    await board.goto(`${base}/board/assemblies/${id}/results`);
    const record = async (yes: string, no: string) => {
      const item = board.locator('article', { hasText: 'Änderung der Satzung' });
      await item.locator('[name=yes]').fill(yes);
      await item.locator('[name=no]').fill(no);
      await item.locator('[name=abstain]').fill('0');
      await item.locator('button[type=submit]').click();
      await board.waitForURL(/\/results/);
      return (await board.locator('article', { hasText: 'Änderung der Satzung' }).textContent()) ?? '';
    };
    const failed = await record('8', '3');
    expect(failed).to.contain('abgelehnt');
    expect(failed).to.not.contain('angenommen');
    const passed = await record('9', '3');
    expect(passed).to.contain('angenommen');
    await shot(board, '03-results');

    // the minutes, sent to the members
    await board.fill('form[action$="/minutes"] [name=body]', 'Protokoll der hybriden Mitgliederversammlung vom 19.12.2026.');
    await board.locator('form[action$="/minutes"] button[type=submit]').click();
    await board.waitForURL(/\/results/);
    await board.locator('form[action$="/minutes/send"] button[type=submit]').click();
    await board.waitForURL(/\/results/);
    await env.ctx.assemblies.jobs.idle(id);
    await env.ctx.outbox.flush();
    await sink.waitFor(1);
    const minutesMail = sink.to('m1@mitglied.example').find((m) => /Protokoll/.test(m.subject));
    expect(minutesMail, 'the minutes arrived over SMTP').to.not.equal(undefined);
    expect(minutesMail!.parsed.text).to.contain('Änderung der Satzung').and.contain('angenommen');
    // the minutes PDF is attached, with the bylaws change's result in it (read with poppler's pdftotext)
    const pdf = minutesMail!.parsed.attachments.find((a) => a.contentType === 'application/pdf');
    expect(pdf, 'the minutes PDF is attached').to.not.equal(undefined);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'minutes-')), 'protokoll.pdf');
    fs.writeFileSync(file, pdf!.content);
    const pdfText = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(pdfText).to.contain('angenommen mit 9 von 12 abgegebenen Stimmen');
    env.clock.set('2026-11-25T09:00:00Z');
  });
});
