import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { seedDemo, DEMO_PASSWORD } from '../../seeds/demo.ts';

/**
 * Multi-line text comes back exactly as typed when a form is shown again with an error, and
 * again after a second error: no spaces added in front of the lines (Handlebars indents an
 * indented partial's output unless told not to), nothing trimmed inside.
 */

const MULTI = 'Kaiserpfalz Goslar\n  Kaiserbleek 6\n\n38640 Goslar\n\tEingang Nord';

function unescape(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&#x3D;/g, '=').replace(/&#x60;/g, '`').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function attrs(tag: string): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (const m of tag.matchAll(/\s([a-zA-Z_:-]+)(?:="([^"]*)")?/g)) out[m[1]!] = m[2] === undefined ? true : unescape(m[2]);
  return out;
}

/** The form with this action on the page, read as a browser would send it. */
function formData(html: string, action: string): { data: Record<string, string>; textareas: string[] } {
  const forms = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/g)].map((m) => m[0]).filter((f) => attrs(f.slice(0, f.indexOf('>') + 1)).action === action);
  if (forms.length !== 1) throw new Error(`${forms.length} forms with action ${action}`);
  const form = forms[0]!;
  const data: Record<string, string> = {};
  for (const m of form.matchAll(/<input\b[^>]*>/g)) {
    const a = attrs(m[0]);
    if (typeof a.name !== 'string' || a.disabled) continue;
    const type = typeof a.type === 'string' ? a.type : 'text';
    if ((type === 'checkbox' || type === 'radio') && !a.checked) continue;
    if (type === 'submit') continue;
    data[a.name] = typeof a.value === 'string' ? a.value : type === 'checkbox' || type === 'radio' ? 'on' : '';
  }
  for (const m of form.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/g)) {
    const a = attrs(`<select${m[1]}>`);
    if (typeof a.name !== 'string') continue;
    const options = [...m[2]!.matchAll(/<option\b([^>]*)>([\s\S]*?)<\/option>/g)].map((o) => ({ a: attrs(`<option${o[1]}>`), text: unescape(o[2]!) }));
    const chosen = options.find((o) => o.a.selected) ?? options[0];
    if (chosen) data[a.name] = typeof chosen.a.value === 'string' ? chosen.a.value : chosen.text;
  }
  const textareas: string[] = [];
  for (const m of form.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/g)) {
    const a = attrs(`<textarea${m[1]}>`);
    if (typeof a.name !== 'string') continue;
    textareas.push(a.name);
    // the HTML parser drops one newline right after <textarea>, as a browser does
    data[a.name] = unescape(m[2]!.replace(/^\r?\n/, ''));
  }
  return { data, textareas };
}

interface Case { who: string; page: string; action: string; fill: Record<string, string>; break: Record<string, string>; fix?: Record<string, string>; stored?: (env: TestEnv) => Promise<object> }

describe('forms: multi-line text is kept exactly through every re-render', function () {
  this.timeout(120_000);
  let env: TestEnv;
  const users: Record<string, Browser> = {};

  before(async () => {
    env = await createTestEnv();
    await seedDemo(env.ctx, () => {});
    users.public = new Browser(env.app);
    for (const [who, email] of [['board', 'vorstand@demo.example'], ['admin', 'admin@demo.example']] as const) {
      users[who] = new Browser(env.app);
      await users[who].login(email, DEMO_PASSWORD);
    }
  });
  after(async () => env?.close());

  const cases: Case[] = [
    { who: 'public', page: '/apply', action: '/apply', fill: { legal_name: 'Müller & Söhne Oberharz GmbH', postcode: '3864' }, break: { postcode: '3864' } },
    {
      who: 'board', page: '/board/assemblies/new', action: '/board/assemblies',
      fill: { title: 'Ordentliche Mitgliederversammlung 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: '120', format: 'hybrid' },
      break: { time: '25:00' }, fix: { time: '18:00' },
      stored: async (e) => (await e.db('assemblies').orderBy('id', 'desc').first())!,
    },
    {
      who: 'board', page: '/board/members/1/edit', action: '/board/members/1/edit', fill: {}, break: { postcode: '3864' }, fix: { postcode: '38640' },
      stored: async (e) => (await e.db('organisations').where({ id: 1 }).first())!,
    },
  ];

  for (const c of cases) {
    it(`${c.page}: every textarea, twice with an error, then saved`, async () => {
      const b = users[c.who]!;
      let html = (await b.get(c.page)).text;
      const first = formData(html, c.action);
      expect(first.textareas.length, 'textareas on the form').to.be.greaterThan(0);
      let data: Record<string, string> = { ...first.data, ...c.fill, ...c.break };
      for (const name of first.textareas) data[name] = MULTI;
      for (let round = 1; round <= 2; round++) {
        const res = await b.agent.post(c.action).type('form').send(data);
        expect(res.status, `round ${round}`).to.equal(422);
        html = res.text;
        const again = formData(html, c.action);
        for (const name of first.textareas) expect(again.data[name], `${name} after error ${round}`).to.equal(MULTI);
        data = again.data; // what the browser sends when the person submits the page as shown
      }
      if (!c.fix || !c.stored) return;
      const res = await b.agent.post(c.action).type('form').send({ ...data, ...c.fix });
      expect(res.status, res.text.slice(0, 200)).to.equal(303);
      const row = new Map(Object.entries(await c.stored(env)));
      const snake = (n: string) => n.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`);
      for (const name of first.textareas) expect(row.get(snake(name)), `${name} stored`).to.equal(MULTI);
    });
  }
});
