import { expect } from 'chai';
import { readBerlinTime } from '../../server/assemblies/berlin-time.ts';

describe('Berlin wall-clock times around the change to and from summer time', () => {
  it('reads an ordinary summer and winter time', () => {
    expect(readBerlinTime('2027-06-01', '10:00')).to.deep.equal({ kind: 'ok', utc: '2027-06-01T08:00:00.000Z' });
    expect(readBerlinTime('2027-01-15', '18:30')).to.deep.equal({ kind: 'ok', utc: '2027-01-15T17:30:00.000Z' });
  });
  it('refuses a time in the spring gap (28.03.2027 02:30 does not exist)', () => {
    expect(readBerlinTime('2027-03-28', '02:30')).to.deep.equal({ kind: 'gap' });
    expect(readBerlinTime('2027-03-28', '02:00')).to.deep.equal({ kind: 'gap' });
  });
  it('accepts the minutes just around the gap', () => {
    expect(readBerlinTime('2027-03-28', '01:59')).to.deep.equal({ kind: 'ok', utc: '2027-03-28T00:59:00.000Z' });
    expect(readBerlinTime('2027-03-28', '03:00')).to.deep.equal({ kind: 'ok', utc: '2027-03-28T01:00:00.000Z' });
  });
  it('asks which of the two is meant in the doubled autumn hour (31.10.2027 02:30)', () => {
    expect(readBerlinTime('2027-10-31', '02:30')).to.deep.equal({ kind: 'ambiguous', earlier: '2027-10-31T00:30:00.000Z', later: '2027-10-31T01:30:00.000Z' });
    expect(readBerlinTime('2027-10-31', '03:00')).to.deep.equal({ kind: 'ok', utc: '2027-10-31T02:00:00.000Z' });
    expect(readBerlinTime('2027-10-31', '01:59')).to.deep.equal({ kind: 'ok', utc: '2027-10-30T23:59:00.000Z' });
  });
  it('refuses impossible dates and malformed input', () => {
    expect(readBerlinTime('2027-02-30', '10:00')).to.deep.equal({ kind: 'invalid' });
    expect(readBerlinTime('2027-06-01', '25:00')).to.deep.equal({ kind: 'invalid' });
    expect(readBerlinTime('1.6.2027', '10:00')).to.deep.equal({ kind: 'invalid' });
  });
});
