import { expect } from 'chai';
import { ballotOptions, choiceRefusal, countsOf, decideBallot, planCast, snapshotEligible, tallyVerified, type EligibleVote } from '../../server/assemblies/ballots.tally.ts';
import { BGB_MAJORITIES, type MajorityRule } from '../../server/assemblies/majority.ts';
import { BGB_ELECTION } from '../../server/assemblies/election.ts';
import { secretByDefault } from '../../server/assemblies/ballots.service.ts';

/** h/evote: the tally of an electronic ballot, with proxies, under each majority rule. */
describe('ballots: the tally with proxies and the majority rules', () => {
  const yesNo = ballotOptions('yes_no', []);
  const A = 1, B = 2, C = 3, D = 4, E = 5;

  describe('the snapshot of the votes present', () => {
    it('gives a holder in the assembly the votes of the members whose proxy it holds', () => {
      const e = snapshotEligible([{ organisationId: A, mode: 'online' }, { organisationId: B, mode: 'room' }], [{ giverId: C, holderId: A }, { giverId: D, holderId: A }]);
      expect(e).to.deep.equal([
        { organisationId: A, holderId: A, mode: 'online' }, { organisationId: B, holderId: B, mode: 'room' },
        { organisationId: C, holderId: A, mode: 'online' }, { organisationId: D, holderId: A, mode: 'online' },
      ]);
    });
    it('does not count a proxy whose giver came itself, or whose holder is absent', () => {
      const e = snapshotEligible([{ organisationId: A, mode: 'room' }, { organisationId: C, mode: 'room' }], [{ giverId: C, holderId: A }, { giverId: D, holderId: E }]);
      expect(e.map((x) => [x.organisationId, x.holderId])).to.deep.equal([[A, A], [C, C]]);
    });
  });

  describe('what a voter may cast', () => {
    const eligible: EligibleVote[] = [
      { organisationId: A, holderId: A, mode: 'online' }, { organisationId: C, holderId: A, mode: 'online' }, { organisationId: D, holderId: A, mode: 'online' },
      { organisationId: B, holderId: B, mode: 'room' },
    ];
    const ballot = { kind: 'yes_no' as const, options: yesNo, maxChoices: 1, handsEntered: false };
    it('casts the same vote for all it carries, or one per represented member', () => {
      const r = planCast({ voterId: A, forAll: ['yes'], perMember: new Map([[C, ['no']]]) }, ballot, eligible, new Set());
      expect(r).to.deep.equal({ ok: true, plan: { votes: [{ organisationId: A, keys: ['yes'] }, { organisationId: C, keys: ['no'] }, { organisationId: D, keys: ['yes'] }] } });
    });
    it('leaves a member without a choice for later, and refuses a second vote of a member', () => {
      const r = planCast({ voterId: A, forAll: [], perMember: new Map([[C, ['no']]]) }, ballot, eligible, new Set());
      expect(r.ok && r.plan.votes).to.deep.equal([{ organisationId: C, keys: ['no'] }]);
      expect(planCast({ voterId: A, forAll: ['yes'], perMember: new Map() }, ballot, eligible, new Set([C]))).to.include({ ok: false, refusal: 'already_voted' });
    });
    it('refuses a member it does not carry, an option not on the ballot, and the room after the show of hands', () => {
      expect(planCast({ voterId: A, forAll: ['yes'], perMember: new Map([[B, ['no']]]) }, ballot, eligible, new Set())).to.include({ ok: false, refusal: 'not_eligible' });
      expect(planCast({ voterId: E, forAll: ['yes'], perMember: new Map() }, ballot, eligible, new Set())).to.include({ ok: false, refusal: 'not_eligible' });
      expect(planCast({ voterId: A, forAll: ['maybe'], perMember: new Map() }, ballot, eligible, new Set())).to.include({ ok: false, refusal: 'option_unknown' });
      expect(planCast({ voterId: B, forAll: ['yes'], perMember: new Map() }, { ...ballot, handsEntered: true }, eligible, new Set())).to.include({ ok: false, refusal: 'counted_by_hand' });
      expect(planCast({ voterId: A, forAll: ['yes'], perMember: new Map() }, { ...ballot, handsEntered: true }, eligible, new Set()).ok).to.equal(true); // online still votes
    });
    it('checks an election choice: candidates up to the number allowed, "no" and abstention alone', () => {
      const opts = ballotOptions('election', ['Anna', 'Bernd', 'Clara']);
      expect(choiceRefusal('election', opts, 2, ['c1', 'c3'])).to.equal(null);
      expect(choiceRefusal('election', opts, 2, ['c1', 'c2', 'c3'])).to.equal('too_many');
      expect(choiceRefusal('election', opts, 2, ['c1', 'abstain'])).to.equal('exclusive');
      expect(choiceRefusal('election', opts, 2, ['c1', 'c1'])).to.equal('option_unknown');
      expect(choiceRefusal('yes_no', yesNo, 1, ['yes', 'no'])).to.equal('exclusive');
      expect(choiceRefusal('yes_no', yesNo, 1, [])).to.equal('choose');
    });
  });

  describe('the result under each majority rule (abstentions never count as cast)', () => {
    const decide = (rule: MajorityRule, t: Record<string, number>, members = 10) => decideBallot('yes_no', yesNo, t, rule, BGB_ELECTION, members);
    it('ordinary resolution: more than half of the votes cast (a tie is rejected)', () => {
      expect(decide(BGB_MAJORITIES.resolution, { yes: 3, no: 2, abstain: 4 }).adopted).to.equal(true);
      expect(decide(BGB_MAJORITIES.resolution, { yes: 2, no: 2, abstain: 1 }).adopted).to.equal(false);
    });
    it('bylaws change and dissolution: at least three quarters of the votes cast', () => {
      for (const rule of [BGB_MAJORITIES.bylaws_change, BGB_MAJORITIES.dissolution]) {
        expect(decide(rule, { yes: 9, no: 3, abstain: 5 }).adopted).to.equal(true);
        expect(decide(rule, { yes: 8, no: 3 }).adopted).to.equal(false);
      }
    });
    it('change of purpose: every member (absent ones without Textform consent count against)', () => {
      expect(decide(BGB_MAJORITIES.purpose_change, { yes: 10 }, 10).adopted).to.equal(true);
      expect(decide(BGB_MAJORITIES.purpose_change, { yes: 9 }, 10).adopted).to.equal(false);
    });
    it('election: elected with more than half of the votes cast; else no one (BGB: repeat)', () => {
      const opts = ballotOptions('election', ['Anna', 'Bernd']);
      expect(decideBallot('election', opts, { c1: 4, c2: 2, abstain: 3 }, BGB_MAJORITIES.election, BGB_ELECTION, 10).election?.outcome).to.include({ kind: 'elected', winner: 'Anna' });
      expect(decideBallot('election', opts, { c1: 3, c2: 3 }, BGB_MAJORITIES.election, BGB_ELECTION, 10).adopted).to.equal(false);
      expect(countsOf('election', opts, { c1: 3, c2: 1, no: 1 }).election).to.deep.include({ candidates: [{ name: 'Anna', votes: 3 }, { name: 'Bernd', votes: 1 }], no: 1 });
    });
    it('a vote carried by proxy weighs like an own vote: A with two proxies outvotes B and E', () => {
      const eligible = snapshotEligible([{ organisationId: A, mode: 'online' }, { organisationId: B, mode: 'room' }, { organisationId: E, mode: 'room' }], [{ giverId: C, holderId: A }, { giverId: D, holderId: A }]);
      const t: Record<string, number> = { yes: 0, no: 0, abstain: 0, _cast: 0 };
      for (const [voter, choice] of [[A, 'yes'], [B, 'no'], [E, 'no']] as const) {
        const p = planCast({ voterId: voter, forAll: [choice], perMember: new Map() }, { kind: 'yes_no', options: yesNo, maxChoices: 1, handsEntered: false }, eligible, new Set());
        if (!p.ok) throw new Error(p.refusal);
        for (const v of p.plan.votes) { t[v.keys[0]]++; t._cast++; }
      }
      expect(t).to.deep.equal({ yes: 3, no: 2, abstain: 0, _cast: 5 });
      expect(decide(BGB_MAJORITIES.resolution, t).adopted).to.equal(true);
      expect(tallyVerified(t, 5, 0)).to.equal(true);
      expect(tallyVerified(t, 4, 0)).to.equal(false);
    });
  });

  it('is secret by default as the settings say', () => {
    expect(secretByDefault('open', 'election')).to.equal(false);
    expect(secretByDefault('secret_elections', 'election')).to.equal(true);
    expect(secretByDefault('secret_elections', 'resolution')).to.equal(false);
    expect(secretByDefault('secret', 'bylaws_change')).to.equal(true);
  });
});
