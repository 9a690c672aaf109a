import type { MailContent } from '../mail/render.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatDate, formatDateTime } from '../i18n/format.ts';
import type { AssociationSettings, BylawsRules } from '../settings/settings.schemas.ts';
import { buildIcs } from './ics.ts';
import { motionDeadline } from './notice.ts';
import type { AgendaItem, Assembly } from './assemblies.model.ts';
import { greeting as greetingFor } from '../mail/greeting.ts';

/** What the minutes mail says besides the common parts. */
export interface MinutesMail {
  body: string;
  resolutions: string[];
  /** h/minutes */
  chair?: string;
  minuteTaker?: string;
  signedOn?: string;
  /** corrected minutes: the corrections since the last sending, in words */
  corrections?: string[];
}

/** Who an invitation goes to (a snapshot taken when it was recorded). */
export interface MailRecipient {
  organisationName: string;
  contactName: string;
  to: string;
  locale: Locale;
}

export type MailKind = 'invitation' | 'update' | 'cancel' | 'supplement' | 'reminder' | 'minutes' | 'access_data'; // h/attend: access_data

export interface MailInput {
  kind: MailKind;
  assembly: Assembly;
  agenda: AgendaItem[];
  recipient: MailRecipient;
  link?: string; // the personal link (absent for cancellations and minutes)
  association: AssociationSettings;
  rules: BylawsRules;
  /** For supplements: the ids of the items added. */
  newItemIds?: number[];
  /** For minutes: the text and the resolutions summary lines; h/minutes: who signed, and for corrected minutes what was corrected. */
  minutes?: MinutesMail;
}

/** The agenda as numbered plain text (shown as a quoted block in both mail parts). */
export function agendaText(agenda: AgendaItem[], locale: Locale, newItemIds: number[] = []): string {
  const t = tFor(locale);
  return agenda
    .map((item, i) => {
      const lines = [`${i + 1}. ${item.title}${newItemIds.includes(item.id) ? ` (${t('assemblies.mail.newItem')})` : ''} [${t(`assemblies.agendaKinds.${item.kind}`)}]`];
      if (item.description) lines.push(indent(item.description));
      if (item.proposedText) lines.push(indent(`${t('assemblies.mail.proposedText')}:\n${item.proposedText}`));
      return lines.join('\n');
    })
    .join('\n\n');
}

function indent(s: string): string {
  return s.split(/\r?\n/).map((l) => `   ${l}`).join('\n');
}

function whereLines(a: Assembly, locale: Locale): string[] {
  const t = tFor(locale);
  const out: string[] = [];
  out.push(t('assemblies.mail.when', { when: formatDateTime(a.startsAt, locale) }));
  out.push(t(`assemblies.mail.format.${a.format}`));
  if (a.location) out.push(t('assemblies.mail.where', { where: a.location }));
  if (a.format !== 'in_person' && a.participationInfo) out.push(t('assemblies.mail.participation', { info: a.participationInfo }));
  return out;
}

