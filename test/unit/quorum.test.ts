import { expect } from 'chai';
import { quorum, votesPresent } from '../../server/assemblies/quorum.ts';

describe('assembly quorum and votes present', () => {
  it('counts members present plus proxies held by present members for absent givers', () => {
    const v = votesPresent([1, 2, 3], [{ giverId: 4, holderId: 1 }, { giverId: 5, holderId: 1 }, { giverId: 6, holderId: 9 }]);
    expect(v).to.deep.equal({ present: 5, own: 3, byProxy: 2 }); // holder 9 is absent: that proxy does not count
  });

  it('does not count a proxy twice when its giver comes in person', () => {
    expect(votesPresent([1, 4], [{ giverId: 4, holderId: 1 }])).to.deep.equal({ present: 2, own: 2, byProxy: 0 });
  });

  it('needs the bylaws share of voting members, rounded up', () => {
    expect(quorum(20, 5, 25)).to.include({ required: true, needed: 5, met: true });
    expect(quorum(20, 4, 25)).to.include({ needed: 5, met: false });
    expect(quorum(21, 6, 25)).to.include({ needed: 6, met: true }); // 5.25 → 6
    expect(quorum(21, 5, 25)).to.include({ met: false });
    expect(quorum(3, 1, 33)).to.include({ needed: 1, met: true });
    expect(quorum(10, 10, 100)).to.include({ needed: 10, met: true });
  });

  it('has no quorum rule when the share is 0', () => {
    expect(quorum(20, 0, 0)).to.deep.equal({ required: false, needed: 0, present: 0, votingMembers: 20, met: true });
  });
});
