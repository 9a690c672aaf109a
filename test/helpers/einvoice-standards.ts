import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PainVersion } from '../../server/sepa/pain008.ts';

/**
 * The EN 16931 artefacts (CII D16B schema, EN 16931 schematron) live outside the repository
 * in `../shared/standards/en16931-cii/` (CI has that folder; never copied into the repo).
 * Tests that need them skip with this message where the folder is absent.
 */
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const candidates = [
  process.env.STANDARDS_DIR,
  path.resolve(repo, '../shared/standards'),
  path.resolve(repo, '../../shared/standards'), // a worktree under /work/wt/<name>
].filter((p): p is string => !!p);
export const STANDARDS = candidates.find((p) => fs.existsSync(path.join(p, 'en16931-cii'))) ?? null;
export const SKIP_MESSAGE = `skipped: ../shared/standards/en16931-cii (EN 16931 schema and schematron) not found next to the repository (${repo})`;
export const XSD = STANDARDS ? path.join(STANDARDS, 'en16931-cii/schema/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd') : '';
const SCH = STANDARDS ? path.join(STANDARDS, 'en16931-cii/schematron/EN16931-CII-validation-preprocessed.sch') : '';
export const hasXmllint = spawnSync('xmllint', ['--version']).error === undefined;

/** xmllint's complaints about an XML against the schema file `xsd`; '' when valid. */
export function schemaErrors(xml: string, xsd: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsd-'));
  try {
    const f = path.join(dir, 'document.xml');
    fs.writeFileSync(f, xml);
    const r = spawnSync('xmllint', ['--noout', '--schema', xsd, f], { encoding: 'utf8' });
    return r.status === 0 ? '' : `${r.stderr}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** xmllint's complaints about an XML against the CII D16B schema; '' when valid. */
export function xsdErrors(xml: string): string {
  return schemaErrors(xml, XSD);
}

export const XMLLINT_SKIP_MESSAGE = 'skipped: xmllint (libxml2-utils) is not installed';

/**
 * The project's own pain.008 schemas (test/standards/sepa/): the subset of pain.008 the German
 * banks accept (DFÜ-Abkommen Anlage 3), written here because the official ISO 20022 schemas are
 * not reachable from this machine or CI. They live in the repository, so only xmllint can be missing.
 */
export function painSchema(version: PainVersion): string {
  return path.join(repo, 'test/standards/sepa', `pain.008.${version}-dfue-subset.xsd`);
}

type Validator = { validateString(xml: string): { isReport: boolean; message?: string }[] };
let schema: Promise<Validator> | undefined;

/**
 * The EN 16931 schematron, compiled once per process (node-schematron). Its rule contexts
 * start with `//`, which node-schematron prefixes with `//(` again — quadratic in the size of
 * the document; the leading `//` is dropped here (the same nodes match), which makes a run
 * take seconds instead of minutes.
 */
function loadSchematron(): Promise<Validator> {
  return (schema ??= import('node-schematron').then(({ Schema }) => {
    const src = fs.readFileSync(SCH, 'utf8')
      .replace(/context="([^"]*)"/g, (_m, c: string) => `context="${c.split('|').map((p) => p.trim().replace(/^\/\/(?!\/)/, '')).join(' | ')}"`);
    return Schema.fromString(src);
  }));
}

/** The failed asserts (fatal and warnings) of the EN 16931 schematron: "[BR-…]-…" texts; [] when none. */
export async function schematronFailures(xml: string): Promise<string[]> {
  const s = await loadSchematron();
  return s.validateString(xml).filter((r) => !r.isReport).map((r) => (r.message ?? '').trim().replace(/\s+/g, ' '));
}

/** The files pdfdetach finds in a PDF, and the content of one of them. */
export function detach(pdf: Buffer, name: string): { list: string; content: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fx-'));
  try {
    const f = path.join(dir, 'a.pdf');
    fs.writeFileSync(f, pdf);
    const list = execFileSync('pdfdetach', ['-list', f], { encoding: 'utf8' });
    const out = path.join(dir, name);
    execFileSync('pdfdetach', ['-savefile', name, '-o', out, f]);
    return { list, content: fs.readFileSync(out, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function pdfText(pdf: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.pdf'), pdf);
    return execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', path.join(dir, 'a.pdf'), '-'], { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const hasPoppler = spawnSync('pdfdetach', ['-v']).error === undefined && spawnSync('pdftotext', ['-v']).error === undefined;
