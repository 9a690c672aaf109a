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

export function tFor(locale: Locale): TFunction {
  return instance.getFixedT(locale);
}
export type T = TFunction;
