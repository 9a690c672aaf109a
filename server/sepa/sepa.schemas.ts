import { z } from 'zod';

/** The forms of the SEPA pages; the rules themselves (IBAN, dates, lead times) are checked in SepaService. */
export const mandateSchema = z.object({
  scheme: z.string().max(10).default(''),
  iban: z.string().max(60).default(''),
  bic: z.string().max(20).default(''),
  holder: z.string().max(200).default(''),
  signedOn: z.string().max(20).default(''),
  reference: z.string().max(60).default(''),
});

export const portalMandateSchema = mandateSchema.omit({ signedOn: true, reference: true }).extend({
  consent: z.literal('1', { message: 'sepa.errors.consent' }),
});

export const revokeSchema = z.object({ reason: z.string().max(300).default('') });

/** Taking a pending debit out of its collection: the reason, and (after the file was downloaded) the confirmed recall at the bank. */
export const cancelDebitSchema = z.object({ reason: z.string().max(5000).default(''), recalled: z.string().max(5).optional(), wholeFile: z.string().max(5).optional() }); // the service says when the reason is too long, with what was typed kept

export const runSchema = z.object({
  dueDate: z.string().max(20).default(''),
  invoiceIds: z.union([z.string(), z.array(z.string())]).optional(),
});

export const returnSchema = z.object({
  endToEndId: z.string().max(60).default(''),
  reasonCode: z.string().max(10).default(''),
  amount: z.string().max(30).default(''),
  bookedOn: z.string().max(20).default(''),
  fee: z.string().max(30).default(''),
});

export const fileQuerySchema = z.object({
  scheme: z.enum(['CORE', 'B2B']),
  sequence: z.enum(['FRST', 'RCUR']),
  version: z.enum(['001.08', '001.02']),
});

export const sepaSettingsForm = z.object({
  preNotificationDays: z.string().max(10).default(''),
  leadBusinessDaysCore: z.string().max(10).default(''),
  leadBusinessDaysB2b: z.string().max(10).default(''),
  returnFee: z.string().max(30).default(''),
  /** h/fee: the checkbox "charge the return fee on to the member" ('1' when ticked) */
  chargeReturnFee: z.string().max(10).default(''),
});
