import type { EInvoiceField } from './check.ts';

type T = (key: string, options?: Record<string, unknown>) => string;

/** "The invoice was not issued: … Missing or wrong: the member's street, the member's city." */
export function einvoiceRefusal(t: T, fields: EInvoiceField[]): string {
  return t('einvoice.refused', { fields: fields.map((f) => t(`einvoice.field.${f}`)).join(', '), interpolation: { escapeValue: false } });
}
