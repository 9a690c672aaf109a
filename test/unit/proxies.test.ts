import { expect } from 'chai';
import { proxyRefusal, type ProxyRequest } from '../../server/assemblies/proxies.ts';

const base: ProxyRequest = { proxiesAllowed: true, maxPerHolder: 2, giverId: 1, holderId: 2, holderEligible: true, active: [] };

describe('assembly proxies: the bylaws’ limits', () => {
  it('allows a proxy to another invited voting member', () => {
    expect(proxyRefusal(base)).to.equal(null);
  });

  it('refuses every proxy when the bylaws allow none', () => {
    expect(proxyRefusal({ ...base, proxiesAllowed: false })).to.equal('proxies_not_allowed');
  });

  it('refuses a proxy to oneself and to a member that was not invited or has left', () => {
    expect(proxyRefusal({ ...base, holderId: 1 })).to.equal('proxy_self');
    expect(proxyRefusal({ ...base, holderEligible: false })).to.equal('proxy_holder_unknown');
  });

  it('allows one proxy in force per giver (withdraw first to change it)', () => {
    expect(proxyRefusal({ ...base, holderId: 3, active: [{ giverId: 1, holderId: 2 }] })).to.equal('proxy_exists');
  });

  it('refuses chains in both directions: no sub-delegation', () => {
    // the holder has given its own vote away
    expect(proxyRefusal({ ...base, active: [{ giverId: 2, holderId: 5 }] })).to.equal('proxy_chain_holder');
    // the giver already holds another member's vote
    expect(proxyRefusal({ ...base, active: [{ giverId: 6, holderId: 1 }] })).to.equal('proxy_chain_giver');
  });

  it('stops at the maximum number of proxies per holder, counting only proxies in force for that holder', () => {
    const two = [{ giverId: 7, holderId: 2 }, { giverId: 8, holderId: 2 }];
    expect(proxyRefusal({ ...base, active: two })).to.equal('proxy_limit');
    expect(proxyRefusal({ ...base, maxPerHolder: 3, active: two })).to.equal(null);
    expect(proxyRefusal({ ...base, active: [{ giverId: 7, holderId: 2 }, { giverId: 8, holderId: 9 }] })).to.equal(null); // one for 2, one for someone else
    expect(proxyRefusal({ ...base, maxPerHolder: 1, active: [{ giverId: 7, holderId: 2 }] })).to.equal('proxy_limit');
  });
});
