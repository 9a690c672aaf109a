import { expect } from 'chai';
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
  it('describes one event with UTC times, escaped text and CRLF lines', () => {
    const ics = buildIcs(base);
    expect(ics.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\n')).to.equal(true);
    expect(ics.endsWith('END:VCALENDAR\r\n')).to.equal(true);
    expect(prop(ics, 'METHOD')).to.equal('METHOD:REQUEST');
    expect(prop(ics, 'DTSTART')).to.equal('DTSTART:20261219T170000Z');
    expect(prop(ics, 'DTEND')).to.equal('DTEND:20261219T190000Z');
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
});
