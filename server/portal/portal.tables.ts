/**
 * The rows of the table the portal owns (migrations/20261125001000_portal.ts). Only
 * `portal.repository.ts` queries it; everyone else calls PortalService.
 */

export type ChangeRequestStatus = 'pending' | 'approved' | 'rejected' | 'withdrawn';

export type ChangeRequestRow = {
  id: number;
  organisation_id: number;
  requested_by_user_id: number | null;
  requested_by_label: string;
  /** JSON: field → requested value (only the changed fields). */
  changes: string;
  /** JSON: field → value at request time. */
  previous: string;
  status: ChangeRequestStatus;
  decided_by: number | null;
  decided_by_label: string | null;
  decided_at: string | null;
  decision_note: string | null;
  created_at: string;
};

declare module 'knex/types/tables' {
  interface Tables {
    organisation_change_requests: ChangeRequestRow;
  }
}
