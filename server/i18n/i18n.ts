import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import i18next, { type TFunction } from 'i18next';

export const LOCALES = ['de', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'de';

export function isLocale(s: unknown): s is Locale {
  return s === 'de' || s === 'en';
}

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'locales');

/**
 * Each module keeps its texts in locales/<lang>/<module>.json; the file name becomes the
 * first part of the key (applications.json → "applications.form.title").
 */
export function loadResources(): Record<string, { translation: Record<string, unknown> }> {
  const out: Record<string, { translation: Record<string, unknown> }> = {};
  for (const lng of LOCALES) {
    const translation: Record<string, unknown> = {};
    for (const f of fs.readdirSync(path.join(dir, lng)).filter((f) => f.endsWith('.json')).sort()) {
      translation[f.replace(/\.json$/, '')] = JSON.parse(fs.readFileSync(path.join(dir, lng, f), 'utf8'));
    }
    out[lng] = { translation };
  }
  return out;
}

const instance = i18next.createInstance();
void instance.init({
  initAsync: false,
  resources: loadResources(),
  lng: DEFAULT_LOCALE,
  fallbackLng: DEFAULT_LOCALE,
  supportedLngs: [...LOCALES],
  interpolation: { escapeValue: false }, // Handlebars escapes on output
  returnNull: false,
  showSupportNotice: false,
});

const fixedTs = new Map<Locale, TFunction>();

/** A key for a text with options made only of strings, numbers and booleans; otherwise undefined. */
function simpleOptionsKey(key: string, options: unknown): string | undefined {
  if (!options || typeof options !== 'object' || Array.isArray(options)) return undefined;
  let out = key;
  for (const [k, v] of Object.entries(options)) {
    const type = typeof v;
    if (type !== 'string' && type !== 'number' && type !== 'boolean') return undefined;
    out += `\u0000${k}\u0001${type[0]}${String(v)}`;
  }
  return out;
}

/** Options i18next reads itself (plurals, context, defaults, languages …): such a call goes to i18next. */
const I18NEXT_OPTIONS = /^(count|context|ordinal|defaultValue.*|lng|lngs|fallbackLng|ns|keySeparator|nsSeparator|returnObjects|returnDetails|returnEmptyString|joinArrays|postProcess|interpolation|skipInterpolation|replace|appendNamespaceToMissingKey|missingInterpolationHandler)$/;
const PLACEHOLDER = /\{\{\s*(\w+)\s*\}\}/g;
/** The raw text of a key when it has only `{{name}}` placeholders (no formats, no `{{- x}}`, no nesting); null otherwise. */
const templates = new Map<string, string | null>();

function templateOf(locale: Locale, key: string): string | null {
  const k = `${locale}\u0000${key}`;
  let tpl = templates.get(k);
  if (tpl === undefined) {
    const raw: unknown = key.includes(':') ? undefined : instance.getResource(locale, 'translation', key);
    tpl = typeof raw === 'string' && !raw.includes('$t(') && raw.replace(PLACEHOLDER, '').indexOf('{{') < 0 ? raw : null;
    if (templates.size < 20_000) templates.set(k, tpl);
  }
  return tpl;
}

/**
 * A text with plain values put into its `{{name}}` placeholders, as i18next does it
 * (interpolation without escaping, Handlebars escapes on output), without its 20–60 µs per
 * call (a collection run writes six texts for each of 10,000 debits). Undefined when the call
 * needs i18next: options it reads itself, a text with formats or nesting, a placeholder without
 * a value, a key missing in this language (the fallback language), or a value that itself looks
 * like a placeholder or nesting. test/unit/i18n-interpolation.test.ts compares it with i18next
 * for every text of both languages.
 */
export function interpolated(locale: Locale, key: string, options: Record<string, string | number | boolean>): string | undefined {
  const tpl = templateOf(locale, key);
  if (tpl === null) return undefined;
  for (const [k, v] of Object.entries(options)) {
    if (I18NEXT_OPTIONS.test(k)) return undefined;
    if (typeof v === 'string' && (v.includes('{{') || v.includes('$t('))) return undefined;
  }
  let missing = false;
  const out = tpl.replace(PLACEHOLDER, (_, name: string) => {
    if (!Object.hasOwn(options, name)) { missing = true; return ''; }
    return String(options[name]);
  });
  return missing ? undefined : out;
}

/**
 * The texts of one language. A text without options is looked up once and then kept (i18next
 * takes 7–13 µs per call, a page makes dozens; the texts are loaded at start and never change).
 */
export function tFor(locale: Locale): TFunction {
  const known = fixedTs.get(locale);
  if (known) return known;
  const base = instance.getFixedT(locale);
  const plain = new Map<string, string>();
  // texts with simple options (a count, a name): the most recent few thousand, since plural
  // rules and interpolation cost 15 µs a call and the same count shows on every page of a list
  const withOptions = new Map<string, string>();
  const t = ((key: unknown, ...rest: unknown[]) => {
    if (typeof key !== 'string') return (base as unknown as (...a: unknown[]) => unknown)(key, ...rest); // why: i18next's overloaded TFunction cannot be called with a spread; a non-string key goes to it unchanged
    if (rest.length === 0) {
      let text = plain.get(key);
      if (text === undefined) {
        text = base(key) as string; // why: a key without options returns its text (returnObjects is off)
        if (typeof text === 'string' && plain.size < 20_000) plain.set(key, text);
      }
      return text;
    }
    const memoKey = rest.length === 1 ? simpleOptionsKey(key, rest[0]) : undefined;
    if (memoKey === undefined) return (base as unknown as (...a: unknown[]) => unknown)(key, ...rest); // why: as above: the call is passed on unchanged
    let text = withOptions.get(memoKey);
    if (text === undefined) {
      const fast = interpolated(locale, key, rest[0] as Record<string, string | number | boolean>);
      if (fast !== undefined) return fast; // values that differ per call (names, amounts): not kept
      text = base(key, rest[0] as Record<string, unknown>) as string; // why: simpleOptionsKey accepted rest[0] only as a plain options object; the result is text as above
      if (typeof text === 'string') {
        if (withOptions.size >= 5_000) withOptions.clear();
        withOptions.set(memoKey, text);
      }
    }
    return text;
  }) as unknown as TFunction; // why: the wrapper takes what a TFunction takes and returns what it returns (plain texts memoised)
  fixedTs.set(locale, t);
  return t;
}
export type T = TFunction;
