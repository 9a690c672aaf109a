import { DateTime } from 'luxon';
import { ZONE } from '../clock.ts';

/**
 * A wall-clock date and time in Europe/Berlin, read strictly. On the last Sunday of March the
 * hour 02:00–02:59 does not exist (clocks jump from 02:00 to 03:00); on the last Sunday of
 * October the hour 02:00–02:59 happens twice (first in summer time, UTC+2, then in winter time,
 * UTC+1). luxon on its own silently moves a time in the gap forward and picks one of the two
 * doubled ones: a board must be told instead.
 */
export type BerlinTime =
  | { kind: 'ok'; utc: string }
  | { kind: 'gap' }
  | { kind: 'ambiguous'; earlier: string; later: string }
  | { kind: 'invalid' };

/** `date` 'YYYY-MM-DD', `time` 'HH:MM'. The UTC instants are ISO strings with milliseconds. */
export function readBerlinTime(date: string, time: string): BerlinTime {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !/^\d{2}:\d{2}$/.test(time)) return { kind: 'invalid' };
  const wall = `${date}T${time}`;
  const naive = DateTime.fromISO(wall, { zone: 'utc' });
  if (!naive.isValid) return { kind: 'invalid' };
  // the zone's offsets around that day (minutes east of UTC); Berlin has 60 and 120
  const offsets = new Set([-1, 0, 1].map((d) => naive.plus({ days: d }).setZone(ZONE).offset));
  const matches: string[] = [];
  for (const offset of [...offsets].sort((a, b) => b - a)) {
    const utc = naive.minus({ minutes: offset });
    if (utc.setZone(ZONE).toFormat("yyyy-MM-dd'T'HH:mm") === wall) matches.push(utc.toISO()!);
  }
  if (matches.length === 0) return { kind: 'gap' };
  if (matches.length === 1) return { kind: 'ok', utc: matches[0] };
  matches.sort();
  return { kind: 'ambiguous', earlier: matches[0], later: matches[matches.length - 1] };
}
