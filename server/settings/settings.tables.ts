/** Row types of the tables the settings module owns (see server/db/ownership.ts). */

export interface SettingRow {
  key: string;
  /** JSON */
  value: string;
  updated_at: string;
}

export interface MembershipCategoryRow {
  id: number;
  code: string;
  name_de: string;
  name_en: string;
  /** 0/1 on SQLite, false/true on PostgreSQL */
  has_vote: boolean | number;
  /** JSON: {"type":"fixed","amountCents":…} | {"type":"tiers","tiers":{"1-49":…}} */
  fee_rule: string;
  sort_order: number;
  active: boolean | number;
  open_to_applicants: boolean | number;
}

declare module 'knex/types/tables' {
  interface Tables {
    settings: SettingRow;
    membership_categories: MembershipCategoryRow;
  }
}
