import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, freePort, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { SmtpSink } from '../fakes/smtp-sink.ts';
import { makeOrg } from '../integration/assemblies.fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';


describe('browser: the board prepares an assembly, invites, members answer, the day, the results', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let sink: SmtpSink;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;
  const shots = screenshotDir();
  const org: Record<string, number> = {};

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn('    chromium not installed at /usr/bin/chromium: apt-get install chromium');
      this.skip();
    }
    sink = await SmtpSink.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = await createTestEnv({ smtpUrl: sink.url, env: { BASE_URL: base } });
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation({ userId: null, label: 'test' }, { ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', contactEmail: 'vorstand@chemienetzwerk-harz.example' });
    await makeUser(env.ctx, 'vorstand@test.example', ['board'], 'Dr. Vera Vorstand');
    org.a = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'k.woelfel@harzer-spezialchemie.example' });
    org.b = await makeOrg(env.ctx, { name: 'Oker Pigmente AG', categoryId: cats.company, repEmail: 'j.brandt@oker-pigmente.example' });
    org.c = await makeOrg(env.ctx, { name: 'Clausthal Research Institute', categoryId: cats.research, repEmail: 'office@tu-research.example', repLocale: 'en' });
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
    await page.screenshot({ path: path.join(shots, `assembly-${name}.png`), fullPage: true });
  }

  it('walks the whole journey', async () => {
    // the board member signs in and creates the assembly
    const board = await (await browser.newContext()).newPage();
    await signIn(board, base, 'vorstand@test.example', PASSWORD);
    await board.goto(`${base}/board/assemblies/new`);
    await board.fill('[name=title]', 'Ordentliche Mitgliederversammlung 2026');
    await board.check('[name=kind][value=ordinary]');
    await board.fill('[name=date]', '2026-12-19');
    await board.fill('[name=time]', '18:00');
    await board.fill('[name=durationMinutes]', '120');
    await board.check('[name=format][value=in_person]');
    await board.fill('[name=location]', 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar');
    await board.locator('main form button[type=submit]').click();
    await board.waitForURL(/\/board\/assemblies\/\d+$/);
    const id = Number(board.url().split('/').pop());
    expect(await board.textContent('main')).to.contain('04.12.2026'); // last day to send

    // the agenda, in order
    for (const [title, kind] of [['Bericht des Vorstands', 'report'], ['Entlastung des Vorstands', 'resolution'], ['Wahl des Vorstands', 'election']]) {
      const details = board.locator('details', { has: board.locator('form[action$="/agenda"]') });
      if (!(await details.evaluate((d) => (d as unknown as { open: boolean }).open))) await details.locator('summary').click();
      await board.fill('form[action$="/agenda"] [name=title]', title);
      await board.selectOption('form[action$="/agenda"] [name=kind]', kind);
      await board.locator('form[action$="/agenda"] button[type=submit]').click();
      await board.waitForURL(/#agenda$/);
    }
    const agendaText = (await board.locator('#agenda ol').textContent()) ?? '';
    expect(agendaText.indexOf('Bericht des Vorstands')).to.be.lessThan(agendaText.indexOf('Wahl des Vorstands'));
    await shot(board, '01-prepared');

    // sending: the job is picked up by the page and shows its progress until it is done
    env.ctx.assemblies.jobs.autoStart = false; // let the page start it, as after a restart
    try {
      await board.locator('form[action$="/send"] button[type=submit]').click();
      await board.waitForURL(new RegExp(`/board/assemblies/${id}$`));
      const progress = board.locator('progress');
      if (await progress.count()) expect(Number(await progress.getAttribute('max'))).to.be.greaterThan(0);
      for (let i = 0; i < 50 && (await board.locator('progress').count()); i++) {
        await new Promise((r) => setTimeout(r, 100));
        await board.reload();
      }
    } finally {
      env.ctx.assemblies.jobs.autoStart = true;
    }
    expect(await board.locator('progress').count()).to.equal(0);
    expect(await board.textContent('#send')).to.contain('Einladung versandt am');
    await shot(board, '02-sent');

    // the member opens the personal link from the e-mail that arrived over SMTP
    await env.ctx.outbox.flush();
    await sink.waitFor(3);
    const mail = sink.to('j.brandt@oker-pigmente.example')[0];
    expect(mail.subject).to.contain('Einladung zur ordentlichen Mitgliederversammlung am 19.12.2026');
    expect(mail.parsed.attachments.map((a) => a.filename)).to.deep.equal(['einladung.ics']);
    const link = mail.text.match(/https?:\/\/[^\s"<>]+\/a\/[A-Za-z0-9_-]{43}/)![0];
    const member = await (await browser.newContext()).newPage();
    await member.goto(link);
    expect(await member.textContent('main')).to.contain('Oker Pigmente AG');
    await member.check('[name=attending][value=no]');
    await member.locator('form[action$="/rsvp"] button[type=submit]').click();
    await member.waitForURL(/#rsvp$/);
    expect(await member.textContent('main')).to.contain('Ihre Rückmeldung ist gespeichert.');
    await member.selectOption('[name=holderOrganisationId]', { label: 'Harzer Spezialchemie GmbH' });
    await member.locator('form[action$="/proxy"] button[type=submit]').click();
    await member.waitForURL(/#proxy$/);
    expect(await member.textContent('#proxy')).to.contain('Harzer Spezialchemie GmbH');
    await shot(member, '03-member-answered');

    // the board sees the answers
    await board.goto(`${base}/board/assemblies/${id}/answers`);
    const answers = (await board.textContent('main')) ?? '';
    expect(answers).to.contain('Oker Pigmente AG');
    expect(answers).to.contain('Harzer Spezialchemie GmbH');

    // on the day: check-in; the proxy counts for the holder who is present
    env.clock.set('2026-12-19T16:45:00Z');
    await board.goto(`${base}/board/assemblies/${id}/day`);
    const row = board.locator(`form[action$="/attendance/${org.a}"]`);
    await row.locator('[name=personName]').fill('Katrin Wölfel');
    await row.locator('button[type=submit]').click();
    await board.waitForURL(new RegExp(`#org-${org.a}$`));
    const dayText = (await board.textContent('main')) ?? '';
    expect(dayText).to.contain('Katrin Wölfel');
    expect(dayText).to.contain('1 selbst, 1 per Vollmacht');
    await shot(board, '04-day');

    // afterwards: a resolution with votes, the minutes as text and as a signed PDF
    env.clock.set('2026-12-19T19:30:00Z');
    await board.goto(`${base}/board/assemblies/${id}/results`);
    const item = board.locator('article', { hasText: 'Entlastung des Vorstands' });
    await item.locator('[name=yes]').fill('2');
    await item.locator('[name=no]').fill('0');
    await item.locator('[name=abstain]').fill('0');
    await item.locator('button[type=submit]').click();
    await board.waitForURL(/\/results$/);
    expect(await board.locator('article', { hasText: 'Entlastung des Vorstands' }).textContent()).to.contain('angenommen');
    await board.fill('form[action$="/minutes"] [name=body]', 'Protokoll der Mitgliederversammlung vom 19.12.2026. Beginn 18:00 Uhr.');
    await board.locator('form[action$="/minutes"] button[type=submit]').click();
    await board.waitForURL(/\/results$/);
    const pdf = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'verein-e2e-')), 'Protokoll MV 2026.pdf');
    fs.writeFileSync(pdf, '%PDF-1.4\n% Protokoll\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    await board.setInputFiles('form[action$="/minutes/file"] [name=file]', pdf);
    await board.locator('form[action$="/minutes/file"] button[type=submit]').click();
    await board.waitForURL(/\/results#minutes$/);
    const results = (await board.textContent('main')) ?? '';
    expect(results).to.contain('Protokoll-PDF gespeichert.');
    expect(results).to.contain('Protokoll MV 2026.pdf');
    expect(await board.inputValue('form[action$="/minutes"] [name=body]')).to.contain('Beginn 18:00 Uhr');
    await shot(board, '05-results');
    env.clock.set('2026-11-25T09:00:00Z');
  });
});
