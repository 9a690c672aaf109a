/** Row types of the table the db module owns (see server/db/ownership.ts). */

export interface CounterRow {
  name: string;
  value: number;
}

declare module 'knex/types/tables' {
  interface Tables {
    counters: CounterRow;
  }
}
