import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import { ExpressHandlebars } from 'express-handlebars';
import Handlebars, { type HelperOptions } from 'handlebars';
import type { TFunction } from 'i18next';
import { formatDate, formatDateTime, formatMemberNumber, formatMoney } from '../i18n/format.ts';
import { LOCALES, tFor, type Locale } from '../i18n/i18n.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const viewsDir = path.join(root, 'views');

/** What a page's context carries for the helpers (res.locals, set by the locale middleware). */
interface PageRoot {
  t?: TFunction;
  locale?: Locale;
}

function rootOf(options: HelperOptions): PageRoot {
  return (options?.data?.root ?? {}) as PageRoot; // why: Handlebars types data.root as any; it is the render's context, whose t and locale the middleware sets
}

/** View helpers: formatting in the page's language, i18n, small comparisons. Output is escaped by Handlebars. */
export const helpers = {
  t(key: string, options: HelperOptions) {
    const t = rootOf(options).t;
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
    return key.split('.').reduce<unknown>((o, k) => (o == null ? undefined : (o as Record<string, unknown>)[k]), obj); // why: any non-null value can be indexed; a missing key gives undefined
  },
  percent: (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 100) : 0),
  add: (a: number, b: number) => Number(a) + Number(b),
};

type Template = (context: unknown, options: Record<string, unknown>) => string;

/** `{{t "key"}}` (a text without options, in double or single quotes; no `~`, no subexpression). */
const FIXED_TEXT = /\{\{t\s+(?:"([^"{}\\]+)"|'([^'{}\\]+)')\s*\}\}/g;

/**
 * A template's source with its texts without options written in, in one language: `{{t "key"}}`
 * becomes the text, escaped as Handlebars escapes the helper's output. The texts are loaded at
 * start and never change (tFor keeps them), so the page is the same, without a helper call per
 * text (a register page has about 35). A text with a brace or a backslash stays a helper call.
 */
export function withFixedTexts(source: string, t: (key: string) => unknown, escape: (s: string) => string): string {
  return source.replace(FIXED_TEXT, (whole: string, double?: string, single?: string) => {
    const text = t((double ?? single)!);
    return typeof text === 'string' && !/[{}\\]/.test(text) ? escape(text) : whole;
  });
}

/** The language whose text function `t` is (the page's res.locals.t), if it is one of tFor's. */
const localeOfT = new Map<unknown, Locale>(LOCALES.map((l) => [tFor(l), l]));
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
  /** views and layouts compiled per language with their fixed texts written in (withFixedTexts) */
  private inLanguage = new Map<string, Promise<Template>>();

  constructor(config: ConstructorParameters<typeof ExpressHandlebars>[0]) {
    super(config);
    const libraryRender = this.engine;
    this.engine = ((viewPath: string, options: RenderOptions, callback: (err: unknown, html?: string) => void) => {
      if (!options?.cache || typeof callback !== 'function') return libraryRender(viewPath, options, callback);
      this.renderCached(viewPath, options).then((html) => callback(null, html), (err: unknown) => callback(err));
      return Promise.resolve(null);
    }) as typeof this.engine; // why: the same signature as the library's engine, which it wraps
  }

  private async renderCached(viewPath: string, options: RenderOptions): Promise<string> {
    const partials = await (this.gathered ??= this.getPartials({ cache: true }) as Promise<Record<string, unknown>>); // why: express-handlebars resolves partials to a name → template map
    const runtime = {
      helpers: options.helpers ? { ...this.helpers, ...options.helpers } : this.helpers,
      partials: options.partials ? { ...partials, ...options.partials } : partials,
    };
    const locale = localeOfT.get(options.t);
    const view = await this.template(viewPath, locale);
    const body = view(options, runtime);
    const layout = 'layout' in options ? options.layout : this.defaultLayout;
    if (!layout) return body;
    const layoutPath = path.isAbsolute(layout) ? layout : path.join(this.layoutsDir, path.extname(layout) ? layout : layout + this.extname);
    const page = await this.template(layoutPath, locale);
    options.body = body; // the options object is this render's own (Express builds it per call)
    return page(options, runtime);
  }

  /** A cached template: with its fixed texts written in for a language of tFor, else the library's. */
  private async template(filePath: string, locale: Locale | undefined): Promise<Template> {
    // why: compiled templates of Handlebars take (context, runtime options) and return the page
    if (!locale) return (await this.getTemplate(filePath, { cache: true })) as Template; // why: getTemplate without `precompiled` gives a compiled template function
    const file = path.resolve(filePath);
    const key = `${locale}\u0000${file}`;
    let compiled = this.inLanguage.get(key);
    if (!compiled) {
      const t = tFor(locale);
      // as express-handlebars compiles (_compileTemplate: the source trimmed, the same compiler options)
      compiled = fs.promises.readFile(file, 'utf8').then((source) =>
        this.handlebars.compile(withFixedTexts(source, (k) => t(k), Handlebars.escapeExpression).trim(), this.compilerOptions) as Template); // why: compile returns the template function that getTemplate would
      compiled.catch(() => this.inLanguage.delete(key));
      this.inLanguage.set(key, compiled);
    }
    return compiled;
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
    // h/phone: preventIndent: a partial included with leading spaces (`  {{> field}}`) must not
    // indent its output, or a textarea's value gains those spaces on every re-render of the form.
    compilerOptions: { knownHelpers: Object.fromEntries(Object.keys(helpers).map((k) => [k, true])), knownHelpersOnly: true, preventIndent: true },
  });
  app.engine('hbs', hbs.engine);
  app.set('view engine', 'hbs');
  app.set('views', viewsDir);
  app.set('view cache', cache);
}
