import type { z } from 'zod';
import type { TFunction } from 'i18next';
import type { FieldErrors } from '../errors.ts';

/**
 * Parses form input with a zod schema whose messages are i18n keys. On failure returns the
 * first message per field, translated, keyed by the field's path ("contacts.0.email").
 */
export function parseForm<S extends z.ZodType>(
  schema: S,
  input: unknown,
  t: TFunction,
): { ok: true; data: z.infer<S> } | { ok: false; errors: FieldErrors } {
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, data: r.data };
  const errors: FieldErrors = {};
  for (const issue of r.error.issues) {
    const key = issue.path.join('.');
    if (errors[key]) continue;
    const msg = issue.message;
    const params: Record<string, unknown> = {};
    if ('maximum' in issue) params.max = issue.maximum;
    if ('minimum' in issue) params.min = issue.minimum;
    errors[key] = msg.includes('.') && !msg.includes(' ') ? t(msg, params) : t('common.validation.invalid');
  }
  return { ok: false, errors };
}

/** A string from a form body field (arrays and objects become ''). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
