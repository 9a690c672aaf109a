import type { T, Locale } from '../i18n/i18n.ts';
import { formatDate, formatDateTime } from '../i18n/format.ts';
import type { AuditLine } from './members.service.ts';

const HIDDEN = new Set(['organisationId']);

/**
 * The member page's audit trail in words a person reads: "Stimmberechtigte Vertretung: nein"
 * instead of "isRepresentative: false", "250 und mehr" instead of "250+", dates in the page's
 * format, the category's name instead of its id.
 */
export function readableAudit(lines: AuditLine[], t: T, locale: Locale, categoryName: (id: number) => string | undefined): AuditLine[] {
  // members.auditFields names what the forms do not label (isRepresentative); members.fields the rest
  const label = (field: string) => t(`members.auditFields.${field}`, { defaultValue: t(`members.fields.${field}`, { defaultValue: field }) });
  const value = (field: string, v: string): string => {
    if (v === '') return v;
    if (v === 'true') return t('common.yes');
    if (v === 'false') return t('common.no');
    if (field === 'employeeBand') return t(`common.bands.${v}`, { defaultValue: v });
    if (field === 'status') return t(`members.status.${v}`, { defaultValue: v });
    if (field === 'locale') return t(`members.auditFields.localeName.${v}`, { defaultValue: v });
    if (field === 'categoryId' && /^\d+$/.test(v)) return categoryName(Number(v)) ?? v;
    if (field === 'role') return t(`members.auditFields.roleName.${v}`, { defaultValue: v });
    if (field === 'country' && /^[A-Z]{2}$/.test(v)) return new Intl.DisplayNames([locale], { type: 'region' }).of(v) ?? v;
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return formatDate(v, locale);
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return formatDateTime(v, locale);
    return v;
  };
  return lines.map((l) => ({
    ...l,
    changes: l.changes
      // the organisation's own id says nothing on its own page; a field empty before and after changed nothing
      .filter((c) => !HIDDEN.has(c.field) && (c.before !== '' || c.after !== ''))
      .map((c) => ({ field: label(c.field), before: value(c.field, c.before), after: value(c.field, c.after) })),
  }));
}
