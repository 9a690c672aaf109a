import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { berlinDate, iso, ZONE, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { SYSTEM } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { tFor } from '../i18n/i18n.ts';
import { formatDate, formatMoney } from '../i18n/format.ts';
import { formatIban } from '../settings/bank.ts';
import { pdfFor, preparePdf } from './invoice-pdf.ts';
import { payMethodsText, type Invoice } from './invoice.ts';
import { getInvoice, raiseReminderLevel, reminderCandidates } from './invoices.repository.ts';
import { greeting } from '../mail/greeting.ts';

/**
 * h/bank2: where an invoice stands with direct debit (the SEPA module's DebitState): a debit
 * collecting it, its debit returned, or an active mandate and no debit yet.
 */
export type ReminderDebitState =
  | { state: 'collecting' }
  | { state: 'returned'; reasonCode: string; debitDueDate: string }
  | { state: 'awaiting'; remindFrom: string };

/**
 * Payment reminders: the first at `reminder1Days`, the second at `reminder2Days` after the due
 * date (bylaws rules), for open and partially paid dues invoices whose reminders are not
 * stopped. Each reminder moves `reminder_level` under a condition and writes the e-mail in the
 * same transaction, so a second run (or two at once) never sends one twice. A run that comes
 * late sends only the highest reminder due, not both at once.
 */
export class RemindersService {
  constructor(private d: {
    db: Knex; clock: Clock; audit: AuditService; outbox: Outbox; settings: SettingsService;
    /**
     * h/sepa, h/bank2: the direct-debit state of the candidates. An invoice a debit collects gets
     * no reminder; one awaiting its debit (active mandate) is reminded only counting from the
     * date the debit would have been due (never "please transfer" while it will be collected);
     * one whose debit was returned gets a reminder that says so.
     */
    debitStates?: (invoices: { id: number; organisationId: number; dueDate: string }[]) => Promise<Map<number, ReminderDebitState>>;
    /** h/money2: whether Stripe is on; with it off a reminder offers neither Stripe's page nor its methods */
    stripeEnabled?: () => boolean;
  }) {}

  private async invoice(q: Knex | Knex.Transaction, id: number): Promise<Invoice | undefined> {
    const inv = await getInvoice(q, id);
    return inv && inv.payUrl && this.d.stripeEnabled && !this.d.stripeEnabled() ? { ...inv, payUrl: null, payMethods: [] } : inv;
  }

  async sendDue(actor: Actor = SYSTEM): Promise<{ first: number; second: number }> {
    const rules = await this.d.settings.rules();
    const today = berlinDate(this.d.clock.now());
    const minus = (days: number) => DateTime.fromISO(today, { zone: ZONE }).minus({ days }).toISODate()!;
    const due1 = minus(rules.reminder1Days); // due_date <= due1 → first reminder due
    const due2 = minus(rules.reminder2Days);
    const all = await reminderCandidates(this.d.db, due1 < due2 ? due2 : due1);
    const states = this.d.debitStates ? await this.d.debitStates(all) : new Map<number, ReminderDebitState>(); // h/sepa, h/bank2
    const out = { first: 0, second: 0 };
    for (const c of all) {
      const debit = states.get(c.id);
      if (debit?.state === 'collecting') continue;
      const from = debit?.state === 'awaiting' && debit.remindFrom > c.dueDate ? debit.remindFrom : c.dueDate;
      const level = from <= due2 ? 2 : from <= due1 ? 1 : 0;
      if (level <= c.reminderLevel) continue;
      const sent = await this.send(actor, c.id, c.reminderLevel, level, debit);
      if (sent) { if (level === 1) out.first++; else out.second++; }
    }
    return out;
  }

  private async send(actor: Actor, invoiceId: number, fromLevel: number, level: number, debit?: ReminderDebitState): Promise<boolean> {
    // the PDF rendered before the transaction (it holds SQLite's only connection); used if the invoice is unchanged
    const ahead = await this.invoice(this.d.db, invoiceId);
    const prepared = ahead?.contactEmail ? await preparePdf(ahead) : null;
    return this.d.db.transaction(async (trx) => {
      const now = iso(this.d.clock.now());
      if (!(await raiseReminderLevel(trx, invoiceId, fromLevel, level, now))) return false;
      const inv = await this.invoice(trx, invoiceId);
      if (!inv) return false;
      await this.d.audit.record(trx, actor, 'invoice.reminder_sent', 'invoice', invoiceId, { reminderLevel: fromLevel }, { reminderLevel: level, ...(debit ? { debit: debit.state } : {}) });
      if (!inv.contactEmail) return true;
      const t = tFor(inv.locale);
      const open = Math.max(0, inv.amountCents - inv.paidCents);
      const pdf = await pdfFor(inv, prepared);
      await this.d.outbox.enqueue(trx, {
        template: `dues_reminder_${level}`,
        locale: inv.locale,
        to: inv.contactEmail,
        related: { type: 'invoice', id: inv.id },
        content: {
          subject: t(`dues.mail.reminder${level}.subject`, { number: inv.number, association: inv.issuer.name }),
          greeting: greeting(t, inv.contactName),
          paragraphs: [
            t(`dues.mail.reminder${level}.intro`, { number: inv.number, date: formatDate(inv.issueDate, inv.locale), due: formatDate(inv.dueDate, inv.locale), open: formatMoney(open, inv.locale) }),
            // h/bank2: a returned debit is named; an invoice that said it would be debited (or of a mandate holder) says no debit was made
            ...(debit?.state === 'returned'
              ? [t('dues.mail.reminderReturned', { due: formatDate(debit.debitDueDate, inv.locale), reason: t(`sepa.reasons.${debit.reasonCode}`), code: debit.reasonCode })]
              : debit?.state === 'awaiting' || inv.einvoice?.mandate ? [t('dues.mail.reminderNotDebited')] : []),
            ...(inv.issuer.iban
              ? [t('dues.mail.invoice.bank', { holder: inv.issuer.bankHolder || inv.issuer.name, iban: formatIban(inv.issuer.iban), bic: inv.issuer.bic, number: inv.number })]
              : []),
            t('dues.mail.reminderCrossed'),
          ],
          action: inv.payUrl && inv.payMethods.length ? { label: t('dues.mail.payOnline', { methods: payMethodsText(t, inv.payMethods) }), url: inv.payUrl } : undefined,
          signature: inv.issuer.name,
        },
        attachments: [{ filename: `${t('dues.pdf.file')}-${inv.number}.pdf`, contentType: 'application/pdf', content: pdf }],
      });
      return true;
    });
  }
}
