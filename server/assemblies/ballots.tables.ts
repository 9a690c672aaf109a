/**
 * h/evote: the rows of the electronic ballots' tables (migrations/20261204040000_assembly_ballots.ts),
 * owned by the assemblies module; only ballots.repository.ts queries them.
 */

import type { AttendanceMode, DbBool } from './assemblies.tables.ts';

export type BallotStatus = 'open' | 'closed';
export type BallotKind = 'yes_no' | 'election';
export type BallotVia = 'portal' | 'link' | 'tablet';

export interface BallotRow {
  id: number;
  assembly_id: number;
  agenda_item_id: number;
  question: string;
  kind: BallotKind;
  /** JSON BallotOption[] */
  options: string;
  max_choices: number;
  secret: DbBool;
  status: BallotStatus;
  opened_at: string;
  closes_at: string;
  closed_at: string | null;
  opened_by: number | null;
  closed_by_label: string | null;
  votes_present: number;
  /** JSON Record<option key, count> */
  hands: string | null;
  hands_entered_at: string | null;
  /** JSON BallotResultRecord */
  result: string | null;
}

export interface BallotEligibleRow {
  ballot_id: number;
  organisation_id: number;
  holder_organisation_id: number;
  mode: Exclude<AttendanceMode, ''>;
}

export interface BallotVoterRow {
  ballot_id: number;
  organisation_id: number;
  cast_by_organisation_id: number;
  via: BallotVia;
  /** open ballots: JSON string[] of option keys; secret ballots: null */
  choice: string | null;
  voted_at: string | null;
}

export interface BallotTallyRow {
  ballot_id: number;
  option_key: string;
  votes: number;
}

declare module 'knex/types/tables' {
  interface Tables {
    assembly_ballots: BallotRow;
    assembly_ballot_eligible: BallotEligibleRow;
    assembly_ballot_voters: BallotVoterRow;
    assembly_ballot_tallies: BallotTallyRow;
  }
}
