import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import { likeEscape } from '../db/knex.ts';
import type { UserRoleRow, UserRow } from './auth.tables.ts';
import { isRole, type Role } from './roles.ts';

/** Either the database or the transaction a caller is in (SQLite has one connection: use the trx inside one). */
export type Q = Knex | Knex.Transaction;

/**
 * The queries of `users` and `user_roles` (owned by auth, see server/db/ownership.ts). Only
 * UsersService calls these; every other module goes through UsersService.
 */

export function toBool(v: boolean | number | string | null | undefined): boolean {
  return v === true || v === 1 || v === '1';
}

/** A user row with its roles, before the contact link is added. */
export interface UserRecord {
  row: UserRow;
  roles: Role[];
}

export async function userRowById(q: Q, id: number): Promise<UserRow | undefined> {
  return q('users').where({ id }).first();
}

export async function userRowByEmail(q: Q, email: string): Promise<UserRow | undefined> {
  return q('users').where({ email }).first();
}

/** One user with its roles in one query (a row per role; a few at most). */
export async function userWithRoles(q: Q, id: number): Promise<UserRecord | undefined> {
  const rows: (UserRow & { joined_role: string | null })[] = await q('users as u')
    .leftJoin('user_roles as r', 'r.user_id', 'u.id')
    .where('u.id', id)
    .select('u.*', 'r.role as joined_role');
  if (!rows.length) return undefined;
  const { joined_role: _role, ...row } = rows[0];
  return { row, roles: [...new Set(rows.map((x) => x.joined_role).filter(isRole))].sort() };
}

/** The roles of several users. */
export async function rolesOf(q: Q, userIds: number[]): Promise<Map<number, Role[]>> {
  const out = new Map<number, Role[]>();
  if (!userIds.length) return out;
  const rows: UserRoleRow[] = await q('user_roles').whereIn('user_id', userIds);
  for (const r of rows) {
    if (!isRole(r.role)) continue;
    const id = Number(r.user_id);
    out.set(id, [...(out.get(id) ?? []), r.role]);
  }
  for (const roles of out.values()) roles.sort();
  return out;
}

/** Users by name or e-mail (contains), or with a role; ordered by name, 500 at most. */
export async function searchUserRows(q: Q, opts: { q?: string; role?: string }): Promise<UserRow[]> {
  const query = q('users').orderBy('display_name');
  if (opts.q) {
    const like = `%${likeEscape(opts.q.toLowerCase())}%`;
    query.where((w) => w.whereRaw("lower(display_name) like ? escape '\\'", [like]).orWhereRaw("email like ? escape '\\'", [like]));
  }
  if (opts.role) query.whereIn('id', q('user_roles').select('user_id').where('role', opts.role));
  return query.limit(500);
}

export async function insertUser(q: Q, row: Omit<UserRow, 'id' | 'disabled' | 'failed_logins' | 'locked_until' | 'last_login_at'>): Promise<number> {
  return insertId(q, 'users', row);
}

export async function updateUser(q: Q, id: number, values: Partial<Omit<UserRow, 'id'>>): Promise<number> {
  return q('users').where({ id }).update(values);
}

/** Replaces a user's roles. */
export async function replaceRoles(q: Q, userId: number, roles: Role[]): Promise<void> {
  await q('user_roles').where({ user_id: userId }).delete();
  if (roles.length) await q('user_roles').insert(roles.map((role) => ({ user_id: userId, role })));
}

export async function addRole(q: Q, userId: number, role: Role): Promise<boolean> {
  if (await q('user_roles').where({ user_id: userId, role }).first()) return false;
  await q('user_roles').insert({ user_id: userId, role });
  return true;
}

/** Removes one role; true when the user had it. */
export async function removeRole(q: Q, userId: number, role: Role): Promise<boolean> {
  const n = await q('user_roles').where({ user_id: userId, role }).delete();
  return Number(n) > 0;
}

/** Enabled accounts with the admin role. */
export async function countActiveAdmins(q: Q): Promise<number> {
  const [{ n }] = await q('user_roles').join('users', 'users.id', 'user_roles.user_id')
    .where({ role: 'admin', disabled: false }).count({ n: '*' });
  return Number(n);
}

/** The numbers on the administration's overview. */
export async function userCounts(q: Q, now: string): Promise<{ users: number; disabled: number; locked: number; roles: Map<string, number> }> {
  const [{ n: users }] = await q('users').count({ n: '*' });
  const [{ n: disabled }] = await q('users').where('disabled', true).count({ n: '*' });
  const [{ n: locked }] = await q('users').where('locked_until', '>', now).count({ n: '*' });
  const roleRows: { role: string; n: number | string }[] = await q('user_roles').select('role').count({ n: '*' }).groupBy('role');
  return { users: Number(users), disabled: Number(disabled), locked: Number(locked), roles: new Map(roleRows.map((r) => [r.role, Number(r.n)])) };
}

/** The role rows of several users, as stored. */
export async function userRoleRows(q: Q, userIds: number[]): Promise<UserRoleRow[]> {
  return q('user_roles').whereIn('user_id', userIds);
}

/** The columns of a user a member may see in a GDPR data export. */
export type ExportedUserRow = Pick<UserRow, 'id' | 'email' | 'display_name' | 'locale' | 'disabled' | 'last_login_at' | 'created_at'>;

/** Users by id with the columns of a GDPR data export. */
export async function exportedUserRows(q: Q, ids: number[]): Promise<ExportedUserRow[]> {
  return q('users').whereIn('id', ids).select('id', 'email', 'display_name', 'locale', 'disabled', 'last_login_at', 'created_at');
}

/** A subquery for the display name of the user whose id is in `userIdColumn` (one query, no join on users). */
export function displayNameSubquery(q: Q, userIdColumn: string): Knex.QueryBuilder {
  return q('users as dn_u').select('dn_u.display_name').whereRaw('dn_u.id = ??', [userIdColumn]).limit(1);
}
