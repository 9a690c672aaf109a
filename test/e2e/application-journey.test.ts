import { expect } from 'chai';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, freePort, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { SmtpSink } from '../fakes/smtp-sink.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';


function linkIn(text: string, pathPart: string): string {
  const m = text.match(new RegExp(`https?://[^\\s"<>]+${pathPart}[^\\s"<>]+`));
  if (!m) throw new Error(`no ${pathPart} link in:\n${text}`);
  return m[0];
}

describe('browser: apply, confirm, ask back, answer, approve, contact signs in', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let sink: SmtpSink;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;
  const shots = screenshotDir();

  before(async function () {
    if (!chromiumAvailable()) {
      // .ci/run installs Debian's chromium; a developer machine without it says so plainly
      console.warn('    chromium not installed at /usr/bin/chromium: apt-get install chromium');
      this.skip();
    }
    sink = await SmtpSink.start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = await createTestEnv({ smtpUrl: sink.url, env: { BASE_URL: base } });
    await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation({ userId: null, label: 'test' }, { ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', contactEmail: 'vorstand@chemienetzwerk-harz.example' });
    await makeUser(env.ctx, 'vorstand@test.example', ['board'], 'Dr. Vera Vorstand');
    stop = (await serve(env.app, port)).stop;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
    await env?.close();
    await sink?.stop();
  });

  async function mailTo(address: string, subjectPart: RegExp) {
    await env.ctx.outbox.flush();
    const m = [...sink.messages].reverse().find((x) => x.envelopeTo.includes(address) && subjectPart.test(x.subject));
    if (!m) throw new Error(`no mail to ${address} matching ${subjectPart}; got: ${sink.messages.map((x) => `${x.envelopeTo} ${x.subject}`).join('; ')}`);
    return m;
  }

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  }

  it('walks the whole journey', async () => {
    const applicant = await (await browser.newContext()).newPage();
    await applicant.goto(`${base}/apply`);
    expect(await applicant.locator('html').getAttribute('lang')).to.equal('de');
    await applicant.getByRole('link', { name: 'English' }).click();
    expect(await applicant.locator('html').getAttribute('lang')).to.equal('en');

    // first attempt with a German postcode of four digits: the error is shown next to the field, input kept
    await applicant.fill('[name=legal_name]', 'Müller & Söhne Oberharz GmbH');
    await applicant.fill('[name=legal_form]', 'GmbH');
    await applicant.fill('[name=street]', 'Bergstraße 5');
    await applicant.fill('[name=postcode]', '3864');
    await applicant.fill('[name=city]', 'Goslar');
    await applicant.fill('[name=vat_id]', 'DE626018158');
    await applicant.fill('[name=field_of_activity]', 'Spezialchemie und Lohnfertigung');
    await applicant.check('[name=employee_band][value="50-249"]');
    await applicant.fill('[name=rep_name]', 'Jana Müller');
    await applicant.fill('[name=rep_position]', 'Geschäftsführerin');
    await applicant.fill('[name=rep_email]', 'jana.mueller@mueller-soehne.example');
    await applicant.fill('[name=rep_phone]', '+49 5321 12345');
    await applicant.fill('[name=contribution]', 'Erfahrung in der Lohnfertigung, Ausbildungsplätze.');
    await applicant.check('[name=consent_bylaws]');
    await applicant.check('[name=consent_privacy]');
    await applicant.check('[name=consent_email]');
    const category = applicant.locator('[name=category_id]').first();
    if ((await category.evaluate((el) => el.tagName)) === 'SELECT') await category.selectOption({ label: 'Company' });
    else await applicant.getByLabel('Company').check();
    await applicant.locator('form[action="/apply"] button[type=submit]').click();
    await shot(applicant, '01-apply-error');
    const postcode = applicant.locator('[name=postcode]');
    expect(await postcode.getAttribute('aria-invalid')).to.equal('true');
    expect(await applicant.locator('#e-postcode, [id^=e-postcode]').first().textContent()).to.match(/five digits/);
    expect(await applicant.inputValue('[name=legal_name]')).to.equal('Müller & Söhne Oberharz GmbH');
    expect(await applicant.isChecked('[name=consent_privacy]')).to.equal(true);

    await postcode.fill('38640');
    await applicant.locator('form[action="/apply"] button[type=submit]').click();
    expect(await applicant.textContent('main')).to.match(/e-mail/i);

    // the confirmation e-mail arrives over SMTP; its link leads to a page with a button
    const confirm = await mailTo('jana.mueller@mueller-soehne.example', /.*/);
    await applicant.goto(linkIn(confirm.text, '/apply/confirm/'));
    await applicant.locator('main form button[type=submit]').click();
    await shot(applicant, '02-confirmed');
    const confirmedText = (await applicant.textContent('main')) ?? '';
    expect(confirmedText).to.match(/A-\d{4}-\d{4}/);
    expect(confirmedText).to.match(/board/i);

    // the board member signs in, finds the application in the queue and opens it
    const board = await (await browser.newContext()).newPage();
    await signIn(board, base, 'vorstand@test.example', PASSWORD);
    await board.goto(`${base}/board/applications`);
    await shot(board, '03-queue');
    await board.getByRole('link', { name: /Müller & Söhne Oberharz GmbH/ }).first().click();
    await board.fill('[name=comment_body]', 'Kennt jemand die Firma? <b>intern</b>');
    await board.locator('form[action$="/comment"] button[type=submit]').click();
    expect(await board.textContent('main')).to.contain('<b>intern</b>');
    await board.fill('[name=question_body]', 'Wie viele Auszubildende beschäftigen Sie?');
    await board.locator('form[action$="/question"] button[type=submit]').click();

    // the applicant answers through the link in the e-mail
    const question = await mailTo('jana.mueller@mueller-soehne.example', /.*/);
    expect(question.text).to.contain('Wie viele Auszubildende');
    await applicant.goto(linkIn(question.text, '/apply/answer/'));
    await applicant.fill('[name=answer]', 'Derzeit zwölf Auszubildende.');
    await applicant.locator('main form button[type=submit]').click();

    // the board sees the answer and approves with a resolution reference
    await board.reload();
    expect(await board.textContent('main')).to.contain('Derzeit zwölf Auszubildende.');
    await board.fill('[name=approve_resolution_ref]', 'Vorstandsbeschluss 2026/11');
    await board.locator('form[action$="/approve"] button[type=submit]').click();
    await shot(board, '04-approved');
    const org = (await env.db('organisations').where({ legal_name: 'Müller & Söhne Oberharz GmbH' }).first())!;
    expect(org, 'member created').to.not.equal(undefined);

    // the contact gets a welcome e-mail with a set-password link, sets a password and sees the portal
    const welcome = await mailTo('jana.mueller@mueller-soehne.example', /.*/);
    const contact = await (await browser.newContext()).newPage();
    await contact.goto(linkIn(welcome.text, '/welcome/'));
    await contact.fill('[name=password]', 'ein-sicheres-passwort');
    await contact.fill('[name=confirm]', 'ein-sicheres-passwort');
    await contact.locator('main form button[type=submit]').click();
    await contact.fill('[name=email]', 'jana.mueller@mueller-soehne.example');
    await contact.fill('[name=password]', 'ein-sicheres-passwort');
    await contact.locator('main form button[type=submit]').click();
    await contact.waitForURL(/\/portal/);
    await shot(contact, '05-portal');
    const portal = (await contact.textContent('main')) ?? '';
    expect(portal).to.contain('Müller & Söhne Oberharz GmbH');
    expect(portal).to.contain(`M-${String(org.member_number).padStart(4, '0')}`);
  });
});
