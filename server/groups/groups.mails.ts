import { buildIcs } from '../assemblies/ics.ts';
import { tFor } from '../i18n/i18n.ts';
import { formatDateTime } from '../i18n/format.ts';
import { greeting } from '../mail/greeting.ts';
import type { EnqueueInput } from '../mail/outbox.service.ts';
import type { Contact } from '../members/members.service.ts';
import type { AssociationSettings } from '../settings/settings.schemas.ts';
import type { StoredGroup, StoredMeeting } from './groups.repository.ts';
import type { MessageInput } from './groups.schemas.ts';

/** The mails of the working groups, in the recipient's language. */

export type MeetingMailKind = 'invitation' | 'update' | 'cancel';

/** Where the meeting takes place, in words. */
function placeLines(t: ReturnType<typeof tFor>, m: StoredMeeting): string[] {
  const out: string[] = [t(`groups.format.${m.format}`)];
  if (m.location) out.push(t('groups.mail.location', { location: m.location }));
  if (m.onlineLink) out.push(t('groups.mail.onlineLink', { link: m.onlineLink }));
  return out;
}

export function meetingMail(x: {
  kind: MeetingMailKind; group: StoredGroup; meeting: StoredMeeting; contact: Contact; link: string; association: AssociationSettings; stamp: Date;
}): EnqueueInput {
  const locale = x.contact.locale;
  const t = tFor(locale);
  const name = locale === 'en' ? x.group.nameEn : x.group.nameDe;
  const when = formatDateTime(x.meeting.startsAt, locale);
  const m = x.meeting;
  const method = x.kind === 'cancel' ? 'CANCEL' : 'REQUEST';
  const ics = buildIcs({
    uid: m.uid,
    sequence: m.sequence,
    method,
    startsAt: m.startsAt,
    durationMinutes: m.durationMinutes,
    summary: `${name}: ${m.title}`,
    location: m.format === 'online' ? m.onlineLink : m.location,
    description: [m.agenda, m.onlineLink ? `${t('groups.mail.onlineLinkLabel')}: ${m.onlineLink}` : '', x.kind !== 'cancel' ? `${t('groups.mail.rsvpAction')}: ${x.link}` : ''].filter(Boolean).join('\n\n'),
    url: x.kind !== 'cancel' ? x.link : undefined,
    organizer: { name: x.association.name, email: x.association.contactEmail },
    attendee: { name: x.contact.name, email: x.contact.email },
    stamp: x.stamp,
    product: 'Arbeitsgruppe',
  });
  const vars = { group: name, title: m.title, when };
  return {
    template: `group_meeting_${x.kind}`,
    locale,
    to: x.contact.email,
    related: { type: 'group_meeting', id: m.id },
    content: {
      subject: t(`groups.mail.${x.kind}.subject`, vars),
      greeting: greeting(t, x.contact.name),
      paragraphs: [
        t(`groups.mail.${x.kind}.intro`, vars),
        ...(x.kind === 'cancel' ? [] : [...placeLines(t, m), t('groups.mail.agenda'), m.agenda]),
      ],
      action: x.kind === 'cancel' ? undefined : { label: t('groups.mail.rsvpAction'), url: x.link },
      afterAction: x.kind === 'cancel' ? undefined : [t('groups.mail.personal')],
      signature: x.association.name,
    },
    attachments: [{ filename: 'termin.ics', contentType: `text/calendar; charset=utf-8; method=${method}`, content: Buffer.from(ics, 'utf8') }],
  };
}

/** A member's (or the lead's, or the board's) message to the group: the sender is named, answers go to the sender. */
export function groupMessageMail(x: { group: StoredGroup; contact: Contact; sender: { name: string; email: string }; input: MessageInput; association: AssociationSettings }): EnqueueInput {
  const locale = x.contact.locale;
  const t = tFor(locale);
  const name = locale === 'en' ? x.group.nameEn : x.group.nameDe;
  return {
    template: 'group_message',
    locale,
    to: x.contact.email,
    replyTo: x.sender.email,
    related: { type: 'working_group', id: x.group.id },
    content: {
      subject: `[${name}] ${x.input.subject}`,
      greeting: greeting(t, x.contact.name),
      paragraphs: [t('groups.mail.message.intro', { sender: x.sender.name, group: name })],
      quote: x.input.body,
      afterAction: [t('groups.mail.message.reply', { sender: x.sender.name })],
      signature: x.association.name,
      footer: t('groups.mail.message.footer', { group: name, association: x.association.name }),
    },
  };
}
