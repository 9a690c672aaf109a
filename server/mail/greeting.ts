import type { T } from '../i18n/i18n.ts';

/**
 * Words that name a department, a function or a team rather than a person: a contact called
 * "Buchhaltung" or "Accounts Payable" is greeted "Guten Tag," (not "Guten Tag Buchhaltung,").
 */
const NOT_A_PERSON = new Set([
  'abteilung', 'accounting', 'accounts', 'administration', 'assistenz', 'backoffice', 'billing', 'buchhaltung', 'department', 'einkauf', 'empfang',
  'finance', 'finanzbuchhaltung', 'finanzen', 'geschäftsführung', 'geschäftsleitung', 'info', 'kreditoren', 'kreditorenbuchhaltung', 'management',
  'office', 'payable', 'personal', 'personalabteilung', 'poststelle', 'procurement', 'purchasing', 'rechnungseingang', 'rechnungswesen',
  'reception', 'sales', 'secretariat', 'sekretariat', 'service', 'support', 'team', 'verwaltung', 'vertrieb', 'vorstand', 'zentrale',
]);

/** Whether a contact's name reads as a person's name (not a department, an address or empty). */
export function isPersonalName(name: string | null | undefined): name is string {
  const n = (name ?? '').trim();
  if (!n || n.includes('@')) return false;
  const words = n.toLocaleLowerCase('de').split(/[\s,/&()-]+/).filter(Boolean);
  if (words.some((w) => NOT_A_PERSON.has(w) || [...NOT_A_PERSON].some((d) => d.length > 6 && w.endsWith(d)))) return false;
  return true;
}

/** "Guten Tag Dr. Katrin Wölfel," for a person; "Guten Tag," for a department, a role address or no name. */
export function greeting(t: T, name: string | null | undefined): string {
  return isPersonalName(name) ? t('greeting.named', { name: name.trim() }) : t('greeting.unnamed');
}
