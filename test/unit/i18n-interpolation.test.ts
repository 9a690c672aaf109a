import { expect } from 'chai';
import i18next from 'i18next';
import { interpolated, loadResources, LOCALES, tFor } from '../../server/i18n/i18n.ts';

/** Every text of both languages with placeholders, filled by the fast path and by i18next itself: the same result. */
describe('i18n: texts with values are filled as i18next fills them', () => {
  const resources = loadResources();
  const reference = i18next.createInstance();
  before(async () => {
    await reference.init({
      initAsync: false, resources, lng: 'de', fallbackLng: 'de', supportedLngs: [...LOCALES],
      interpolation: { escapeValue: false }, returnNull: false, showSupportNotice: false,
    });
  });

  function leaves(node: unknown, prefix: string, out: [string, string][]): [string, string][] {
    if (typeof node === 'string') out.push([prefix, node]);
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }

  const samples: ((name: string, i: number) => string | number | boolean)[] = [
    (name) => `Wert ${name}`,
    (_, i) => 1234 + i,
    () => 'Müller & Söhne <GmbH> "x" $& $1 $$ \\ {x}',
    () => '',
    (_, i) => i % 2 === 0,
  ];

  for (const locale of LOCALES) {
    it(`${locale}: every text with {{placeholders}}, with strings, numbers, special characters, empty values and booleans`, () => {
      const t = tFor(locale);
      const ref = reference.getFixedT(locale);
      // (a text whose placeholder is named like one of i18next's own options, e.g. {{count}}, always goes to i18next)
      const texts = leaves(resources[locale].translation, '', []).filter(([, v]) => v.includes('{{') && !/\{\{\s*(count|context|ns|lng|replace|ordinal)\s*\}\}/.test(v));
      expect(texts.length).to.be.greaterThan(100);
      let fast = 0;
      const wrong: string[] = [];
      for (const [key, text] of texts) {
        const names = [...text.matchAll(/\{\{\s*-?\s*(\w+)/g)].map((m) => m[1]);
        samples.forEach((sample, s) => {
          const options = Object.fromEntries(names.map((n, i) => [n, sample(n, i + s)]));
          if (interpolated(locale, key, options) !== undefined) fast++;
          const a = t(key, options);
          const b = ref(key, options);
          if (a !== b) wrong.push(`${key}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`);
        });
        // a placeholder left without a value goes to i18next (which keeps it as written)
        if (names.length) {
          const options = Object.fromEntries(names.slice(1).map((n) => [n, 'x']));
          if (t(key, options) !== ref(key, options)) wrong.push(`${key} without ${names[0]}`);
        }
      }
      expect(wrong).to.deep.equal([]);
      expect(fast).to.be.greaterThan(texts.length); // most texts take the fast path
    });
  }

  it('leaves plurals, formats, nesting and values that look like placeholders to i18next', () => {
    expect(interpolated('de', 'x.y', { count: 2 })).to.equal(undefined);
    const [key, text] = leaves(resources.de.translation, '', []).find(([, v]) => (v.match(/\{\{/g) ?? []).length === 1 && /\{\{\s*\w+\s*\}\}/.test(v) && !v.includes('$t(') && !/\{\{\s*(count|context)\s*\}\}/.test(v))!;
    const name = /\{\{\s*(\w+)/.exec(text)![1];
    expect(interpolated('de', key, { [name]: '{{other}}' })).to.equal(undefined);
    expect(interpolated('de', key, { [name]: 'a', count: 1 })).to.equal(undefined);
    expect(interpolated('de', key, { [name]: 'a' })).to.be.a('string');
  });
});
