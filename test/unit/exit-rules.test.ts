import { expect } from 'chai';
import {
  exitDateFromEffective, formerFrom, isCalendarDate, lastNoticeDayFor, mayTransition, noticeExitDate, noticePeriodEnd, statusActions, statusForExit,
} from '../../server/members/exit-rules.ts';

const toYearEnd = { terminationNoticeMonths: 3, terminationToYearEnd: true };
const toMonthEnd = { terminationNoticeMonths: 3, terminationToYearEnd: false };

describe('exit rules: end of membership after a notice of termination', () => {
  it('ends on 31.12. of the same year for a notice received on 30.09. (the last possible day)', () => {
    expect(noticeExitDate('2026-09-30', toYearEnd)).to.equal('2026-12-31');
  });

  it('ends a year later for a notice received on 01.10.', () => {
    expect(noticeExitDate('2026-10-01', toYearEnd)).to.equal('2027-12-31');
  });

  it('ends at the end of the year for notices early in the year', () => {
    expect(noticeExitDate('2026-01-02', toYearEnd)).to.equal('2026-12-31');
    expect(noticeExitDate('2026-12-31', toYearEnd)).to.equal('2027-12-31');
  });

  it('handles a notice received on 29.02. of a leap year', () => {
    expect(noticePeriodEnd('2028-02-29', 3)).to.equal('2028-05-29');
    expect(noticeExitDate('2028-02-29', toYearEnd)).to.equal('2028-12-31');
    expect(noticeExitDate('2028-02-29', toMonthEnd)).to.equal('2028-05-31');
  });

  it('clamps the notice period to the last day of a shorter month (§ 188 Abs. 3 BGB)', () => {
    expect(noticePeriodEnd('2027-11-30', 3)).to.equal('2028-02-29'); // leap year
    expect(noticePeriodEnd('2026-11-30', 3)).to.equal('2027-02-28');
    expect(noticePeriodEnd('2026-01-31', 1)).to.equal('2026-02-28');
  });

  it('ends at the end of the month in which the notice period ends when the bylaws say so', () => {
    expect(noticeExitDate('2026-01-15', toMonthEnd)).to.equal('2026-04-30');
    expect(noticeExitDate('2026-09-30', toMonthEnd)).to.equal('2026-12-31');
    expect(noticeExitDate('2026-10-01', toMonthEnd)).to.equal('2027-01-31');
    expect(noticeExitDate('2027-11-30', toMonthEnd)).to.equal('2028-02-29');
    expect(noticeExitDate('2026-11-30', toMonthEnd)).to.equal('2027-02-28');
  });

  it('follows other notice periods from the settings', () => {
    expect(noticeExitDate('2026-06-30', { terminationNoticeMonths: 6, terminationToYearEnd: true })).to.equal('2026-12-31');
    expect(noticeExitDate('2026-07-01', { terminationNoticeMonths: 6, terminationToYearEnd: true })).to.equal('2027-12-31');
    expect(noticeExitDate('2026-12-31', { terminationNoticeMonths: 0, terminationToYearEnd: true })).to.equal('2026-12-31');
  });

  it('names the last day a notice may arrive for a given exit date', () => {
    expect(lastNoticeDayFor('2026-12-31', toYearEnd)).to.equal('2026-09-30');
    expect(lastNoticeDayFor('2028-12-31', toYearEnd)).to.equal('2028-09-30');
    expect(lastNoticeDayFor('2026-04-30', toMonthEnd)).to.equal('2026-01-31');
  });
});

describe('exit rules: exclusion, dissolution and status', () => {
  it('makes the day before the effective date the last day of membership, across year and leap days', () => {
    expect(exitDateFromEffective('2027-01-01')).to.equal('2026-12-31');
    expect(exitDateFromEffective('2028-03-01')).to.equal('2028-02-29');
    expect(exitDateFromEffective('2027-03-01')).to.equal('2027-02-28');
    expect(formerFrom('2028-02-28')).to.equal('2028-02-29');
  });

  it('is a former member only after the last day of membership has passed', () => {
    expect(statusForExit('2026-12-31', '2026-12-31')).to.equal('notice_given');
    expect(statusForExit('2026-12-31', '2027-01-01')).to.equal('former');
  });

  it('accepts only real calendar dates', () => {
    expect(isCalendarDate('2028-02-29')).to.equal(true);
    expect(isCalendarDate('2027-02-29')).to.equal(false);
    expect(isCalendarDate('2026-13-01')).to.equal(false);
    expect(isCalendarDate('01.10.2026')).to.equal(false);
    expect(isCalendarDate('')).to.equal(false);
  });
});

describe('exit rules: status transitions', () => {
  it('offers the actions each status allows, the default form first', () => {
    expect(statusActions('active')).to.deep.equal(['notice', 'exclusion', 'dissolution']);
    expect(statusActions('notice_given')).to.deep.equal(['withdrawal', 'exclusion', 'dissolution']);
    expect(statusActions('former')).to.deep.equal(['reactivation']);
    expect(statusActions('unknown')).to.deep.equal([]);
    expect(statusActions('constructor')).to.deep.equal([]);
  });
  it('refuses what a status does not allow', () => {
    expect(mayTransition('active', 'notice')).to.equal(true);
    expect(mayTransition('notice_given', 'notice')).to.equal(false);
    expect(mayTransition('former', 'exclusion')).to.equal(false);
    expect(mayTransition('active', 'reactivation')).to.equal(false);
    expect(mayTransition('active', 'withdrawal')).to.equal(false);
  });
});
