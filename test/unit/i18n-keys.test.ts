import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadResources } from '../../server/i18n/i18n.ts';

/**
 * h/harden2: every text exists in German and English, and every text is used. A key counts as used
 * when the code or a view names it in full ('dues.status.open'), or names the start it is built
 * from ('dues.status.' + status, `attend.letterReason.${reason}`, (concat "assemblies.day.rsvp_" rsvp)).
 * Plural forms (_one, _other) count as their key.
 */

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function flatten(o: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.add(prefix.replace(/_(zero|one|two|few|many|other)$/, ''));
  }
  return out;
}

function files(dir: string, ext: RegExp, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files(p, ext, out);
    else if (ext.test(e.name)) out.push(p);
  }
  return out;
}

describe('i18n: the locale files', () => {
  const res = loadResources();
  const de = flatten(res.de!.translation);
  const en = flatten(res.en!.translation);

  it('have every German text in English and every English text in German', () => {
    expect([...de].filter((k) => !en.has(k)), 'in de, missing in en').to.deep.equal([]);
    expect([...en].filter((k) => !de.has(k)), 'in en, missing in de').to.deep.equal([]);
  });

  const source = [...files(path.join(root, 'server'), /\.ts$/), ...files(path.join(root, 'views'), /\.hbs$/), ...files(path.join(root, 'seeds'), /\.ts$/)]
    .map((f) => fs.readFileSync(f, 'utf8')).join('\n');

  it('have every text the code and the views ask for by its full key', () => {
    const asked = new Set<string>();
    for (const re of [/\bt\(\s*['"]([a-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_+-]+)+)['"]/g, /[({]t\s+["']([a-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_+-]+)+)["']/g]) {
      for (const m of source.matchAll(re)) asked.add(m[1]!);
    }
    expect(asked.size).to.be.greaterThan(500);
    expect([...asked].filter((k) => !de.has(k)), 'asked for, missing in de').to.deep.equal([]);
  });

  it('hold no text that nothing uses', () => {
    // every quoted string in the code and the views that looks like a key or the start of one
    const named = new Set<string>();
    for (const m of source.matchAll(/['"`]([a-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_+-]+)+\.?)/g)) named.add(m[1]!);
    const prefixes = [...named].filter((n) => n.endsWith('.'));
    // a key built in a template literal (`dues.mail.reminder${level}.subject`) or by + ('attend.send.formatNotAllowed_' + format)
    for (const m of source.matchAll(/`([a-z][A-Za-z0-9_.-]*)\$\{/g)) prefixes.push(m[1]!);
    for (const m of source.matchAll(/['"]([a-z][A-Za-z0-9_.-]*)['"]\s*\+/g)) prefixes.push(m[1]!);
    for (const m of source.matchAll(/\(concat\s+["']([a-z][A-Za-z0-9_.-]*)["']/g)) prefixes.push(m[1]!);
    const unused = [...de].filter((k) => !named.has(k) && !prefixes.some((p) => k.startsWith(p)));
    expect(unused, 'texts nobody uses').to.deep.equal([]);
  });
});
