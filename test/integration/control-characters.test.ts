import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { crawl, formsOf, shape, type FoundForm } from '../helpers/crawl.ts';
import { seedDemo, DEMO_PASSWORD, DEMO_USERS, DEMO_PORTAL_USER } from '../../seeds/demo.ts';
import { tFor } from '../../server/i18n/i18n.ts';

/**
 * Every form and every query parameter, as every role finds them by walking the pages: a
 * control character (NUL, vertical tab, escape) in any typed field is refused with 422 and the
 * message next to the field, never a 500 (PostgreSQL refuses a NUL byte) and never stored.
 */
describe('control characters: refused on every form and query parameter, for every role', function () {
  this.timeout(300_000);
  let env: TestEnv;
  // the demo's administration reads English: either language's words count
  const said = (html: string, key: string) => html.includes(tFor('de')(key)) || html.includes(tFor('en')(key));
  const roles: { name: string; email?: string }[] = [
    { name: 'anonymous' },
    ...DEMO_USERS.map((u) => ({ name: u.roles.join(','), email: u.email })),
    { name: 'member', email: DEMO_PORTAL_USER.email },
  ];
  const forms = new Map<string, { role: string; form: FoundForm; browser: Browser }>();
  const queries = new Map<string, { role: string; url: string; browser: Browser }>();

  before(async () => {
    env = await createTestEnv();
    await seedDemo(env.ctx, () => {});
    // an assembly, so that its forms (agenda, attendance, minutes) are walked too
    const board = new Browser(env.app);
    await board.login('vorstand@demo.example', DEMO_PASSWORD);
    const made = await board.submit('/board/assemblies/new', { title: 'Ordentliche Mitgliederversammlung', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: '120', format: 'in_person', location: 'Kaiserpfalz Goslar', participationInfo: '' }, '/board/assemblies');
    expect(made.status, made.text.slice(0, 300)).to.equal(303);
    // invoices of 2026, so that the payment and cancel forms are walked
    const actor = { userId: null, label: 'test' };
    await env.ctx.dues.freezeFeeSchedule(actor, 2026);
    const { jobId } = await env.ctx.duesRuns.start(actor, 2026);
    await env.ctx.jobs.waitFor(jobId);
    for (const role of roles) {
      const b = new Browser(env.app);
      if (role.email) await b.login(role.email, DEMO_PASSWORD);
      const pages = await crawl(b, ['/', '/login', '/apply', '/password/forgot', '/board/members', '/board/assemblies', '/treasurer', '/admin', '/portal', '/account'], 250);
      for (const p of pages) {
        if (p.url.includes('?')) {
          const k = `${role.name} GET ${shape(p.url)}`;
          if (!queries.has(k)) queries.set(k, { role: role.name, url: p.url, browser: b });
        }
        for (const f of formsOf(p.url, p.html)) {
          if (!f.typed.length) continue;
          const k = `${role.name} ${f.method} ${shape(f.action)} ${f.typed.join(',')}`;
          if (!forms.has(k)) forms.set(k, { role: role.name, form: f, browser: b });
        }
      }
    }
  });
  after(async () => env?.close());

  it('finds the forms of every role (the walk reaches them)', () => {
    const actions = [...forms.values()].map((f) => `${f.form.method} ${shape(f.form.action)}`);
    for (const expected of ['POST /login', 'POST /apply', 'POST /password/forgot', 'GET /board/members', 'POST /board/members/:id/edit', 'POST /board/assemblies/:id/agenda', 'POST /admin/users/new', 'POST /treasurer/invoices/:id/payments', 'POST /portal/contacts/new']) {
      expect(actions, expected).to.include(expected);
    }
    if (process.env.SHOW_FORMS) console.log([...new Set(actions)].sort().join('\n'));
  });

  it('a form with a control character in any typed field answers 422 with the message next to the field; nothing is stored', async () => {
    const problems: string[] = [];
    for (const [key, { form, browser }] of forms) {
      for (const bad of ['\u0000', '\u000b', '\u001b[31m']) {
        const fields = form.fields.map(([k, v]) => [k, form.typed.includes(k) ? `Wert${bad}x${v}` : v] as [string, string]);
        let res;
        if (form.method === 'GET') {
          const qs = new URLSearchParams(fields).toString();
          res = await browser.get(`${form.action}${form.action.includes('?') ? '&' : '?'}${qs}`);
          if (res.status !== 422 || !said(res.text, 'input.controlTitle')) problems.push(`${key} ${JSON.stringify(bad)}: ${res.status}`);
        } else {
          // a fresh token: the page is loaded again, as a person would
          const page = await browser.get(form.page);
          const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
          const body = new URLSearchParams(fields.map(([k, v]): [string, string] => [k, k === '_csrf' ? token : v])).toString();
          res = await browser.agent.post(form.action).type('form').send(body);
          // a form that answers on the next page (a check-in row): the message is there
          if (res.status === 303 && said((await browser.get(String(res.headers.location))).text, 'input.controlCharacters')) continue;
          if (res.status !== 422) problems.push(`${key} ${JSON.stringify(bad)}: ${res.status}`);
          else if (!said(res.text, 'input.controlCharacters')) problems.push(`${key} ${JSON.stringify(bad)}: 422 without the field message`);
        }
        if (res.text.includes('\u0000') || res.text.includes('\u001b')) problems.push(`${key}: the control character is shown back`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('a query parameter or a path segment with a control character answers 422, never 500', async () => {
    const problems: string[] = [];
    for (const [key, { url, browser }] of queries) {
      const u = new URL(url, 'http://x');
      for (const k of [...u.searchParams.keys()]) {
        const v = new URL(u);
        v.searchParams.set(k, `${u.searchParams.get(k)}\u0000`);
        const res = await browser.get(`${v.pathname}${v.search}`);
        if (res.status !== 422) problems.push(`${key} ${k}: ${res.status}`);
      }
    }
    const anon = new Browser(env.app);
    for (const url of ['/board/members?q=a%00b', '/login?lang=de%00', '/a/abc%00def', '/password/reset/x%00y', '/welcome/%00', '/apply?x=%1b']) {
      const res = await anon.get(url);
      if (res.status !== 422) problems.push(`${url}: ${res.status}`);
    }
    expect(problems).to.deep.equal([]);
    expect(queries.size, 'pages with query parameters walked').to.be.greaterThan(3);
  });

  it('tab and line breaks in a multi-line field are kept', async () => {
    const b = new Browser(env.app);
    await b.login('vorstand@demo.example', DEMO_PASSWORD);
    const id = (await env.db('assemblies').first('id'))!.id;
    const res = await b.submit(`/board/assemblies/${id}/edit`, { title: 'Ordentliche Mitgliederversammlung', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: '120', format: 'in_person', location: 'Kaiserpfalz\tGoslar\r\nKaiserbleek 6', participationInfo: '' }, `/board/assemblies/${id}`);
    expect(res.status, res.text.slice(0, 400)).to.equal(303);
    const row = await env.db('assemblies').where({ id }).first('location');
    expect(row!.location).to.contain('\t').and.to.contain('\n');
  });

  it('nothing with a control character reached the database', async () => {
    const tables = ['organisations', 'contacts', 'applications', 'application_contacts', 'users', 'assemblies', 'assembly_agenda_items', 'audit_log', 'mail_messages'];
    for (const t of tables) {
      const rows = await env.db(t).select('*');
      // eslint-disable-next-line no-control-regex -- looking for them
      const bad = rows.filter((r) => Object.values(r).some((v) => typeof v === 'string' && /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(v)));
      expect(bad.length, t).to.equal(0);
    }
  });
});
