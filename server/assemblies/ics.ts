/**
 * iCalendar (RFC 5545) files for assembly invitations, written by hand: a single VEVENT
 * with a UID that stays the same for the life of the assembly and a SEQUENCE that the
 * assembly increments on every change of time or place, so calendar programs update the
 * entry they already have. A cancellation is METHOD:CANCEL with STATUS:CANCELLED.
 *
 * Times are written in Berlin time with TZID=Europe/Berlin and the zone's VTIMEZONE (the EU's
 * rules since 1996: summer time from the last Sunday of March, 02:00, to the last Sunday of
 * October, 03:00), so a calendar shows 18:00 as the board entered it. The one time that a TZID
 * cannot say, the second 02:xx of the October night (RFC 5545 takes the first), is written in UTC.
 */
import { DateTime } from 'luxon';
import { ZONE } from '../clock.ts';
import { readBerlinTime } from './berlin-time.ts';

export interface IcsEvent {
  uid: string;
  sequence: number;
  method: 'REQUEST' | 'CANCEL' | 'PUBLISH';
  startsAt: string; // UTC instant
  durationMinutes: number;
  summary: string;
  description?: string;
  location?: string;
  url?: string;
  organizer?: { name: string; email: string };
  attendee?: { name: string; email: string };
  stamp: Date; // DTSTAMP: when this file was made
  /** h/groups: what made the file (PRODID), e.g. 'Arbeitsgruppe'; default 'Mitgliederversammlung' */
  product?: string;
}

/** Escapes TEXT values (RFC 5545 3.3.11). */
export function escapeText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

/** Folds a content line at 75 octets (RFC 5545 3.1), never splitting a UTF-8 character. */
export function foldLine(line: string): string {
  const out: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of line) {
    const n = Buffer.byteLength(ch, 'utf8');
    const limit = out.length === 0 ? 75 : 74; // continuation lines start with a space
    if (bytes + n > limit) {
      out.push(current);
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += n;
  }
  out.push(current);
  return out.join('\r\n ');
}

function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function quoteParam(s: string): string {
  return `"${s.replace(/["\r\n]/g, '')}"`;
}

/** The Europe/Berlin zone as a VTIMEZONE (RFC 5545 3.6.5). */
export const VTIMEZONE_BERLIN = [
  'BEGIN:VTIMEZONE',
  `TZID:${ZONE}`,
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'TZNAME:CEST',
  'DTSTART:19700329T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'TZNAME:CET',
  'DTSTART:19701025T030000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
];

/** DTSTART/DTEND: `;TZID=Europe/Berlin:20261219T180000`, or in UTC where the wall-clock time would mean another instant. */
function berlinProperty(name: string, d: Date): string {
  const local = DateTime.fromJSDate(d, { zone: ZONE });
  const t = readBerlinTime(local.toFormat('yyyy-MM-dd'), local.toFormat('HH:mm'));
  const exact = local.second === 0 && local.millisecond === 0 && (t.kind === 'ok' || (t.kind === 'ambiguous' && new Date(t.earlier).getTime() === d.getTime()));
  return exact ? `${name};TZID=${ZONE}:${local.toFormat("yyyyMMdd'T'HHmmss")}` : `${name}:${utcStamp(d)}`;
}

export function buildIcs(e: IcsEvent): string {
  const start = new Date(e.startsAt);
  const end = new Date(start.getTime() + e.durationMinutes * 60_000);
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    `PRODID:-//Vereinsverwaltung//${e.product ?? 'Mitgliederversammlung'}//DE`, // h/groups: product
    'CALSCALE:GREGORIAN',
    `METHOD:${e.method}`,
    'BEGIN:VEVENT',
    `UID:${e.uid}`,
    `SEQUENCE:${e.sequence}`,
    `DTSTAMP:${utcStamp(e.stamp)}`,
    berlinProperty('DTSTART', start),
    berlinProperty('DTEND', end),
    `SUMMARY:${escapeText(e.summary)}`,
  ];
  if (e.location) lines.push(`LOCATION:${escapeText(e.location)}`);
  if (e.description) lines.push(`DESCRIPTION:${escapeText(e.description)}`);
  if (e.url) lines.push(`URL:${e.url}`);
  if (e.organizer) lines.push(`ORGANIZER;CN=${quoteParam(e.organizer.name)}:mailto:${e.organizer.email}`);
  if (e.attendee) lines.push(`ATTENDEE;CN=${quoteParam(e.attendee.name)};ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:${e.attendee.email}`);
  lines.push(`STATUS:${e.method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED'}`);
  // the zone after the event (the order of a calendar's components is free): a reader looking for the first DTSTART finds the event's
  lines.push('TRANSP:OPAQUE', 'END:VEVENT', ...VTIMEZONE_BERLIN, 'END:VCALENDAR');
  return lines.map(foldLine).join('\r\n') + '\r\n';
}
