import { expect } from 'chai';
import { BGB_MAJORITIES, checkCounts, decideMajority, shareSymbol, type MajorityRule } from '../../server/assemblies/majority.ts';

const counts = (yes: number, no: number, abstain = 0, invalid = 0) => ({ yes, no, abstain, invalid });

describe('assembly majorities (BGB defaults and bylaws rules)', () => {
  describe('simple majority of votes cast (§ 32 Abs. 1 S. 3 BGB)', () => {
    const rule = BGB_MAJORITIES.resolution;
    it('is reached with more yes than no, abstentions and invalid votes not counted', () => {
      expect(decideMajority(rule, counts(3, 2, 10, 4))).to.include({ adopted: true, cast: 5, reason: 'reached' });
    });
    it('is not reached on a tie', () => {
      expect(decideMajority(rule, counts(5, 5, 1))).to.include({ adopted: false, reason: 'not_reached' });
    });
    it('is not reached when everyone abstains', () => {
      expect(decideMajority(rule, counts(0, 0, 12))).to.include({ adopted: false, reason: 'no_votes_cast', cast: 0 });
    });
    it('is reached with a single yes and no votes against', () => {
      expect(decideMajority(rule, counts(1, 0, 30)).adopted).to.equal(true);
    });
  });

  describe('three quarters of votes cast for a bylaws change (§ 33 Abs. 1 S. 1 BGB) and dissolution (§ 41)', () => {
    for (const kind of ['bylaws_change', 'dissolution'] as const) {
      const rule = BGB_MAJORITIES[kind];
      it(`${kind}: 8 yes to 3 no fails (8 < ¾ × 11 = 8.25)`, () => {
        const o = decideMajority(rule, counts(8, 3));
        expect(o).to.include({ adopted: false, cast: 11, thresholdHundredths: 825 });
      });
      it(`${kind}: exactly three quarters (9 yes to 3 no) is enough`, () => {
        expect(decideMajority(rule, counts(9, 3))).to.include({ adopted: true, cast: 12, thresholdHundredths: 900 });
      });
      it(`${kind}: one vote below exactly three quarters fails (6 of 9 with ¾ = 6.75)`, () => {
        expect(decideMajority(rule, counts(6, 3)).adopted).to.equal(false);
        expect(decideMajority(rule, counts(7, 2)).adopted).to.equal(true);
      });
      it(`${kind}: abstentions do not count against it`, () => {
        expect(decideMajority(rule, counts(3, 1, 20)).adopted).to.equal(true);
      });
      it(`${kind}: nothing cast is not adopted, although 0 ≥ ¾ × 0`, () => {
        expect(decideMajority(rule, counts(0, 0, 5))).to.include({ adopted: false, reason: 'no_votes_cast' });
      });
    }
  });

  describe('change of purpose: consent of all members (§ 33 Abs. 1 S. 2 BGB)', () => {
    const rule = BGB_MAJORITIES.purpose_change;
    it('needs every voting member: those present vote yes, the absent consent in Textform', () => {
      expect(decideMajority(rule, counts(15, 0), { votingMembers: 20, absentConsents: 5 }).adopted).to.equal(true);
      expect(decideMajority(rule, counts(15, 0), { votingMembers: 20, absentConsents: 4 }).adopted).to.equal(false);
    });
    it('fails on a single abstention in the room', () => {
      expect(decideMajority(rule, counts(19, 0, 1), { votingMembers: 20, absentConsents: 0 }).adopted).to.equal(false);
    });
  });

  describe('rules the bylaws set', () => {
    it('two thirds of votes cast, at least', () => {
      const rule: MajorityRule = { num: 2, den: 3, strict: false, base: 'cast', absentConsents: false };
      expect(decideMajority(rule, counts(8, 4)).adopted).to.equal(true); // exactly 2/3
      expect(decideMajority(rule, counts(7, 4)).adopted).to.equal(false); // 7 < 7.33
    });
    it('a share of all voting members, so that absence counts against it', () => {
      const rule: MajorityRule = { num: 1, den: 2, strict: true, base: 'members', absentConsents: false };
      expect(decideMajority(rule, counts(10, 0), { votingMembers: 20 }).adopted).to.equal(false);
      expect(decideMajority(rule, counts(11, 0), { votingMembers: 20 })).to.include({ adopted: true, baseCount: 20, thresholdHundredths: 1000 });
    });
    it('votes carried by proxy count like own votes: the counts are what was cast', () => {
      // 4 present with 3 proxies = 7 votes; 6 yes, 1 no
      expect(decideMajority(BGB_MAJORITIES.bylaws_change, counts(6, 1)).adopted).to.equal(true);
    });
    it('shows the share as a German board writes it', () => {
      expect(shareSymbol({ num: 3, den: 4 })).to.equal('¾');
      expect(shareSymbol({ num: 2, den: 3 })).to.equal('⅔');
      expect(shareSymbol({ num: 1, den: 2 })).to.equal('½');
      expect(shareSymbol({ num: 3, den: 5 })).to.equal('3/5');
    });
  });

  describe('checking recorded counts against the votes present', () => {
    it('accepts whole numbers up to the votes present', () => {
      expect(checkCounts({ yes: '6', no: '3', abstain: '1', invalid: '' }, 10)).to.deep.equal({ ok: true, counts: counts(6, 3, 1, 0) });
    });
    it('refuses 25 yes with 10 present, naming the field', () => {
      const r = checkCounts({ yes: 25, no: 0, abstain: 0, invalid: 0 }, 10);
      expect(r).to.deep.equal({ ok: false, errors: [{ field: 'yes', code: 'too_large', params: { present: 10 } }] });
    });
    it('refuses a sum above the votes present', () => {
      const r = checkCounts({ yes: 6, no: 3, abstain: 2, invalid: 0 }, 10);
      expect(r).to.deep.equal({ ok: false, errors: [{ field: 'total', code: 'above_present', params: { total: 11, present: 10 } }] });
    });
    it('refuses negative, fractional and non-numeric counts per field', () => {
      const r = checkCounts({ yes: '-1', no: '2.5', abstain: 'drei', invalid: '1e3' }, 10);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.errors.map((e) => `${e.field}:${e.code}`)).to.deep.equal(['yes:negative', 'no:not_whole', 'abstain:not_whole', 'invalid:not_whole']);
    });
  });
});
