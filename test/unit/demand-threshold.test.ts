import { expect } from 'chai';
import { BGB_THRESHOLD, progress, requiredSupporters, thresholdWords, type ThresholdRule } from '../../server/demands/threshold.ts';
import { DEFAULT_RULES } from '../../server/settings/settings.schemas.ts';

const share = (percent: number): ThresholdRule => ({ ...BGB_THRESHOLD, minorityDemandBasis: 'share', minorityDemandPercent: percent });
const count = (n: number): ThresholdRule => ({ ...BGB_THRESHOLD, minorityDemandBasis: 'count', minorityDemandCount: n });

describe('minority demand threshold (§ 37 Abs. 1 BGB)', () => {
  it('defaults to the tenth part of the members, as the BGB says', () => {
    expect(DEFAULT_RULES.minorityDemandBasis).to.equal('share');
    expect(DEFAULT_RULES.minorityDemandPercent).to.equal(10);
  });

  it('rounds a share up to whole members: 10 % of 25 is 2.5, so 3 are needed', () => {
    expect(requiredSupporters(25, share(10))).to.equal(3);
    expect(requiredSupporters(20, share(10))).to.equal(2); // exactly the tenth part
    expect(requiredSupporters(21, share(10))).to.equal(3);
    expect(requiredSupporters(19, share(10))).to.equal(2);
  });

  it('needs at least one supporter, also for a tiny or empty association', () => {
    expect(requiredSupporters(0, share(10))).to.equal(1);
    expect(requiredSupporters(3, share(10))).to.equal(1);
  });

  it('rounds up only what is not a whole member (33 % of 30 is 9.9 → 10; 7 % of 100 is exactly 7)', () => {
    expect(requiredSupporters(30, share(33))).to.equal(10); // 9.9 → 10
    expect(requiredSupporters(100, share(7))).to.equal(7);
    expect(requiredSupporters(300, share(7))).to.equal(21);
  });

  it('takes a fixed number from the bylaws whatever the number of members', () => {
    expect(requiredSupporters(10, count(5))).to.equal(5);
    expect(requiredSupporters(1000, count(5))).to.equal(5);
  });

  it('moves with members joining and leaving: the same supporters reach it or not', () => {
    expect(progress(19, 2, share(10))).to.include({ required: 2, missing: 0, reached: true });
    expect(progress(21, 2, share(10))).to.include({ required: 3, missing: 1, reached: false }); // two joined
    expect(progress(20, 2, share(10))).to.include({ required: 2, missing: 0, reached: true }); // one left again
    expect(progress(20, 1, share(10))).to.include({ required: 2, missing: 1, reached: false }); // a supporter left
  });

  it('says the rule in words, naming the BGB default', () => {
    expect(thresholdWords(share(10))).to.deep.equal({ key: 'demands.rule.bgb', values: { percent: 10 } });
    expect(thresholdWords(share(20))).to.deep.equal({ key: 'demands.rule.share', values: { percent: 20 } });
    expect(thresholdWords(count(7))).to.deep.equal({ key: 'demands.rule.count', values: { count: 7 } });
  });
});
