import { z } from 'zod';
import { leitwegProblem, normaliseLeitwegId } from './leitweg.ts';

/**
 * A member's e-invoice preference (board or portal form): public body with its Leitweg-ID,
 * and the form its invoices take. A public body needs a Leitweg-ID with the right check digits.
 */
export const einvoicePreferenceSchema = z.object({
  publicBody: z.preprocess((v) => v === '1' || v === 'on' || v === true, z.boolean()),
  leitwegId: z.string().trim().max(46).transform(normaliseLeitwegId),
  format: z.enum(['hybrid', 'xrechnung', 'both']),
}).superRefine((v, ctx) => {
  if (!v.publicBody && !v.leitwegId) return;
  const p = v.leitwegId ? leitwegProblem(v.leitwegId) : 'missing';
  if (p) ctx.addIssue({ code: 'custom', path: ['leitwegId'], message: `einvoice.preference.leitweg.${p}` });
});
export type EInvoicePreference = z.infer<typeof einvoicePreferenceSchema>;
