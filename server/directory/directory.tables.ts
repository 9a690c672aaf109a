/**
 * The rows of the table the directory module owns (migrations/20261204050200_member_profiles.ts).
 * Only `directory.repository.ts` queries it; everyone else calls DirectoryService.
 */

export type ProfileStatus = 'draft' | 'pending' | 'published' | 'withdrawn';

export type MemberProfileRow = {
  id: number;
  organisation_id: number;
  status: ProfileStatus;
  description_de: string;
  description_en: string;
  /** JSON array of field-of-activity codes */
  fields: string;
  town: string;
  website: string;
  cooperation_contact_id: number | null;
  submitted_at: string | null;
  published_at: string | null;
  withdrawn_at: string | null;
  updated_at: string;
  updated_by_label: string;
  version: number;
};

declare module 'knex/types/tables' {
  interface Tables {
    member_profiles: MemberProfileRow;
  }
}
