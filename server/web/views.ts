import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import { engine } from 'express-handlebars';
import type { HelperOptions } from 'handlebars';
import type { TFunction } from 'i18next';
import { formatDate, formatDateTime, formatMemberNumber, formatMoney } from '../i18n/format.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const viewsDir = path.join(root, 'views');

function rootOf(options: HelperOptions): Record<string, any> {
  return (options?.data?.root ?? {}) as Record<string, any>;
}

/**
 * Texts without options, per language and key: i18next takes 7–13 µs per call, and a list
 * page makes 50 of them (the texts are loaded once at start and never change).
 */
const plainTexts = new Map<string, string>();

/** View helpers: formatting in the page's language, i18n, small comparisons. Output is escaped by Handlebars. */
export const helpers = {
  t(key: string, options: HelperOptions) {
    const t = rootOf(options).t as (TFunction & { lng?: unknown; keyPrefix?: unknown }) | undefined;
    if (!t) return key;
    const hash = options.hash ?? {};
    if (typeof t.lng !== 'string' || t.keyPrefix || Object.keys(hash).length) return t(key, hash);
    const memoKey = `${t.lng}\u0000${key}`;
    const known = plainTexts.get(memoKey);
    if (known !== undefined) return known;
    const text = t(key, hash);
    if (typeof text === 'string' && plainTexts.size < 10_000) plainTexts.set(memoKey, text);
    return text;
  },
  money(cents: number, options: HelperOptions) {
    return typeof cents === 'number' ? formatMoney(cents, rootOf(options).locale) : '';
  },
  date(v: string, options: HelperOptions) {
    return formatDate(v, rootOf(options).locale);
  },
  dateTime(v: string, options: HelperOptions) {
    return formatDateTime(v, rootOf(options).locale);
  },
  memberNo(n: number) {
    return formatMemberNumber(n);
  },
  eq: (a: unknown, b: unknown) => a === b || (a != null && b != null && String(a) === String(b)),
  ne: (a: unknown, b: unknown) => !(a === b || (a != null && b != null && String(a) === String(b))),
  and: (...args: unknown[]) => args.slice(0, -1).every(Boolean),
  or: (...args: unknown[]) => args.slice(0, -1).some(Boolean),
  not: (a: unknown) => !a,
  gt: (a: number, b: number) => a > b,
  includes: (list: unknown, v: unknown) => Array.isArray(list) && list.map(String).includes(String(v)),
  json: (v: unknown) => JSON.stringify(v, null, 2),
  concat: (...args: unknown[]) => args.slice(0, -1).join(''),
  /** Value of obj[key] (for error maps and form values keyed by field name). */
  lookupPath(obj: unknown, key: string) {
    return key.split('.').reduce<any>((o, k) => (o == null ? undefined : o[k]), obj);
  },
  percent: (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 100) : 0),
  add: (a: number, b: number) => Number(a) + Number(b),
};

export function setupViews(app: Express, cache: boolean): void {
  app.engine(
    'hbs',
    engine({
      extname: '.hbs',
      defaultLayout: 'main',
      layoutsDir: path.join(viewsDir, 'layouts'),
      partialsDir: path.join(viewsDir, 'partials'),
      helpers,
    }),
  );
  app.set('view engine', 'hbs');
  app.set('views', viewsDir);
  app.set('view cache', cache);
}
