/**
 * The rows of the tables the directory module owns (migrations/20261204090000_directory.ts).
 * Only `directory.repository.ts` queries them; everyone else calls DirectoryService.
 */

export type ReviewStatus = 'draft' | 'pending' | 'approved' | 'rejected';

export type DirectoryProfileRow = {
  id: number;
  organisation_id: number;
  slug: string;
  description_de: string;
  description_en: string;
  /** JSON: the keys of the network's fields of activity */
  fields: string;
  town: string;
  website: string;
  contact_id: number | null;
  logo_id: number | null;
  review_status: ReviewStatus;
  review_note: string | null;
  submitted_at: string | null;
  /** JSON: the approved snapshot (PublishedProfile), the only thing the public reads */
  published: string | null;
  published_at: string | null;
  withdrawn_at: string | null;
  created_at: string;
  updated_at: string;
  version: number;
};

export type DirectoryLogoRow = {
  id: number;
  organisation_id: number;
  content: Buffer;
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  created_at: string;
};

export type DirectoryEnquiryRow = {
  id: number;
  organisation_id: number;
  source_hash: string;
  mail_message_id: number | null;
  created_at: string;
};

declare module 'knex/types/tables' {
  interface Tables {
    directory_profiles: DirectoryProfileRow;
    directory_logos: DirectoryLogoRow;
    directory_enquiries: DirectoryEnquiryRow;
  }
}
