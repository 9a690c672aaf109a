import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { chromiumAvailable, freePort, signIn, launchChromium, serve } from '../helpers/browser.ts';
import { seedDemo, DEMO_PASSWORD, DEMO_PORTAL_USER } from '../../seeds/demo.ts';
import { assemblySchema, agendaItemSchema } from '../../server/assemblies/assemblies.schemas.ts';

/**
 * Every page of every role, walked at a phone's width (375 px) and a laptop's (1280 px):
 * no page may be wider than the window, and no field or button of a form may lie outside it.
 * At the phone's width axe-core checks each page too: any violation fails, whatever its impact.
 * Pages are found by crawling from each role's home page (GET links only, same origin), one
 * page per route pattern, so that a list of 20 members is one page, not 20.
 */

const WIDTHS = [375, 1280];
const CAP_PER_ROLE = 45;
const ACTOR = { userId: null, label: 'test' };

/** Links the walk never follows: downloads, logging out, the language switch (the same page again). */
const SKIP = [/\/logout/, /\.(csv|xlsx|pdf|ics|zip|json|xml)$/, /\/xml$/, /\/attachments\//, /\/pdf$/, /\/invoices\/[^/]+\.pdf/, /\/healthz/, /\/preview\/html$/, /\/portal\/invoices\/[^/]+$/, /\/static\//];

/** The route a path belongs to: numbers and long tokens become placeholders. */
function pattern(pathname: string): string {
  return pathname
    .split('/')
    .map((s) => (/^\d+$/.test(s) ? ':n' : /^[A-Za-z0-9_-]{20,}$/.test(s) ? ':token' : s))
    .join('/');
}

interface Problem { url: string; width: number; what: string }

/** axe-core from node_modules when present (it is injected into the page); the walk runs without it otherwise. */
function axeSource(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return fs.readFileSync(path.join(path.dirname(require.resolve('axe-core/package.json')), 'axe.min.js'), 'utf8');
  } catch {
    return undefined;
  }
}

async function checkPage(page: Page, width: number, axe: string | undefined): Promise<string[]> {
  // runs in the page (plain JavaScript: this project compiles without the DOM's types)
  const found = await page.evaluate<string[]>(`(() => {
    const out = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth) {
      // name the outermost elements that stick out, so the message says where to look
      const culprits = [];
      for (const el of Array.from(document.body.querySelectorAll('*'))) {
        const r = el.getBoundingClientRect();
        const parent = el.parentElement?.getBoundingClientRect();
        if (r.right > window.innerWidth + 1 && parent && parent.right <= window.innerWidth + 1) {
          culprits.push(\`\${el.tagName.toLowerCase()}\${el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''} (\${Math.round(r.right)} px)\`);
        }
        if (culprits.length >= 3) break;
      }
      out.push(\`page is \${doc.scrollWidth} px wide: \${culprits.join(', ')}\`);
    }
    const els = document.querySelectorAll('form input:not([type=hidden]), form select, form textarea, form button, form label');
    for (const el of Array.from(els)) {
      if (el.closest('.hp-field')) continue; // the honeypot is off-screen on purpose
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not shown (closed <details>, hidden)
      // inside a container that scrolls sideways on its own (a wide table) the element is reachable by scrolling it
      let p = el.parentElement;
      let inScroller = false;
      while (p && p !== document.body) {
        const ox = getComputedStyle(p).overflowX;
        if (ox === 'auto' || ox === 'scroll') { inScroller = true; break; }
        p = p.parentElement;
      }
      if (inScroller) continue;
      if (r.right > window.innerWidth + 1 || r.left < -1) {
        const name = el.getAttribute('name') ?? el.textContent?.trim().slice(0, 30) ?? '';
        out.push(\`<\${el.tagName.toLowerCase()} \${name}> at \${Math.round(r.left)}–\${Math.round(r.right)} px\`);
      }
    }
    return out;
  })()`);
  if (axe && width === WIDTHS[0]) {
    // evaluated by the browser's debugger protocol, not as an inline <script>: the app's CSP stays in force
    if (!(await page.evaluate<boolean>('typeof window.axe === "object"'))) await page.evaluate(axe);
    const violations = await page.evaluate<string[]>(`(async () => {
      const r = await window.axe.run({ resultTypes: ['violations'] });
      return r.violations
        .map((v) => 'axe ' + v.impact + ' ' + v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', '));
    })()`);
    found.push(...violations);
  }
  return found;
}

