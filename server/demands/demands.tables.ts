/**
 * The rows of the tables the demands module owns (migrations/20261203000400_minority_demands.ts).
 * Only `demands.repository.ts` queries them; everyone else calls DemandsService.
 */

export type DemandStatus = 'open' | 'linked' | 'rejected';

export type DemandRow = {
  id: number;
  organisation_id: number;
  contact_id: number | null;
  user_id: number | null;
  actor_label: string;
  purpose: string;
  reasons: string;
  status: DemandStatus;
  reached_at: string | null;
  assembly_id: number | null;
  /** JSON: the ids of the agenda items that carry the demand's purpose. */
  agenda_item_ids: string | null;
  rejection_reason: string | null;
  decided_by: number | null;
  decided_by_label: string | null;
  decided_at: string | null;
  created_at: string;
  version: number;
};

export type DemandSupportRow = {
  id: number;
  demand_id: number;
  organisation_id: number;
  contact_id: number | null;
  user_id: number | null;
  actor_label: string;
  created_at: string;
  withdrawn_at: string | null;
};

declare module 'knex/types/tables' {
  interface Tables {
    minority_demands: DemandRow;
    minority_demand_supports: DemandSupportRow;
  }
}
