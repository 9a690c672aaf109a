import type { Browser } from './http.ts';

/** A form as a page offers it: where it goes, and the fields with the values a browser would send. */
export interface FoundForm {
  page: string;
  method: 'GET' | 'POST';
  action: string;
  enctype: string;
  /** fields a person types into (text, email, number, date, textarea, …) */
  typed: string[];
  fields: [string, string][];
}

const attr = (tag: string, name: string): string | undefined => {
  const m = tag.match(new RegExp(`\\s${name}="([^"]*)"`, 'i'));
  return m ? m[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>') : undefined;
};
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&#x3D;/g, '=').replace(/&#x60;/g, '`').replace(/&amp;/g, '&');

const NOT_TYPED = new Set(['hidden', 'checkbox', 'radio', 'submit', 'button', 'file', 'reset', 'image']);

/** The forms of a page (regular expressions suffice for the app's own markup). */
export function formsOf(page: string, html: string): FoundForm[] {
  const out: FoundForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const tag = m[1];
    const inner = m[2];
    const method = (attr(tag, 'method') ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET';
    const action = attr(tag, 'action') || page;
    const fields: [string, string][] = [];
    const typed: string[] = [];
    for (const i of inner.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(i[0], 'name');
      if (!name) continue;
      const type = (attr(i[0], 'type') ?? 'text').toLowerCase();
      if (type === 'submit' || type === 'button' || type === 'file' || type === 'reset' || type === 'image') continue;
      if ((type === 'checkbox' || type === 'radio') && !/\schecked\b/i.test(i[0])) continue;
      fields.push([name, attr(i[0], 'value') ?? (type === 'checkbox' ? 'on' : '')]);
      if (!NOT_TYPED.has(type) && !/\stabindex="-1"/.test(i[0]) && !/\sreadonly\b/i.test(i[0]) && !/\sdisabled\b/i.test(i[0])) typed.push(name);
    }
    for (const t of inner.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
      const name = attr(t[1], 'name');
      if (!name) continue;
      fields.push([name, unescape(t[2])]);
      typed.push(name);
    }
    for (const s of inner.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/gi)) {
      const name = attr(s[1], 'name');
      if (!name) continue;
      const options = [...s[2].matchAll(/<option\b([^>]*)>/gi)].map((o) => o[1]);
      const chosen = options.find((o) => /\sselected\b/i.test(o)) ?? options[0];
      if (chosen !== undefined) fields.push([name, attr(chosen, 'value') ?? '']);
    }
    out.push({ page, method, action, enctype: attr(tag, 'enctype') ?? '', typed: [...new Set(typed)], fields });
  }
  return out;
}

/** Same-site links of a page (no downloads, no sign-out). */
export function linksOf(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<a\b[^>]*\shref="([^"#]*)"/gi)) {
    const href = unescape(m[1]);
    if (!href.startsWith('/') || href.startsWith('//') || href.startsWith('/static/')) continue;
    if (/\.(csv|pdf|xlsx|ics|zip|json)(\?|$)/.test(href) || /\/(download|export|pdf|ics|letters?)(\/|\?|$)/.test(href)) continue;
    out.push(href);
  }
  return out;
}

/** The route shape of a path (numbers and tokens as placeholders), to visit each kind of page once. */
export function shape(url: string): string {
  const [p, q] = url.split('?');
  const keys = q ? [...new URLSearchParams(q).keys()].sort().join('&') : '';
  return p.replace(/\/\d+(?=\/|$)/g, '/:id').replace(/\/[A-Za-z0-9_-]{20,}(?=\/|$)/g, '/:token') + (keys ? `?${keys}` : '');
}

/** Walks the HTML pages reachable from `start` (breadth first, one page per route shape). */
export async function crawl(browser: Browser, start: string[], limit = 200): Promise<{ url: string; html: string }[]> {
  const seen = new Set<string>();
  const queue = [...start];
  const pages: { url: string; html: string }[] = [];
  while (queue.length && pages.length < limit) {
    const url = queue.shift()!;
    const s = shape(url);
    if (seen.has(s)) continue;
    seen.add(s);
    const res = await browser.get(url);
    if (res.status !== 200 || !String(res.headers['content-type'] ?? '').includes('text/html')) continue;
    pages.push({ url, html: res.text });
    for (const l of linksOf(res.text)) if (!seen.has(shape(l))) queue.push(l);
  }
  return pages;
}
