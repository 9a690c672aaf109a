import { expect } from 'chai';
import { BGB_MAJORITIES } from '../../server/assemblies/majority.ts';
import { decideWritten, type WrittenRule } from '../../server/assemblies/written-rule.ts';

/** § 32 Abs. 3 BGB: a resolution without an assembly, by default only with the consent of all. */
describe('written resolutions: the result rule (§ 32 Abs. 3 BGB)', () => {
  const allConsent: WrittenRule = { mode: 'all_consent', minParticipationPercent: 50, majority: BGB_MAJORITIES.resolution };
  const majority = (percent: number, kind: keyof typeof BGB_MAJORITIES = 'resolution'): WrittenRule => ({ mode: 'majority', minParticipationPercent: percent, majority: BGB_MAJORITIES[kind] });

  describe('by the BGB default: all members must consent', () => {
    it('is adopted when every member on the roll answered yes', () => {
      const o = decideWritten(allConsent, { yes: 5, no: 0, abstain: 0, open: 0 });
      expect(o).to.include({ adopted: true, reason: 'all_consented', certain: true, reachable: true, roll: 5 });
    });

    it('fails when one member has not answered (and is still reachable until the deadline)', () => {
      const o = decideWritten(allConsent, { yes: 4, no: 0, abstain: 0, open: 1 });
      expect(o).to.include({ adopted: false, reason: 'not_all_consented', reachable: true, certain: false });
    });

    it('fails for good with one abstention or one no: an abstention is no consent', () => {
      expect(decideWritten(allConsent, { yes: 4, no: 0, abstain: 1, open: 0 })).to.include({ adopted: false, reachable: false });
      expect(decideWritten(allConsent, { yes: 3, no: 1, abstain: 0, open: 1 })).to.include({ adopted: false, reachable: false });
    });

    it('is not adopted without any member on the roll', () => {
      expect(decideWritten(allConsent, { yes: 0, no: 0, abstain: 0, open: 0 })).to.include({ adopted: false, reason: 'no_members', reachable: false });
    });

    it('needs all even for a kind whose assembly majority is less (bylaws change)', () => {
      expect(decideWritten({ ...allConsent, majority: BGB_MAJORITIES.bylaws_change }, { yes: 9, no: 1, abstain: 0, open: 0 }).adopted).to.equal(false);
    });
  });

  describe('when the bylaws allow a majority with a minimum participation', () => {
    it('is adopted at exactly the minimum participation (at least), and not one answer below', () => {
      // 10 members, 50 %: 5 answers are enough, 4 are not
      expect(decideWritten(majority(50), { yes: 3, no: 2, abstain: 0, open: 5 })).to.include({ adopted: true, participationReached: true, participationRequired: 5 });
      expect(decideWritten(majority(50), { yes: 3, no: 1, abstain: 0, open: 6 })).to.include({ adopted: false, reason: 'participation_too_low', participationRequired: 5 });
    });

    it('rounds the required participation up (7 members, 50 % → 4 answers)', () => {
      expect(decideWritten(majority(50), { yes: 3, no: 0, abstain: 0, open: 4 })).to.include({ adopted: false, participationRequired: 4 });
      expect(decideWritten(majority(50), { yes: 3, no: 0, abstain: 1, open: 3 })).to.include({ adopted: true, participationRequired: 4 });
    });

    it('counts abstentions for participation but not as votes cast (simple majority: a tie fails)', () => {
      expect(decideWritten(majority(50), { yes: 2, no: 2, abstain: 4, open: 2 })).to.include({ adopted: false, reason: 'majority_not_reached' });
      expect(decideWritten(majority(50), { yes: 3, no: 2, abstain: 4, open: 1 })).to.include({ adopted: true, reason: 'majority_reached' });
    });

    it('applies the kind\'s majority: a bylaws change needs ¾ of the votes cast (exactly ¾ passes)', () => {
      expect(decideWritten(majority(50, 'bylaws_change'), { yes: 9, no: 3, abstain: 0, open: 0 }).adopted).to.equal(true);
      expect(decideWritten(majority(50, 'bylaws_change'), { yes: 8, no: 3, abstain: 0, open: 1 }).adopted).to.equal(false);
    });

    it('at 100 % participation every member must answer', () => {
      expect(decideWritten(majority(100), { yes: 9, no: 0, abstain: 0, open: 1 })).to.include({ adopted: false, reason: 'participation_too_low' });
      expect(decideWritten(majority(100), { yes: 9, no: 1, abstain: 0, open: 0 }).adopted).to.equal(true);
    });

    it('says whether the result can still be reached and whether it is certain', () => {
      // 10 members: 4 yes, 0 no; if the open 6 answer no the majority fails: adopted now, not certain
      expect(decideWritten(majority(40), { yes: 4, no: 0, abstain: 0, open: 6 })).to.include({ adopted: true, certain: false, reachable: true });
      // 6 yes of 10 already: even 4 more no leave 6:4
      expect(decideWritten(majority(40), { yes: 6, no: 0, abstain: 0, open: 4 })).to.include({ adopted: true, certain: true });
      // 1 yes, 6 no, 3 open: at best 4:6
      expect(decideWritten(majority(40), { yes: 1, no: 6, abstain: 0, open: 3 })).to.include({ adopted: false, reachable: false });
    });
  });
});