/** The content of each mail of an assembly; the same function renders the board's preview. */
export function assemblyMail(m: MailInput): MailContent {
  const { assembly: a, recipient: r, association, rules } = m;
  const t = tFor(r.locale);
  const kindLabel = t(`assemblies.mail.kindAdjective.${a.kind}`);
  const when = formatDateTime(a.startsAt, r.locale);
  const greeting = greetingFor(t, r.contactName);
  const footer = t('assemblies.mail.footer', { association: association.name, organisation: r.organisationName });
  const signature = t('assemblies.mail.signature', { association: association.name });
  const answerLines = (): string[] => {
    const lines = [t('assemblies.mail.motionDeadline', { date: formatDate(motionDeadline(a.startsAt, rules.motionDeadlineDays), r.locale) })];
    lines.push(rules.proxiesAllowed ? t('assemblies.mail.proxiesAllowed', { max: rules.maxProxiesPerHolder }) : t('assemblies.mail.proxiesNotAllowed'));
    lines.push(t('assemblies.mail.calendar'));
    return lines;
  };
  const action = m.link ? { label: t('assemblies.mail.action'), url: m.link } : undefined;
  switch (m.kind) {
    case 'invitation':
      return {
        subject: t('assemblies.mail.invitation.subject', { kind: kindLabel, title: a.title, date: formatDate(a.startsAt, r.locale) }),
        greeting,
        paragraphs: [
          t('assemblies.mail.invitation.intro', { association: association.name, organisation: r.organisationName, kind: kindLabel, title: a.title }),
          ...whereLines(a, r.locale),
          t('assemblies.mail.agendaHeading'),
        ],
        quote: agendaText(m.agenda, r.locale),
        action,
        afterAction: answerLines(),
        signature,
        footer,
      };
    case 'update':
      return {
        subject: t('assemblies.mail.update.subject', { title: a.title, date: formatDate(a.startsAt, r.locale) }),
        greeting,
        paragraphs: [t('assemblies.mail.update.intro', { title: a.title }), ...whereLines(a, r.locale), t('assemblies.mail.agendaHeading')],
        quote: agendaText(m.agenda, r.locale),
        action,
        afterAction: [t('assemblies.mail.calendarUpdate')],
        signature,
        footer,
      };
    case 'cancel':
      return {
        subject: t('assemblies.mail.cancel.subject', { title: a.title, date: formatDate(a.startsAt, r.locale) }),
        greeting,
        paragraphs: [t('assemblies.mail.cancel.intro', { title: a.title, when })],
        afterAction: [t('assemblies.mail.calendarCancel')],
        signature,
        footer,
      };
    case 'supplement':
      return {
        subject: t('assemblies.mail.supplement.subject', { title: a.title, date: formatDate(a.startsAt, r.locale) }),
        greeting,
        paragraphs: [t('assemblies.mail.supplement.intro', { title: a.title, when }), t('assemblies.mail.agendaHeading')],
        quote: agendaText(m.agenda, r.locale, m.newItemIds ?? []),
        action,
        signature,
        footer,
      };
    case 'reminder':
      return {
        subject: t('assemblies.mail.reminder.subject', { title: a.title, date: formatDate(a.startsAt, r.locale) }),
        greeting,
        paragraphs: [t('assemblies.mail.reminder.intro', { title: a.title, when }), ...whereLines(a, r.locale)],
        action,
        afterAction: answerLines(),
        signature,
        footer,
      };
    case 'minutes': {
      // h/minutes: the minutes PDF is attached; the footer is not an invitation's
      const mm = m.minutes;
      const corrected = !!mm?.corrections;
      const notGiven = t('minutes.pdf.notGiven');
      return {
        subject: t(corrected ? 'minutes.mail.correctedSubject' : 'assemblies.mail.minutes.subject', { title: a.title, date: formatDate(a.startsAt, r.locale) }),
        greeting,
        paragraphs: [
          corrected ? t('minutes.mail.correctedIntro', { title: a.title, when }) : t('assemblies.mail.minutes.intro', { title: a.title, when }),
          ...(mm?.corrections?.length ? [t('minutes.mail.corrections'), ...mm.corrections.map((c) => `– ${c}`)] : []),
          ...(mm ? [t('minutes.mail.signatories', { chair: mm.chair || notGiven, minuteTaker: mm.minuteTaker || notGiven, signedOn: mm.signedOn ? formatDate(mm.signedOn, r.locale) : notGiven })] : []),
          ...(mm?.resolutions.length ? [t('assemblies.mail.minutes.resolutions'), ...mm.resolutions] : []),
        ],
        quote: mm?.body || undefined,
        signature,
        footer: t('minutes.mail.footer', { association: association.name, organisation: r.organisationName }),
      };
    }
    case 'access_data': // h/attend: the access data for online participants, in a message of its own (§ 32 Abs. 2 BGB)
      return {
        subject: t('attend.mail.access.subject', { title: a.title, date: formatDate(a.startsAt, r.locale) }),
        greeting,
        paragraphs: [
          t('attend.mail.access.intro', { organisation: r.organisationName, title: a.title, when }),
          ...(a.onlineLink ? [t('attend.mail.access.link', { link: a.onlineLink })] : []),
          ...(a.onlineMeetingId ? [t('attend.mail.access.meetingId', { id: a.onlineMeetingId })] : []),
          ...(a.onlineAccessCode ? [t('attend.mail.access.code', { code: a.onlineAccessCode })] : []),
          ...(a.participationInfo ? [t('assemblies.mail.participation', { info: a.participationInfo })] : []),
          t('attend.mail.access.personal'),
        ],
        signature,
        footer: t('attend.mail.access.footer', { association: association.name, organisation: r.organisationName }),
      };
  }
}

/** The .ics attachment for a mail kind (none for reminders, supplements and minutes). */
export function assemblyIcs(m: MailInput, stamp: Date, organizerEmail: string): { filename: string; contentType: string; content: Buffer } | undefined {
  if (m.kind !== 'invitation' && m.kind !== 'update' && m.kind !== 'cancel') return undefined;
  const t = tFor(m.recipient.locale);
  const a = m.assembly;
  const method = m.kind === 'cancel' ? 'CANCEL' : 'REQUEST';
  const location = a.format === 'virtual' ? t('assemblies.mail.format.virtual') : a.location;
  const text = buildIcs({
    uid: a.uid,
    sequence: a.sequence,
    method,
    startsAt: a.startsAt,
    durationMinutes: a.durationMinutes,
    summary: `${m.association.name}: ${a.title}`,
    location,
    description: [a.format !== 'in_person' ? a.participationInfo : '', m.link ? `${t('assemblies.mail.action')}: ${m.link}` : ''].filter(Boolean).join('\n\n'),
    url: m.link,
    organizer: { name: m.association.name, email: organizerEmail },
    attendee: m.recipient.to ? { name: m.recipient.contactName || m.recipient.organisationName, email: m.recipient.to } : undefined,
    stamp,
  });
  return { filename: 'einladung.ics', contentType: `text/calendar; charset=utf-8; method=${method}`, content: Buffer.from(text, 'utf8') };
}
