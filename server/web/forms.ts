import { AsyncLocalStorage } from 'node:async_hooks';
import type { z } from 'zod';
import type { TFunction } from 'i18next';
import type { RequestHandler } from 'express';
import type { FieldErrors } from '../errors.ts';

// h/harden: control characters are refused here, for every form and query parameter
/**
 * Control characters nobody types: C0 except tab, line feed and carriage return, DEL, C1.
 * (A NUL byte fails on PostgreSQL; the others end up invisible in pages, CSV and PDF.)
 */
// eslint-disable-next-line no-control-regex -- finding them is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_ALL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
/** In a query parameter (a search box, a filter) not even tab or a line break belongs. */
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_QUERY = /[\u0000-\u001F\u007F-\u009F]/;

/** Whether a text holds a control character that is never accepted (tab and line breaks are). */
export function hasControlCharacters(s: string, singleLine = false): boolean {
  return (singleLine ? CONTROL_QUERY : CONTROL).test(s);
}

/** Paths ("contacts.0.email") of the string values in a parsed form or query holding a control character. */
function controlPaths(value: unknown, re: RegExp, prefix = '', out: string[] = [], depth = 0): string[] {
  if (typeof value === 'string') {
    if (re.test(value)) out.push(prefix);
  } else if (value && typeof value === 'object' && depth < 8) {
    for (const [k, v] of Object.entries(value)) controlPaths(v, re, prefix ? `${prefix}.${k}` : k, out, depth + 1);
  }
  return out;
}

/** Removes the refused control characters from every string in place (the form then shows the rest). */
function stripControl(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(CONTROL_ALL, '');
  if (value && typeof value === 'object' && depth < 8) {
    for (const [k, v] of Object.entries(value)) (value as Record<string, unknown>)[k] = stripControl(v, depth + 1); // why: an object from the body parser, its own keys only
  }
  return value;
}

/** The fields of the current request's body that held control characters (see refuseControlCharacters). */
const refused = new AsyncLocalStorage<{ fields: string[] }>();

/** Thrown for a query parameter or path with control characters: the error page says which. */
export class ControlCharactersError extends Error {
  constructor(public readonly fields: string[]) {
    super('control characters in input');
  }
}

/**
 * The one place control characters are refused, for every route (mounted after the body
 * parsers, before CSRF):
 * - in the query string (search boxes, filters) or the path: the request is answered 422 (the
 *   error page names the parameter); nothing is looked up;
 * - in a form body: the characters are taken out of the values before any route sees them (so
 *   none reaches the database, whichever route), and parseForm() below answers 422 with the
 *   message next to each such field, showing what was typed without them.
 */
export function refuseControlCharacters(): RequestHandler {
  return (req, _res, next) => {
    let path = req.path;
    try { path = decodeURIComponent(req.path); } catch { /* malformed escapes: Express answers those itself */ }
    const inQuery = controlPaths(req.query, CONTROL_QUERY);
    if (CONTROL_QUERY.test(path)) inQuery.push('path');
    if (inQuery.length) return next(new ControlCharactersError(inQuery));
    const body: unknown = req.body;
    const fields = controlPaths(body, CONTROL);
    if (!fields.length) return next();
    stripControl(body);
    refused.run({ fields }, next);
  };
}
// h/harden: end

/**
 * Parses form input with a zod schema whose messages are i18n keys. On failure returns the
 * first message per field, translated, keyed by the field's path ("contacts.0.email").
 */
export function parseForm<S extends z.ZodType>(
  schema: S,
  input: unknown,
  t: TFunction,
): { ok: true; data: z.infer<S> } | { ok: false; errors: FieldErrors } {
  // h/harden: control characters (taken out of the body by refuseControlCharacters, or still in the input)
  const control = [...new Set([...(refused.getStore()?.fields ?? []), ...controlPaths(input, CONTROL)])].filter((f) => f !== '_csrf');
  const r = schema.safeParse(control.length ? stripControl(structuredClone(input)) : input);
  if (r.success && !control.length) return { ok: true, data: r.data };
  const errors: FieldErrors = {};
  for (const f of control) errors[f] = t('input.controlCharacters');
  if (r.success) return { ok: false, errors };
  for (const issue of r.error.issues) {
    const key = issue.path.join('.');
    if (errors[key]) continue;
    const msg = issue.message;
    const params: Record<string, unknown> = {};
    if ('maximum' in issue) params.max = issue.maximum;
    if ('minimum' in issue) params.min = issue.minimum;
    if (issue.code === 'custom' && issue.params) Object.assign(params, issue.params); // h/harden2: a bound's values (fields.ts)
    errors[key] = msg.includes('.') && !msg.includes(' ') ? t(msg, params) : t('common.validation.invalid');
  }
  return { ok: false, errors };
}

/** A string from a form body field (arrays and objects become ''). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
