export const ROLES = ['admin', 'board', 'treasurer', 'member'] as const;
export type Role = (typeof ROLES)[number];
export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && (ROLES as readonly string[]).includes(s); // why: widening, to ask whether any string is one
}
/** Staff roles see the back office; `member` sees only the portal of its own organisation. */
export const STAFF_ROLES: Role[] = ['admin', 'board', 'treasurer'];
