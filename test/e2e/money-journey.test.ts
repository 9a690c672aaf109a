import { expect } from 'chai';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, freePort, signIn, launchChromium, screenshotDir, serve } from '../helpers/browser.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { insertMembers } from '../fakes/dues-fixture.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';

/** Money as the pages show it, with the space (a no-break space there) made plain by text() below. */
const eur = (s: string) => `${s} €`;
const actor = { userId: null, label: 'test' };

/**
 * Issue 11 in a browser: a bank payment typed wrongly (450,00 € for 300,00 €) is reversed by a
 * counter-booking and booked again, and the dashboard's totals are right after it; a member who
 * joined in March is billed singly from the member page, pro rata from the join date; a member
 * whose membership ended is refused, with the end date in words.
 */
describe('browser: the treasurer reverses a mistyped payment, bills a joiner singly and is refused for a leaver', function () {
  this.timeout(120_000);
  let env: TestEnv;
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
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = await createTestEnv({ env: { BASE_URL: base } });
    env.clock.set('2027-05-20T09:00:00Z');
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', contactEmail: 'vorstand@chemienetzwerk-harz.example', taxNumber: '21/270/12345',
      bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    // M-0001 research (300 €), M-0002 supporting (250 €), M-0003 company 1–49 employees (500 €)
    await insertMembers(env.db, [cats.company, cats.research, cats.supporting], 3);
    const ids = (await env.db('organisations').orderBy('member_number').select('id')).map((r) => Number(r.id));
    [org.payer, org.joiner, org.leaver] = ids as [number, number, number];
    await env.db('organisations').where({ id: org.joiner }).update({ join_date: '2027-03-02' });
    await env.db('organisations').where({ id: org.leaver }).update({ exit_date: '2026-12-31' });
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    const first = await env.ctx.dues.issueSingle(actor, org.payer, 2027);
    expect(first).to.deep.include({ issued: true, number: '2027-0001' });
    await makeUser(env.ctx, 'schatzmeister@test.example', ['treasurer'], 'Tom Schatz');
    stop = (await serve(env.app, port)).stop;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
    await env?.close();
  });

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: path.join(shots, `money-${name}.png`), fullPage: true });
  }
  const text = async (page: Page, sel: string) => ((await page.textContent(sel)) ?? '').replace(/\s+/g, ' ').trim();

  it('reverses the mistyped payment, books the right one, and the dashboard agrees', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, base, 'schatzmeister@test.example', PASSWORD);
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));

    await page.goto(`${base}/treasurer/invoices?year=2027`);
    await page.getByRole('link', { name: '2027-0001' }).click();
    await page.waitForURL(/\/treasurer\/invoices\/\d+$/);
    const invoiceUrl = page.url();
    await page.fill('[name=amount]', '450,00');
    await page.fill('[name=reference]', 'Überweisung 2027-0001');
    await page.getByRole('button', { name: /speichern|erfassen/i }).click();
    await page.waitForURL(invoiceUrl);
    await page.goto(`${base}/treasurer?year=2027`);
    expect(await text(page, '#stat-paid')).to.contain(eur('450,00'));

    // the typo is reversed (a counter-booking with its reason), never deleted
    await page.goto(invoiceUrl);
    await page.getByRole('link', { name: 'Stornieren' }).first().click();
    await page.waitForURL(/\/treasurer\/payments\/\d+\/reverse$/);
    await page.fill('[name=amount]', '450,00');
    await page.fill('[name=reason]', 'Tippfehler: 450 statt 300 gebucht');
    await shot(page, '01-reverse');
    await page.getByRole('button', { name: 'Zahlung stornieren' }).click();
    await page.waitForURL(invoiceUrl);
    const payments = await text(page, 'main');
    expect(payments).to.contain('Tippfehler: 450 statt 300 gebucht');
    expect(payments).to.contain(eur('-450,00'));

    // the right amount, booked again
    await page.fill('[name=amount]', '300,00');
    await page.fill('[name=reference]', 'Überweisung 2027-0001');
    await page.getByRole('button', { name: /speichern|erfassen/i }).click();
    await page.waitForURL(invoiceUrl);
    await page.locator('#invoice-status', { hasText: /^\s*bezahlt\s*$/ }).waitFor({ timeout: 15_000 });

    await page.goto(`${base}/treasurer?year=2027`);
    expect(await text(page, '#stat-invoiced')).to.contain(eur('300,00'));
    expect(await text(page, '#stat-paid')).to.contain(eur('300,00'));
    expect(await text(page, '#stat-open')).to.contain(eur('0,00'));
    await shot(page, '02-dashboard');
    // the books hold all three bookings: 450, −450, 300
    const rows = await env.db('payments').orderBy('id').select('amount_cents');
    expect(rows.map((r) => Number(r.amount_cents))).to.deep.equal([45000, -45000, 30000]);
  });

  it('bills the joiner singly from the member page, pro rata from the join date; refuses the leaver with the end date', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, base, 'schatzmeister@test.example', PASSWORD);
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));

    await page.goto(`${base}/board/members/${org.joiner}`);
    await page.fill('#f-invoice-year', '2027');
    await page.getByRole('button', { name: 'Rechnung ausstellen' }).click();
    await page.waitForURL(/\/treasurer\/invoices\/\d+$/);
    const invoice = await text(page, 'main');
    expect(invoice).to.contain('2027-0002').and.to.contain('02.03.2027');
    const row = await env.db('invoices').where({ organisation_id: org.joiner }).first();
    expect(row).to.deep.include({ number: '2027-0002', period_start: '2027-03-02', period_end: '2027-12-31' });
    expect(Number(row!.amount_cents)).to.be.greaterThan(0).and.lessThan(25000);
    await shot(page, '03-joiner');

    await page.goto(`${base}/board/members/${org.leaver}`);
    await page.fill('#f-invoice-year', '2027');
    await page.getByRole('button', { name: 'Rechnung ausstellen' }).click();
    await page.waitForURL(new RegExp(`/board/members/${org.leaver}$`));
    expect(await text(page, '[role=alert]')).to.contain('Die Mitgliedschaft endete am 31.12.2026');
    expect(await env.db('invoices').where({ organisation_id: org.leaver }).first()).to.equal(undefined);
    await shot(page, '04-leaver');
  });
});
