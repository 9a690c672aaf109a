import { expect } from 'chai';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, freePort, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { insertMembers } from '../fakes/dues-fixture.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';


/** Money as the pages show it (Intl puts a no-break space before €). */
const eur = (s: string) => `${s}\u00a0€`;

/**
 * The invoice status the page shows, once it shows `expected` (or after the wait, whatever it
 * shows then, for the assertion to report): after a form posts back to the same URL, the old
 * page may still be there when the new one is on its way.
 */
async function invoiceStatus(page: Page, expected: string): Promise<string> {
  const exactly = new RegExp(`^\\s*${expected}\\s*$`);
  await page.locator('#invoice-status', { hasText: exactly }).waitFor({ timeout: 15_000 }).catch(() => undefined);
  return ((await page.textContent('#invoice-status')) ?? '').trim();
}

describe('browser: the treasurer sets the fees, runs the dues, and sees invoices paid by transfer and through Stripe', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let fake: StripeFake;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;
  const shots = screenshotDir();

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn('    chromium not installed at /usr/bin/chromium: apt-get install chromium');
      this.skip();
    }
    fake = await new StripeFake().start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = await createTestEnv({ env: { BASE_URL: base, STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret } });
    env.clock.set('2027-01-05T09:00:00Z');
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation({ userId: null, label: 'test' }, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', contactEmail: 'vorstand@chemienetzwerk-harz.example', taxNumber: '21/270/12345',
      bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    // three members: M-0001 research (300 €), M-0002 supporting (250 €), M-0003 company 1–49 employees (500 €)
    await insertMembers(env.db, [cats.company, cats.research, cats.supporting], 3);
    await makeUser(env.ctx, 'schatzmeister@test.example', ['treasurer'], 'Tom Schatz');
    stop = (await serve(env.app, port)).stop;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
    await env?.close();
    await fake?.stop();
  });

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: path.join(shots, `dues-${name}.png`), fullPage: true });
  }

  it('walks the whole journey', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, base, 'schatzmeister@test.example', PASSWORD);
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));

    // the fee schedule of 2027, frozen from the categories
    await page.goto(`${base}/treasurer/fees/2027`);
    expect(await page.textContent('main')).to.contain('Für 2027 ist noch keine Beitragsordnung festgelegt');
    await page.getByRole('button', { name: 'Beitragsordnung 2027 festlegen' }).click();
    await page.waitForURL(/\/treasurer\/fees\/2027$/);
    const fees = (await page.textContent('main')) ?? '';
    expect(fees).to.contain('Die Beitragsordnung 2027 ist festgelegt.');
    expect(fees).to.contain(eur('300,00'));
    await shot(page, '01-fees');

    // the preview: each member with its amount, and the totals
    await page.goto(`${base}/treasurer/runs/new/2027`);
    const preview = (await page.textContent('main')) ?? '';
    for (const s of ['M-0001', 'Harzer Mitglied 1 GmbH', 'M-0002', 'Harzer Mitglied 2 GmbH', 'M-0003', 'Harzer Mitglied 3 GmbH']) expect(preview, s).to.contain(s);
    expect(await page.locator('tbody tr').count()).to.equal(3);
    expect(await page.textContent('#total-invoice')).to.contain(eur('1.050,00'));
    expect(await page.textContent('#total-invoice')).to.contain('3 Rechnungen');
    await shot(page, '02-preview');

    // start the run; the progress page refreshes itself until the run is done (the result
    // appears only then, and the finished page no longer refreshes): wait for that page
    await page.getByRole('button', { name: 'Beitragslauf 2027 starten' }).click();
    await page.waitForURL(/\/treasurer\/runs\/\d+$/);
    expect(await page.locator('progress#run-progress').count()).to.equal(1);
    await page.locator('#run-issued').waitFor({ timeout: 60_000 }).catch(async () => {
      throw new Error(`run not done: ${await page.textContent('main')}`);
    });
    const progress = page.locator('progress#run-progress');
    expect(await progress.getAttribute('value')).to.equal('3');
    expect(await progress.getAttribute('max')).to.equal('3');
    expect((await page.textContent('#run-issued'))?.trim()).to.equal('3');
    await shot(page, '03-run-done');
    // each invoice went to Stripe and its e-mail carries the payment link
    const rows = await env.db('invoices').where({ year: 2027 }).orderBy('number');
    expect(rows.map((r) => r.number)).to.deep.equal(['2027-0001', '2027-0002', '2027-0003']);
    for (const r of rows) {
      expect(r.stripe_invoice_id, r.number).to.match(/^in_/);
      expect(r.mailed_at, r.number).to.be.a('string');
    }

    // the first invoice is paid by bank transfer, recorded on its page
    await page.goto(`${base}/treasurer/invoices?year=2027`);
    await page.getByRole('link', { name: '2027-0001' }).click();
    await page.waitForURL(/\/treasurer\/invoices\/\d+$/);
    expect(await invoiceStatus(page, 'offen')).to.equal('offen');
    await page.fill('[name=amount]', '300,00');
    await page.fill('[name=reference]', 'Überweisung 2027-0001');
    await page.getByRole('button', { name: /speichern|erfassen/i }).click();
    expect(await invoiceStatus(page, 'bezahlt')).to.equal('bezahlt');
    expect(await page.textContent('#invoice-paid')).to.contain(eur('300,00'));
    expect(await page.textContent('main')).to.contain('Überweisung 2027-0001');
    await shot(page, '04-transfer-recorded');

    // the second is paid on Stripe's hosted page; Stripe posts a signed invoice.paid event
    const second = rows[1];
    const { invoice } = fake.payInvoice(second.stripe_invoice_id!);
    const { body, signature } = fake.signed(fake.event('invoice.paid', invoice));
    const hook = await fetch(`${base}/webhooks/stripe`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature }, body });
    expect(hook.status).to.equal(200);
    await page.goto(`${base}/treasurer/invoices/${second.id}`);
    expect(await invoiceStatus(page, 'bezahlt')).to.equal('bezahlt');
    expect(await page.textContent('main')).to.contain('Stripe');

    // the dashboard counts both as paid, the third as open
    await page.goto(`${base}/treasurer?year=2027`);
    expect(await page.textContent('#stat-invoiced')).to.contain(eur('1.050,00'));
    expect(await page.textContent('#stat-paid')).to.contain(eur('550,00'));
    expect(await page.textContent('#stat-paid')).to.contain('2 vollständig bezahlt');
    expect(await page.textContent('#stat-open')).to.contain(eur('500,00'));
    expect(await page.textContent('#stat-open')).to.contain('1 Rechnung');
    await shot(page, '05-dashboard');
  });
});
