import { expect } from 'chai';
import { BGB_MAJORITIES } from '../../server/assemblies/majority.ts';
import { BGB_ELECTION, decideElection, type ElectionBallot, type ElectionRules } from '../../server/assemblies/election.ts';
import { describeElection, describeElectionRule } from '../../server/assemblies/results.ts';
import { tFor } from '../../server/i18n/i18n.ts';

const rule = BGB_MAJORITIES.election;
const ballot = (candidates: [string, number][], extra: Partial<ElectionBallot> = {}): ElectionBallot => ({
  round: 1, candidates: candidates.map(([name, votes]) => ({ name, votes })), no: 0, abstain: 0, invalid: 0, ...extra,
});
const topTwo: ElectionRules = { runoff: 'top_two', tie: 'lot' };
const relative: ElectionRules = { runoff: 'relative', tie: 'repeat' };
const de = tFor('de');
const words = (rules: ElectionRules, b: ElectionBallot) => describeElection(de, 'de', decideElection(rule, rules, b), b.round);

describe('elections: the majority of votes cast and the run-off rule of the bylaws', () => {
  it('elects with more than half of the votes cast, abstentions and invalid votes not counted', () => {
    const b = ballot([['Anna Berg', 7], ['Bernd Christ', 5]], { abstain: 4, invalid: 1 });
    expect(decideElection(rule, BGB_ELECTION, b).outcome).to.deep.equal({ kind: 'elected', winner: 'Anna Berg', votes: 7, cast: 12, by: 'majority', tiedWith: [] });
    expect(words(BGB_ELECTION, b)).to.equal('Anna Berg gewählt mit 7 von 12 abgegebenen Stimmen, erforderlich mehr als ½ = 6');
  });

  it('exactly half is not a majority: under the BGB no one is elected, with top_two a run-off between the two best', () => {
    const b = ballot([['Anna Berg', 6], ['Bernd Christ', 4], ['Cora Dahl', 2]]);
    expect(decideElection(rule, BGB_ELECTION, b).outcome).to.deep.equal({ kind: 'not_elected', cast: 12 });
    expect(words(BGB_ELECTION, b)).to.equal('keine Mehrheit (6 von 12 abgegebenen Stimmen, erforderlich mehr als ½ = 6) – niemand gewählt, die Wahl wird wiederholt');
    expect(decideElection(rule, topTwo, b).outcome).to.deep.equal({ kind: 'runoff', between: ['Anna Berg', 'Bernd Christ'], cast: 12 });
    expect(words(topTwo, b)).to.equal('keine Mehrheit (6 von 12 abgegebenen Stimmen, erforderlich mehr als ½ = 6) – Stichwahl zwischen Anna Berg und Bernd Christ');
    expect(decideElection(rule, relative, b).outcome.kind).to.equal('second_round');
  });

  it('a tie for second place takes everyone tied into the run-off', () => {
    const b = ballot([['A', 5], ['B', 3], ['C', 3]]);
    expect(decideElection(rule, topTwo, b).outcome).to.deep.include({ kind: 'runoff', between: ['A', 'B', 'C'] });
  });

  it('a single candidate is elected with more yes than no; on a tie of yes and no not', () => {
    expect(decideElection(rule, topTwo, ballot([['A', 5]], { no: 4 })).outcome.kind).to.equal('elected');
    expect(decideElection(rule, topTwo, ballot([['A', 5]], { no: 5 })).outcome).to.deep.equal({ kind: 'not_elected', cast: 10 });
  });

  it('abstentions only: no votes cast, no one elected', () => {
    const b = ballot([['A', 0], ['B', 0]], { abstain: 9, invalid: 2 });
    expect(decideElection(rule, topTwo, b).outcome).to.deep.equal({ kind: 'no_votes' });
    expect(words(topTwo, b)).to.equal('niemand gewählt: keine Stimmen abgegeben (Enthaltungen und ungültige Stimmen zählen nicht)');
  });

  it('in the run-off the most votes win; a tie there is decided by lot when the bylaws say so, otherwise repeated', () => {
    const won = ballot([['A', 6], ['B', 5]], { round: 2, abstain: 3 });
    expect(decideElection(rule, topTwo, won).outcome).to.deep.include({ kind: 'elected', winner: 'A', by: 'relative' });
    expect(words(topTwo, won)).to.equal('A gewählt mit 6 von 11 abgegebenen Stimmen (meiste Stimmen im zweiten Wahlgang)');
    // relative majority is enough in the second round even below one half
    expect(decideElection(rule, relative, ballot([['A', 4], ['B', 3], ['C', 3]], { round: 2 })).outcome).to.deep.include({ kind: 'elected', winner: 'A', by: 'relative' });

    const tied = ballot([['A', 5], ['B', 5]], { round: 2 });
    expect(decideElection(rule, topTwo, tied).outcome).to.deep.equal({ kind: 'tie', between: ['A', 'B'], votes: 5, cast: 10, lot: true });
    expect(words(topTwo, tied)).to.equal('Stimmengleichheit zwischen A und B mit je 5 Stimmen – das Los entscheidet');
    const drawn = { ...tied, lotWinner: 'B' };
    expect(decideElection(rule, topTwo, drawn).outcome).to.deep.include({ kind: 'elected', winner: 'B', by: 'lot', tiedWith: ['A'] });
    expect(words(topTwo, drawn)).to.equal('B gewählt durch Los (Stimmengleichheit mit A bei je 5 von 10 abgegebenen Stimmen)');
    // a lot winner who was not tied is not taken
    expect(decideElection(rule, topTwo, { ...tied, lotWinner: 'C' }).outcome.kind).to.equal('tie');
    expect(decideElection(rule, { runoff: 'top_two', tie: 'repeat' }, drawn).outcome).to.deep.include({ kind: 'tie', lot: false });
  });

  it('under the BGB default a repeated ballot still needs the absolute majority', () => {
    expect(decideElection(rule, BGB_ELECTION, ballot([['A', 4], ['B', 3], ['C', 3]], { round: 2 })).outcome.kind).to.equal('not_elected');
  });

  it('says the rule in words', () => {
    expect(describeElectionRule(de, rule, BGB_ELECTION)).to.equal('gewählt ist, wer mehr als die Hälfte der abgegebenen Stimmen erhält (Enthaltungen und ungültige Stimmen zählen nicht); sonst ist niemand gewählt und die Wahl wird wiederholt');
    expect(describeElectionRule(tFor('en'), rule, topTwo)).to.contain('run-off between the two best placed');
  });
});
