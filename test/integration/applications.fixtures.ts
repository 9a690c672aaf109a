import request from 'supertest';
import type { Express } from 'express';
import type { TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';

/** A complete, valid application form (German firm), with overrides. */
export function validForm(categoryId: number, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    legal_name: 'Harzer Feinchemie GmbH',
    legal_form: 'GmbH',
    street: 'Am Rammelsberg 12',
    postcode: '38640',
    city: 'Goslar',
    country: 'DE',
    website: 'www.harzer-feinchemie.example',
    register_entry: 'Amtsgericht Braunschweig HRB 4711',
    vat_id: '',
    field_of_activity: 'Spezialchemie',
    employee_band: '50-249',
    category_id: String(categoryId),
    contribution: 'Ausbildungsplätze und Analytik-Know-how.',
    rep_name: 'Dr. Katrin Wölfel',
    rep_position: 'Geschäftsführerin',
    rep_email: 'k.woelfel@feinchemie.example',
    rep_phone: '+49 5321 1234-0',
    billing_name: '',
    billing_email: '',
    billing_phone: '',
    consent_bylaws: 'yes',
    consent_privacy: 'yes',
    consent_email: 'yes',
    ...overrides,
  };
}

/** Loads /apply in the browser (keeping its session) and returns the CSRF token and the form's submission key. */
export async function openForm(browser: Browser, url = '/apply'): Promise<{ csrf: string; key: string; html: string }> {
  const page = await browser.get(url);
  const key = page.text.match(/name="submission_key" value="([^"]+)"/)?.[1];
  if (!key) throw new Error('no submission key in form');
  return { csrf: Browser.csrfFrom(page.text), key, html: page.text };
}

/** Fills and sends the form once; returns the response. */
export async function apply(app: Express, form: Record<string, string>, opts: { lang?: 'de' | 'en'; browser?: Browser } = {}) {
  const browser = opts.browser ?? new Browser(app);
  const { csrf, key } = await openForm(browser, opts.lang === 'en' ? '/apply?lang=en' : '/apply');
  return browser.agent.post('/apply').type('form').send({ submission_key: key, ...form, _csrf: csrf });
}

/** The path (e.g. /apply/confirm/…) of the newest link with this prefix in mail queued to `to`. */
export async function linkInMail(env: TestEnv, to: string, prefix: string): Promise<string> {
  const mails = await env.ctx.outbox.forRecipient(to);
  for (const m of mails) {
    const match = m.text.match(new RegExp(`https?://[^/\\s]+(${prefix.replace(/\//g, '\\/')}[A-Za-z0-9_-]+)`));
    if (match) return match[1];
  }
  throw new Error(`no ${prefix} link in mail to ${to}`);
}

/** Submits through the form and confirms through the e-mail link; returns the application id. */
export async function submitAndConfirm(env: TestEnv, form: Record<string, string>, lang: 'de' | 'en' = 'de'): Promise<number> {
  const res = await apply(env.app, form, { lang });
  if (res.status !== 303) throw new Error(`apply failed: ${res.status} ${res.text.slice(0, 2000)}`);
  const row = (await env.db('applications').orderBy('id', 'desc').first())!;
  const path = await linkInMail(env, form.rep_email, '/apply/confirm/');
  const b = new Browser(env.app);
  const confirmed = await b.submit(path, {});
  if (confirmed.status !== 303) throw new Error(`confirm failed: ${confirmed.status}`);
  return Number(row.id);
}

export async function anonymous(app: Express, url: string) {
  return request(app).get(url);
}
