import { expect } from 'chai';
import ICAL from 'ical.js';
import { buildIcs, escapeText, foldLine } from '../../server/assemblies/ics.ts';

const base = {
  uid: 'assembly-123@example.org', sequence: 0, method: 'REQUEST' as const, startsAt: '2026-12-19T17:00:00.000Z', durationMinutes: 120,
  summary: 'Verein: Mitgliederversammlung 2026', location: 'Rathaus Goslar, Markt 7; 38640 Goslar', stamp: new Date('2026-11-25T09:00:00Z'),
  organizer: { name: 'Verein e.V.', email: 'vorstand@example.org' },
};

function prop(ics: string, name: string): string | undefined {
  const unfolded = ics.replace(/\r\n /g, '');
  return unfolded.split('\r\n').find((l) => l.startsWith(`${name}:`) || l.startsWith(`${name};`));
}

describe('assembly calendar file (RFC 5545)', () => {
  it('describes one event in Berlin time with its zone, escaped text and CRLF lines', () => {
    const ics = buildIcs(base);
    expect(ics.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\n')).to.equal(true);
    expect(ics.endsWith('END:VCALENDAR\r\n')).to.equal(true);
    expect(prop(ics, 'METHOD')).to.equal('METHOD:REQUEST');
    expect(prop(ics, 'DTSTART')).to.equal('DTSTART;TZID=Europe/Berlin:20261219T180000');
    expect(prop(ics, 'DTEND')).to.equal('DTEND;TZID=Europe/Berlin:20261219T200000');
    expect(ics).to.contain('\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n');
    expect(prop(ics, 'DTSTAMP')).to.equal('DTSTAMP:20261125T090000Z');
    expect(prop(ics, 'LOCATION')).to.equal('LOCATION:Rathaus Goslar\\, Markt 7\\; 38640 Goslar');
    expect(prop(ics, 'STATUS')).to.equal('STATUS:CONFIRMED');
    expect(ics.split('\r\n').filter((l) => l === 'BEGIN:VEVENT')).to.have.length(1);
  });

  it('keeps the UID and carries the sequence it is given, so calendars update the same entry', () => {
    const first = buildIcs(base);
    const update = buildIcs({ ...base, sequence: 1, startsAt: '2026-12-19T16:00:00.000Z' });
    expect(prop(first, 'UID')).to.equal(prop(update, 'UID'));
    expect(prop(first, 'SEQUENCE')).to.equal('SEQUENCE:0');
    expect(prop(update, 'SEQUENCE')).to.equal('SEQUENCE:1');
  });

  it('cancels with METHOD:CANCEL and STATUS:CANCELLED', () => {
    const ics = buildIcs({ ...base, sequence: 2, method: 'CANCEL' });
    expect(prop(ics, 'METHOD')).to.equal('METHOD:CANCEL');
    expect(prop(ics, 'STATUS')).to.equal('STATUS:CANCELLED');
    expect(prop(ics, 'SEQUENCE')).to.equal('SEQUENCE:2');
    expect(prop(ics, 'UID')).to.equal(`UID:${base.uid}`);
  });

  it('folds long lines at 75 octets without splitting umlauts', () => {
    const long = `DESCRIPTION:${escapeText('Tagesordnung: Änderung der Satzung über die Beiträge, Wahl des Vorstands; Bericht.\nZweite Zeile mit ß und ü '.repeat(3))}`;
    const folded = foldLine(long);
    for (const line of folded.split('\r\n')) expect(Buffer.byteLength(line, 'utf8')).to.be.at.most(75);
    expect(folded.replace(/\r\n /g, '')).to.equal(long);
    expect(folded).not.to.contain('\uFFFD');
  });

  it('is read back by a calendar library (ical.js) as the same instants, summer and winter, with the VTIMEZONE', () => {
    for (const [startsAt, local] of [['2026-12-19T17:00:00.000Z', '2026-12-19T18:00:00'], ['2027-06-10T16:30:00.000Z', '2027-06-10T18:30:00']]) {
      const ics = buildIcs({ ...base, startsAt });
      const cal = new ICAL.Component(ICAL.parse(ics));
      const tz = cal.getFirstSubcomponent('vtimezone');
      expect(tz?.getFirstPropertyValue('tzid')).to.equal('Europe/Berlin');
      ICAL.TimezoneService.register(tz!);
      const ev = new ICAL.Event(cal.getFirstSubcomponent('vevent')!);
      expect(ev.startDate.zone?.tzid).to.equal('Europe/Berlin');
      expect(ev.startDate.toString()).to.equal(local);
      expect(ev.startDate.toJSDate().toISOString()).to.equal(startsAt);
      expect(ev.uid).to.equal(base.uid);
    }
  });

  it('writes the second 02:30 of the October night in UTC (a TZID would mean the first)', () => {
    const first = buildIcs({ ...base, startsAt: '2027-10-31T00:30:00.000Z' }); // 02:30 summer time
    const second = buildIcs({ ...base, startsAt: '2027-10-31T01:30:00.000Z' }); // 02:30 winter time
    expect(prop(first, 'DTSTART')).to.equal('DTSTART;TZID=Europe/Berlin:20271031T023000');
    expect(prop(second, 'DTSTART')).to.equal('DTSTART:20271031T013000Z');
  });
});
