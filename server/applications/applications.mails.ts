import type { EnqueueInput } from '../mail/outbox.service.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import type { AssociationSettings } from '../settings/settings.schemas.ts';
import { greeting as greetingFor } from '../mail/greeting.ts';

/** E-mails of the application process: content built in the recipient's language. */

interface AppRef {
  id: number;
  reference: string;
  legalName: string;
  locale: Locale;
}
interface Recipient {
  name: string;
  email: string;
}

const greeting = (t: ReturnType<typeof tFor>, r: Recipient) => greetingFor(t, r.name);

/** Double opt-in: the link that confirms the application (to the voting representative). */
/** `deleteAfterDays`: the settings' unconfirmedApplicationDays, which the retention run applies. */
export function confirmationMail(baseUrl: string, association: AssociationSettings, app: AppRef, to: Recipient, token: string, deleteAfterDays: number): EnqueueInput {
  const t = tFor(app.locale);
  return {
    template: 'application_confirm',
    locale: app.locale,
    to: to.email,
    related: { type: 'application', id: app.id },
    content: {
      subject: t('applications.mail.confirm.subject', { association: association.name }),
      greeting: greeting(t, to),
      paragraphs: [
        t('applications.mail.confirm.intro', { association: association.name, organisation: app.legalName, reference: app.reference }),
        t('applications.mail.confirm.why'),
      ],
      action: { label: t('applications.mail.confirm.action'), url: `${baseUrl}/apply/confirm/${token}` },
      afterAction: [t('applications.mail.confirm.expiry'), t('applications.mail.confirm.notYou', { count: deleteAfterDays })],
      signature: association.name,
    },
  };
}

/** To the board: a confirmed application has arrived, or an applicant has answered. */
export function boardNoticeMail(
  baseUrl: string,
  association: AssociationSettings,
  app: AppRef,
  kind: 'new' | 'answered',
  answer?: string,
): EnqueueInput {
  const t = tFor('de');
  return {
    template: kind === 'new' ? 'application_board_new' : 'application_board_answered',
    locale: 'de',
    to: association.contactEmail,
    related: { type: 'application', id: app.id },
    content: {
      subject: t(`applications.mail.board.${kind}.subject`, { reference: app.reference, organisation: app.legalName }),
      paragraphs: [t(`applications.mail.board.${kind}.intro`, { reference: app.reference, organisation: app.legalName })],
      quote: answer,
      action: { label: t('applications.mail.board.action'), url: `${baseUrl}/board/applications/${app.id}` },
      signature: association.name,
    },
  };
}

/** The board's question, with the link to the page where the applicant answers. */
export function questionMail(baseUrl: string, association: AssociationSettings, app: AppRef, to: Recipient, question: string, token: string): EnqueueInput {
  const t = tFor(app.locale);
  return {
    template: 'application_question',
    locale: app.locale,
    to: to.email,
    related: { type: 'application', id: app.id },
    content: {
      subject: t('applications.mail.question.subject', { reference: app.reference, association: association.name }),
      greeting: greeting(t, to),
      paragraphs: [t('applications.mail.question.intro', { organisation: app.legalName, reference: app.reference })],
      quote: question,
      action: { label: t('applications.mail.question.action'), url: `${baseUrl}/apply/answer/${token}` },
      afterAction: [t('applications.mail.question.expiry')],
      signature: association.name,
    },
  };
}

/** A polite rejection, with the board's reason when one was given. */
export function rejectionMail(association: AssociationSettings, app: AppRef, to: Recipient, reason: string | null): EnqueueInput {
  const t = tFor(app.locale);
  return {
    template: 'application_rejected',
    locale: app.locale,
    to: to.email,
    related: { type: 'application', id: app.id },
    content: {
      subject: t('applications.mail.rejected.subject', { reference: app.reference, association: association.name }),
      greeting: greeting(t, to),
      paragraphs: [
        t('applications.mail.rejected.intro', { organisation: app.legalName, reference: app.reference, association: association.name }),
        ...(reason ? [t('applications.mail.rejected.reasonIntro')] : []),
      ],
      quote: reason || undefined,
      afterAction: [t('applications.mail.rejected.closing', { email: association.contactEmail })],
      signature: association.name,
    },
  };
}