describe('browser: every page of every role fits a 375 px phone and a 1280 px laptop', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let browser: Browser;
  let base: string;
  let stop: () => Promise<void>;
  const extra: string[] = [];
  const axe = axeSource();

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn('    chromium not installed at /usr/bin/chromium: apt-get install chromium');
      this.skip();
    }
    if (!axe) console.warn('    axe-core is not in node_modules: the walk checks the layout only');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = await createTestEnv({ env: { BASE_URL: base } });
    await seedDemo(env.ctx, () => {});
    // h/harden2: long German compounds in headings (an organisation's name, an agenda item) must wrap on a phone, not widen the page
    await env.db('organisations').where({ member_number: 1 }).update({ legal_name: 'Industrieabwasserbehandlungsanlagenbetreibergemeinschaft Harzer Spezialchemie GmbH' });
    // an assembly with its agenda, invitations sent (personal links), and a year of dues invoiced
    const assemblyId = await env.ctx.assemblies.assembly.create(ACTOR, assemblySchema.parse({
      title: 'Ordentliche Mitgliederversammlung 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: '120',
      format: 'in_person', location: 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar', participationInfo: '',
    }));
    for (const [title, kind] of [['Bericht des Vorstands', 'report'], ['Entlastung des Vorstands', 'resolution'], ['Wahl des Vorstands', 'election'], ['Mitgliedsbeitragsordnungsneufassungsbeschluss', 'resolution']]) {
      await env.ctx.assemblies.assembly.addAgendaItem(ACTOR, assemblyId, agendaItemSchema.parse({ title, kind, description: 'Der Vorstand berichtet über das Jahr 2026 und stellt den Haushalt vor.', proposedText: '' }));
    }
    env.ctx.assemblies.jobs.autoStart = false;
    const jobId = await env.ctx.assemblies.sending.startSending(ACTOR, assemblyId);
    await env.ctx.assemblies.jobs.run(jobId);
    await env.ctx.dues.freezeFeeSchedule(ACTOR, 2026);
    const orgs = await env.ctx.dues.memberIdsOfYear(2026);
    for (const id of orgs.slice(0, 4)) await env.ctx.dues.issueAndDeliver(ACTOR, id, 2026);
    // h/bank: a statement for the demo account (credits, a batch booking, a return), so the bank page and its line pages are walked
    {
      const own = (await env.ctx.settings.association()).iban.replace(/\s+/g, '');
      const xml = fs.readFileSync(path.join(import.meta.dirname, '../fixtures/bank/camt053-v02-sparkasse.xml'), 'utf8').replaceAll('DE89370400440532013000', own);
      await env.ctx.bank.import(ACTOR, 'demo.xml', Buffer.from(xml));
    }
    // the personal links and the applicant's links, as the mails carry them
    const bodies = await env.db('mail_messages').pluck('text_body');
    for (const b of bodies) {
      for (const m of String(b).matchAll(/https?:\/\/127\.0\.0\.1:\d+(\/(?:a|apply\/answer|apply\/confirm)\/[A-Za-z0-9_-]+)/g)) extra.push(m[1]);
    }
    for (const b of bodies) for (const m of String(b).matchAll(/https?:\/\/127\.0\.0\.1:\d+(\/g\/[A-Za-z0-9_-]{43})/g)) extra.push(m[1]); // h/groups: RSVP links
    stop = (await serve(env.app, port)).stop;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
    await env?.close();
  });

  async function walk(context: BrowserContext, starts: string[]): Promise<{ pages: string[]; problems: Problem[] }> {
    const page = await context.newPage();
    const seen = new Set<string>();
    const queue = [...starts];
    const pages: string[] = [];
    const problems: Problem[] = [];
    while (queue.length && pages.length < CAP_PER_ROLE) {
      const p = queue.shift()!;
      const key = pattern(p.split('?')[0]!) + (p.includes('?') ? '?' : '');
      if (seen.has(key)) continue;
      seen.add(key);
      await page.setViewportSize({ width: WIDTHS[0]!, height: 800 });
      const res = await page.goto(base + p);
      const type = res?.headers()['content-type'] ?? '';
      if (!type.includes('text/html')) continue;
      pages.push(p);
      if ((res?.status() ?? 0) >= 500) problems.push({ url: p, width: 0, what: `status ${res?.status()}` });
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 800 });
        for (const what of await checkPage(page, width, axe)) problems.push({ url: p, width, what });
      }
      const links = await page.evaluate<string[]>("Array.from(document.querySelectorAll('a[href]')).map((a) => a.href)");
      for (const href of links) {
        const u = new URL(href, base);
        if (u.origin !== base) continue;
        const rel = u.pathname + u.search;
        if (SKIP.some((r) => r.test(u.pathname)) || u.searchParams.has('lang')) continue;
        queue.push(rel);
      }
    }
    await page.close();
    return { pages, problems };
  }

  function report(problems: Problem[]): string {
    return problems.map((x) => `${x.url} @${x.width}px: ${x.what}`).join('\n');
  }

  const roles: { name: string; email?: string; starts: () => string[] }[] = [
    { name: 'public and applicant', starts: () => ['/', '/apply', '/login', '/password/forgot', '/apply/resend', '/netzwerk', '/netzwerk/harzer-spezialchemie-gmbh', /* h/lead2 */ ...extra.filter((e) => e.startsWith('/apply'))] },
    { name: 'member (portal and personal invitation link)', email: DEMO_PORTAL_USER.email, starts: () => ['/portal', ...extra.filter((e) => e.startsWith('/a/')).slice(0, 1), '/portal/sepa' /* h/sepa */] },
    { name: 'board', email: 'vorstand@demo.example', starts: () => ['/board/applications', '/board/members', '/board/assemblies'] },
    { name: 'treasurer', email: 'kasse@demo.example', starts: () => ['/treasurer', '/treasurer/invoices', '/treasurer/reconcile' /* h/stripe */, ...['/treasurer/sepa', '/treasurer/sepa/runs/new', '/treasurer/sepa/returns/new', '/treasurer/sepa/settings'] /* h/sepa */, '/treasurer/organisations/1/invoice/items' /* h/items */] },
    { name: 'admin', email: 'admin@demo.example', starts: () => ['/admin'] },
    // h/groups: the working groups: the board's overview and pages, the portal's, and a personal RSVP link from a meeting invitation
    { name: 'working groups (board)', email: 'vorstand@demo.example', starts: () => ['/board/groups'] },
    { name: 'working groups (portal, RSVP link)', email: DEMO_PORTAL_USER.email, starts: () => ['/portal/groups', ...extra.filter((e) => e.startsWith('/g/')).slice(0, 1)] },
  ];

  for (const role of roles) {
    it(`${role.name}: no page wider than the window, no form element outside it`, async () => {
      const context = await browser.newContext();
      if (role.email) {
        const page = await context.newPage();
        await signIn(page, base, role.email, DEMO_PASSWORD);
        await page.waitForURL((u) => !u.pathname.startsWith('/login'));
        await page.close();
      }
      const { pages, problems } = await walk(context, role.starts());
      await context.close();
      expect(pages.length, 'pages walked').to.be.greaterThan(role.email ? 3 : 2);
      expect(problems.length, `${pages.length} pages walked, problems:\n${report(problems)}\n`).to.equal(0);
    });
  }
});
