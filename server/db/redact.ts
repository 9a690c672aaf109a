import type { Knex } from 'knex';
import { likeEscape } from './knex.ts';

/**
 * h/gdpr: the shared vocabulary of the GDPR anonymisation (Art. 17) and the data export
 * (Art. 15/20). Every module that holds personal data of an organisation's contacts does its own
 * part through its own repository, given the same `DataSubject`; this file only has what they
 * share: the placeholder, the subject, and replacing the subject's known values inside free text.
 */

/** What a personal value becomes. */
export const ANONYMISED = 'anonymisiert';

/** Whose personal data is removed (or exported): an organisation's contacts and their portal accounts. */
export interface DataSubject {
  organisationId: number;
  contactIds: number[];
  userIds: number[];
  applicationIds: number[];
  /**
   * The known personal values (names, e-mail addresses, phone numbers, the postal street) as
   * stored; free text elsewhere (mail subjects, notes, JSON of change requests, audit details)
   * loses every occurrence of them.
   */
  terms: string[];
}

/** The terms worth replacing: trimmed, at least 3 characters, not the placeholder, e-mails also in lower case, longest first. */
export function normaliseTerms(values: (string | null | undefined)[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    const t = (v ?? '').trim();
    if (t.length < 3 || t === ANONYMISED) continue;
    out.add(t);
    if (t.includes('@')) out.add(t.toLowerCase());
  }
  return [...out].sort((a, b) => b.length - a.length || a.localeCompare(b));
}

/** A person's name as written elsewhere: as stored, and without leading titles ("Dr. Katrin Wölfel" → "Katrin Wölfel"). */
export function nameVariants(name: string | null | undefined): string[] {
  const n = (name ?? '').trim();
  if (!n) return [];
  const bare = n.replace(/^(?:(?:Prof|Dr|Dipl|Ing|med|rer|nat|phil|habil|Frau|Herr|Mrs?|Ms)\.?(?:-\w+\.?)*\s+)+/i, '').trim();
  return bare && bare !== n && bare.includes(' ') ? [n, bare] : [n];
}

/** Every occurrence of a term in `text` (case-insensitive) becomes the placeholder. */
export function redactText(text: string, terms: string[]): string {
  let out = text;
  for (const t of terms) {
    if (!t) continue;
    const re = new RegExp(t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
    out = out.replace(re, ANONYMISED);
  }
  return out;
}

/** Whether a text holds one of the terms (case-insensitive). */
export function holdsTerm(text: string | null | undefined, terms: string[]): boolean {
  if (!text) return false;
  const l = text.toLowerCase();
  return terms.some((t) => l.includes(t.toLowerCase()));
}

/** Replaces the terms in every string of a JSON value; object keys in `personalKeys` become the placeholder when they hold a non-empty string. */
export function redactJson(value: unknown, terms: string[], personalKeys: ReadonlySet<string> = new Set()): unknown {
  if (typeof value === 'string') return redactText(value, terms);
  if (Array.isArray(value)) return value.map((v) => redactJson(v, terms, personalKeys));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (personalKeys.has(k) && typeof v === 'string' && v !== '') out[k] = ANONYMISED;
      else if (personalKeys.has(k) && Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v.map(() => ANONYMISED);
      else out[k] = redactJson(v, terms, personalKeys);
    }
    return out;
  }
  return value;
}

/** JSON text with the terms replaced (`personalKeys` as in redactJson); text that is no JSON has the terms replaced as text. */
export function redactJsonText(text: string, terms: string[], personalKeys?: ReadonlySet<string>): string {
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { return redactText(text, terms); }
  return JSON.stringify(redactJson(parsed, terms, personalKeys));
}

/**
 * For the owners' repositories: in `table`, every row (optionally narrowed by `scope`) whose
 * text column holds a term gets the term replaced, row by row in JS (case-insensitive, the same
 * on SQLite and PostgreSQL). Returns the keys of the rows that changed. `json` columns are parsed and
 * rewritten as JSON. Only the table's owner calls this, from its repository (one owner per table).
 */
export async function redactTermsIn(
  q: Knex | Knex.Transaction,
  table: string,
  key: string,
  columns: string[],
  terms: string[],
  opts: { json?: string[]; scope?: (qb: Knex.QueryBuilder) => void } = {},
): Promise<(string | number)[]> {
  if (!terms.length || !columns.length) return [];
  const sqlite = q.client.config.client === 'better-sqlite3';
  const query = q(table).where((w) => {
    for (const c of columns) {
      for (const t of terms) {
        const like = `%${likeEscape(sqlite ? t : t.toLowerCase())}%`;
        if (sqlite) w.orWhereRaw(`?? like ? escape '\\'`, [c, like]);
        else w.orWhereRaw(`lower(??::text) like ? escape '\\'`, [c, like]);
      }
    }
  });
  opts.scope?.(query);
  const rows: Record<string, unknown>[] = await query.select([key, ...columns]);
  const changed: (string | number)[] = [];
  for (const row of rows) {
    const patch: Record<string, string> = {};
    for (const c of columns) {
      const v = row[c];
      if (typeof v !== 'string' || !holdsTerm(v, terms)) continue;
      patch[c] = opts.json?.includes(c) ? redactJsonText(v, terms) : redactText(v, terms);
    }
    if (Object.keys(patch).length) {
      const k = row[key] as string | number; // why: the key column's value as read from this table
      await q(table).where(key, k).update(patch);
      changed.push(k);
    }
  }
  return changed;
}
