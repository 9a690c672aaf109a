import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import { ExpressHandlebars } from 'express-handlebars';
import type { HelperOptions } from 'handlebars';
import type { TFunction } from 'i18next';
import { formatDate, formatDateTime, formatMemberNumber, formatMoney } from '../i18n/format.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const viewsDir = path.join(root, 'views');

function rootOf(options: HelperOptions): Record<string, any> {
  return (options?.data?.root ?? {}) as Record<string, any>;
}

/** View helpers: formatting in the page's language, i18n, small comparisons. Output is escaped by Handlebars. */
export const helpers = {
  t(key: string, options: HelperOptions) {
    const t = rootOf(options).t as TFunction | undefined;
    if (!t) return key;
    const hash = options.hash;
    // without options, tFor has the text at hand
    return hash && Object.keys(hash).length ? t(key, hash) : t(key);
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
  /**
   * `{{memberNo memberNumber}}`. A bare `{{memberNo}}` calls this helper (helpers win over a field
   * of that name) with Handlebars' options as `n`: it used to print "M-[object Object]". Templates
   * print a formatted field as `{{this.memberNo}}`; anything but a number prints nothing here.
   */
  memberNo(n: unknown) {
    return typeof n === 'number' && Number.isFinite(n) ? formatMemberNumber(n) : '';
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

type Template = (context: unknown, options: Record<string, unknown>) => string;
type RenderOptions = Record<string, unknown> & { cache?: boolean; layout?: string | false; partials?: Record<string, unknown>; helpers?: Record<string, unknown> };

/**
 * express-handlebars, with a shorter way through a render when templates are cached
 * (production): partials and helpers are gathered once instead of on every page, and view and
 * layout are rendered without a promise chain per step. This was a tenth of a register page's
 * time. Without the cache (development) every render goes the library's own way, reading the
 * templates anew.
 */
class CachedHandlebars extends ExpressHandlebars {
  private gathered?: Promise<Record<string, unknown>>;

  constructor(config: ConstructorParameters<typeof ExpressHandlebars>[0]) {
    super(config);
    const libraryRender = this.engine;
    this.engine = ((viewPath: string, options: RenderOptions, callback: (err: unknown, html?: string) => void) => {
      if (!options?.cache || typeof callback !== 'function') return libraryRender(viewPath, options, callback);
      this.renderCached(viewPath, options).then((html) => callback(null, html), (err: unknown) => callback(err));
      return Promise.resolve(null);
    }) as typeof this.engine;
  }

  private async renderCached(viewPath: string, options: RenderOptions): Promise<string> {
    const partials = await (this.gathered ??= this.getPartials({ cache: true }) as Promise<Record<string, unknown>>);
    const runtime = {
      helpers: options.helpers ? { ...this.helpers, ...options.helpers } : this.helpers,
      partials: options.partials ? { ...partials, ...options.partials } : partials,
    };
    const view = (await this.getTemplate(viewPath, { cache: true })) as Template;
    const body = view(options, runtime);
    const layout = 'layout' in options ? options.layout : this.defaultLayout;
    if (!layout) return body;
    const layoutPath = path.isAbsolute(layout) ? layout : path.join(this.layoutsDir, path.extname(layout) ? layout : layout + this.extname);
    const page = (await this.getTemplate(layoutPath, { cache: true })) as Template;
    options.body = body; // the options object is this render's own (Express builds it per call)
    return page(options, runtime);
  }
}

export function setupViews(app: Express, cache: boolean): void {
  const hbs = new CachedHandlebars({
    extname: '.hbs',
    defaultLayout: 'main',
    layoutsDir: path.join(viewsDir, 'layouts'),
    partialsDir: path.join(viewsDir, 'partials'),
    helpers,
    // Every helper is known when templates are compiled: `{{name}}` is then read from the data
    // directly instead of first being looked up as a helper, and an unknown helper is an error
    // at compile time rather than a silent empty string.
    compilerOptions: { knownHelpers: Object.fromEntries(Object.keys(helpers).map((k) => [k, true])), knownHelpersOnly: true },
  });
  app.engine('hbs', hbs.engine);
  app.set('view engine', 'hbs');
  app.set('views', viewsDir);
  app.set('view cache', cache);
}
