/**
 * Votes present and the quorum (Beschlussfähigkeit) of an assembly, as pure functions.
 *
 * Each voting member organisation has one vote. Votes present = voting organisations checked
 * in, plus the proxies in force whose holder is checked in and whose giver is not (a giver
 * who comes in person votes itself; the proxy then carries no extra vote).
 *
 * Quorum rule from the bylaws: quorumPercent of the voting members; 0 means no quorum is
 * required. Needed votes = ceil(votingMembers × percent / 100); met when present ≥ needed.
 */

export interface ProxyInForce {
  giverId: number;
  holderId: number;
}

export function votesPresent(presentVotingOrgIds: Iterable<number>, proxies: ProxyInForce[]): { present: number; own: number; byProxy: number } {
  const present = new Set(presentVotingOrgIds);
  let byProxy = 0;
  const counted = new Set<number>();
  for (const p of proxies) {
    if (present.has(p.holderId) && !present.has(p.giverId) && !counted.has(p.giverId)) {
      counted.add(p.giverId);
      byProxy++;
    }
  }
  return { present: present.size + byProxy, own: present.size, byProxy };
}

export interface QuorumResult {
  required: boolean;
  needed: number;
  present: number;
  votingMembers: number;
  met: boolean;
}

export function quorum(votingMembers: number, present: number, quorumPercent: number): QuorumResult {
  if (!quorumPercent || quorumPercent <= 0) return { required: false, needed: 0, present, votingMembers, met: true };
  const needed = Math.floor((votingMembers * quorumPercent + 99) / 100); // integer ceil
  return { required: true, needed, present, votingMembers, met: present >= needed };
}
