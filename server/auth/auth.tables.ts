/** Row types of the tables the auth module owns (see server/db/ownership.ts). */

export interface UserRow {
  id: number;
  /** stored lower-case */
  email: string;
  display_name: string;
  /** null until set through an invitation */
  password_hash: string | null;
  locale: string;
  /** 0/1 on SQLite, false/true on PostgreSQL */
  disabled: boolean | number;
  failed_logins: number;
  locked_until: string | null;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface UserRoleRow {
  user_id: number;
  role: string;
}

export interface TokenRow {
  id: number;
  purpose: string;
  /** SHA-256 hex of the random token */
  token_hash: string;
  subject_type: string;
  subject_id: number;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

declare module 'knex/types/tables' {
  interface Tables {
    users: UserRow;
    user_roles: UserRoleRow;
    tokens: TokenRow;
  }
}
