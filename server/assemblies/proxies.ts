/**
 * The bylaws' rules for a proxy (Stimmrechtsvollmacht), as a pure function of the proxies in
 * force, so they can be tested without a database. A member may give its vote to one other
 * invited voting member; no sub-delegation (a holder cannot pass votes on, and a member that
 * gave its vote away cannot hold others'); at most `maxPerHolder` proxies per holder.
 */

export interface ActiveProxy {
  giverId: number;
  holderId: number;
}

export interface ProxyRequest {
  proxiesAllowed: boolean;
  maxPerHolder: number;
  giverId: number;
  holderId: number;
  /** The holder was invited to this assembly and is still a member. */
  holderEligible: boolean;
  /** Proxies in force (not withdrawn) for this assembly. */
  active: ActiveProxy[];
}

export type ProxyRefusal =
  | 'proxies_not_allowed'
  | 'proxy_self'
  | 'proxy_holder_unknown'
  | 'proxy_exists'
  | 'proxy_chain_holder'
  | 'proxy_chain_giver'
  | 'proxy_limit';

/** Why the proxy is refused (the first rule that fails), or null when it may be given. */
export function proxyRefusal(r: ProxyRequest): ProxyRefusal | null {
  if (!r.proxiesAllowed) return 'proxies_not_allowed';
  if (r.holderId === r.giverId) return 'proxy_self';
  if (!r.holderEligible) return 'proxy_holder_unknown';
  if (r.active.some((p) => p.giverId === r.giverId)) return 'proxy_exists';
  if (r.active.some((p) => p.giverId === r.holderId)) return 'proxy_chain_holder';
  if (r.active.some((p) => p.holderId === r.giverId)) return 'proxy_chain_giver';
  if (r.active.filter((p) => p.holderId === r.holderId).length >= r.maxPerHolder) return 'proxy_limit';
  return null;
}
