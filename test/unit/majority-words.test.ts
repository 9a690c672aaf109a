import { expect } from 'chai';
import { tFor } from '../../server/i18n/i18n.ts';
import { BGB_MAJORITIES, MAJORITY_PRESETS, decideMajority, parseRuleCode, ruleCode } from '../../server/assemblies/majority.ts';
import { describeOutcome, describeRule, formatCount } from '../../server/assemblies/results.ts';

const de = tFor('de');
const en = tFor('en');
const c = (yes: number, no: number, abstain = 0, invalid = 0) => ({ yes, no, abstain, invalid });

describe('majorities in words (results page, minutes mail, settings)', () => {
  it('says the outcome with the threshold in the language\'s number format', () => {
    const rejected = decideMajority(BGB_MAJORITIES.bylaws_change, c(8, 3, 2));
    expect(describeOutcome(de, 'de', rejected)).to.equal('abgelehnt mit 8 von 11 abgegebenen Stimmen, erforderlich ¾ = 8,25');
    expect(describeOutcome(en, 'en', rejected)).to.equal('rejected with 8 of 11 votes cast, required ¾ = 8.25');
    const adopted = decideMajority(BGB_MAJORITIES.bylaws_change, c(9, 3));
    expect(describeOutcome(de, 'de', adopted)).to.equal('angenommen mit 9 von 12 abgegebenen Stimmen, erforderlich ¾ = 9');
    expect(describeOutcome(de, 'de', decideMajority(BGB_MAJORITIES.resolution, c(5, 5, 3)))).to.equal('abgelehnt mit 5 von 10 abgegebenen Stimmen, erforderlich mehr als ½ = 5');
    expect(describeOutcome(de, 'de', decideMajority(BGB_MAJORITIES.resolution, c(0, 0, 7)))).to.equal('abgelehnt: keine Ja- oder Nein-Stimmen abgegeben');
    const purpose = decideMajority(BGB_MAJORITIES.purpose_change, c(10, 0), { votingMembers: 12, absentConsents: 2 });
    expect(describeOutcome(de, 'de', purpose)).to.equal('angenommen mit 12 Zustimmungen von 12 stimmberechtigten Mitgliedern, erforderlich alle = 12');
    expect(formatCount(2 / 3 * 10, 'de')).to.equal('6,67');
  });

  it('names every rule in words, the BGB defaults too', () => {
    expect(describeRule(de, BGB_MAJORITIES.resolution)).to.equal('einfache Mehrheit der abgegebenen Stimmen (mehr Ja- als Nein-Stimmen); Enthaltungen und ungültige Stimmen zählen nicht');
    expect(describeRule(de, BGB_MAJORITIES.dissolution)).to.equal('mindestens ¾ der abgegebenen Stimmen; Enthaltungen und ungültige Stimmen zählen nicht');
    expect(describeRule(en, BGB_MAJORITIES.purpose_change)).to.equal('consent of all voting members; absent members may consent in text form');
    expect(describeRule(de, { num: 2, den: 3, strict: false, base: 'members', absentConsents: false })).to.equal('mindestens ⅔ aller stimmberechtigten Mitglieder');
  });

  it('reads back every rule it offers from its form value, and nothing else', () => {
    for (const r of MAJORITY_PRESETS) expect(parseRuleCode(ruleCode(r))).to.deep.equal(r);
    for (const bad of ['', 'cast:5/4:ge', 'cast:3/4:ge:textform', 'all:1/2:gt', 'cast:0/2:gt', 'cast:1/2']) expect(parseRuleCode(bad), bad).to.equal(null);
  });
});
