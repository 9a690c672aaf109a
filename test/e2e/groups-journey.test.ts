import { expect } from 'chai';
import path from 'node:path';
import ICAL from 'ical.js';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, freePort, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { SmtpSink } from '../fakes/smtp-sink.ts';
import { makeWorld } from '../integration/portal.fixtures.ts';

describe('browser: a contact joins a working group, the lead schedules a meeting, the contact answers from the mail', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let sink: SmtpSink;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;
  let groupId: number;
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
    await makeWorld(env);
    groupId = await env.ctx.groups.create({ userId: null, label: 'test', email: '', contactId: null, isBoard: true }, {
      nameDe: 'Fachkräfte', nameEn: 'Skilled workers', purposeDe: 'Fachkräfte für die Region gewinnen.', purposeEn: 'Winning skilled workers for the region.',
      leadEmail: 'anna@harzer.example', sponsorUserId: null, access: 'open',
    });
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
    await page.screenshot({ path: path.join(shots, `groups-${name}.png`), fullPage: true });
  }

  it('walks the journey', async () => {
    // the contact finds the group in the portal and joins it
    const carla = await (await browser.newContext()).newPage();
    await signIn(carla, base, 'carla@okertal.example', PASSWORD);
    await carla.goto(`${base}/portal/groups`);
    await carla.locator(`form[action="/portal/groups/${groupId}/join"] button`).click();
    await carla.waitForURL(new RegExp(`/portal/groups/${groupId}$`));
    expect(await carla.textContent('main')).to.contain('Sie sind der Arbeitsgruppe beigetreten.');
    expect(await carla.textContent('#members')).to.contain('Carla Carstens');
    await shot(carla, 'joined');

    // the lead schedules a meeting
    const anna = await (await browser.newContext()).newPage();
    await signIn(anna, base, 'anna@harzer.example', PASSWORD);
    await anna.goto(`${base}/portal/groups/${groupId}`);
    await anna.getByRole('button', { name: 'Sitzung planen' }).click();
    await anna.fill('[name=title]', 'Ausbildungsmesse vorbereiten');
    await anna.fill('[name=date]', '2026-12-10');
    await anna.fill('[name=time]', '16:00');
    await anna.fill('[name=durationMinutes]', '90');
    await anna.selectOption('[name=format]', 'in_person');
    await anna.fill('[name=location]', 'TU Clausthal, Aula');
    await anna.fill('[name=agenda]', '1. Stände\n2. Plakate');
    await anna.locator('main form button[type=submit]').click();
    await anna.waitForURL(/#meetings$/);
    expect(await anna.textContent('#meetings')).to.contain('10.12.2026, 16:00 Uhr');
    await shot(anna, 'scheduled');

    // the invitation arrives with a calendar entry; the contact answers from its link without signing in
    await env.ctx.outbox.flush();
    await sink.waitFor(Number((await env.db('mail_messages').count({ n: '*' }).first())!.n));
    const mail = sink.to('carla@okertal.example').find((m) => m.subject.startsWith('Einladung:'))!;
    expect(mail.subject).to.equal('Einladung: Fachkräfte am 10.12.2026, 16:00 Uhr');
    const ics = mail.parsed.attachments.find((a) => a.filename === 'termin.ics')!;
    const event = new ICAL.Event(new ICAL.Component(ICAL.parse(ics.content.toString('utf8'))).getFirstSubcomponent('vevent')!);
    expect(event.summary).to.equal('Fachkräfte: Ausbildungsmesse vorbereiten');
    const link = mail.text.match(/http:\/\/127\.0\.0\.1:\d+\/g\/[A-Za-z0-9_-]{43}/)![0];
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(link);
    expect(await visitor.textContent('main')).to.contain('Antwort für Carla Carstens');
    await visitor.check('[name=answer][value=yes]');
    await visitor.locator('main form button[type=submit]').click();
    await visitor.waitForURL(link);
    expect(await visitor.textContent('main')).to.contain('Ihre Antwort ist gespeichert.');
    expect(await visitor.textContent('main')).to.contain('Ihre bisherige Antwort: Zusage');
    await shot(visitor, 'answered');

    // the lead sees the answer
    await anna.goto(`${base}/portal/groups/${groupId}`);
    expect(await anna.textContent('#meetings')).to.contain('1 Zusagen, 0 Absagen, 0 vielleicht, 1 ohne Antwort');
  });
});
