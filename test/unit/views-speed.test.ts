import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import Handlebars from 'handlebars';
import helmet from 'helmet';
import type { Request, Response } from 'express';
import { helpers, viewsDir, withFixedTexts } from '../../server/web/views.ts';
import { constantHeaders } from '../../server/web/middleware.ts';
import { LOCALES, tFor } from '../../server/i18n/i18n.ts';

/** The register page's shortcuts give the same result as the way they replace. */
describe('views: texts written in per language; constant headers', () => {
  const compile = (source: string) => Handlebars.create().compile(source, {
    knownHelpers: Object.fromEntries(Object.keys(helpers).map((k) => [k, true])), knownHelpersOnly: true,
  });
  const render = (source: string, locale: (typeof LOCALES)[number], data: Record<string, unknown> = {}) =>
    compile(source)({ ...data, locale, t: tFor(locale) }, { helpers });

  it('writes into every view and layout, in both languages, exactly what the helper renders there', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) { if (e.name !== 'partials' && e.name !== 'emails') walk(path.join(dir, e.name)); } else if (e.name.endsWith('.hbs')) files.push(path.join(dir, e.name));
      }
    };
    walk(viewsDir);
    expect(files.length).to.be.greaterThan(40);
    let written = 0;
    for (const file of files) {
      const source = fs.readFileSync(file, 'utf8');
      for (const locale of LOCALES) {
        const t = tFor(locale);
        const fixed = withFixedTexts(source, (k) => t(k), Handlebars.escapeExpression);
        if (fixed !== source) written++;
        // only the `{{t "…"}}` mustaches change: the texts, escaped exactly as the helper's output is
        const probe = source.match(/\{\{t\s+(?:"[^"{}\\]+"|'[^'{}\\]+')\s*\}\}/g) ?? [];
        for (const m of probe) expect(render(m, locale)).to.equal(withFixedTexts(m, (k) => t(k), Handlebars.escapeExpression), `${path.relative(viewsDir, file)} ${m}`);
      }
    }
    expect(written).to.be.greaterThan(40);
  });

  it('escapes a written-in text as Handlebars escapes the helper, and leaves texts with options or braces to the helper', () => {
    const t = (k: string) => ({ a: `Müller & Söhne "<b>" 'x' =`, b: 'with {{braces}}', c: 'back\\slash' } as Record<string, string>)[k] ?? k;
    expect(withFixedTexts(`{{t "a"}}|{{t 'a'}}`, t, Handlebars.escapeExpression)).to.equal('Müller &amp; Söhne &quot;&lt;b&gt;&quot; &#x27;x&#x27; &#x3D;|Müller &amp; Söhne &quot;&lt;b&gt;&quot; &#x27;x&#x27; &#x3D;');
    expect(withFixedTexts('{{t "b"}} {{t "c"}} {{t "a" n=1}} {{~t "a"}} (t "a")', t, Handlebars.escapeExpression)).to.equal('{{t "b"}} {{t "c"}} {{t "a" n=1}} {{~t "a"}} (t "a")');
    expect(render('{{t "members.list.title"}}', 'de')).to.equal(withFixedTexts('{{t "members.list.title"}}', (k) => tFor('de')(k), Handlebars.escapeExpression));
  });

  it('sets the same headers as helmet, in the same order', () => {
    const options = { contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'self'"], 'img-src': ["'self'", 'data:'] } }, strictTransportSecurity: true };
    const record = (mw: (req: Request, res: Response, next: (err?: unknown) => void) => void) => {
      const steps: string[] = [];
      let nexted = false;
      // why: a recording stand-in for the two methods of a response the middleware calls
      const res = { setHeader: (k: string, v: unknown) => steps.push(`${k}: ${String(v)}`), removeHeader: (k: string) => steps.push(`-${k}`) } as unknown as Response;
      mw({} as Request, res, () => { nexted = true; });
      expect(nexted).to.equal(true);
      return steps;
    };
    const direct = record(helmet(options));
    const once = constantHeaders(helmet(options));
    expect(direct).to.include('X-Frame-Options: SAMEORIGIN');
    expect(record(once)).to.deep.equal(direct);
    expect(record(once)).to.deep.equal(direct);
  });
});
