import type { Knex } from 'knex';
import { affected, insertId } from '../db/knex.ts';
import type { MemberProfileRow, ProfileStatus } from './directory.tables.ts';

/** Queries on member_profiles; nothing else touches it. */

type Db = Knex | Knex.Transaction;

export interface StoredProfile {
  id: number;
  organisationId: number;
  status: ProfileStatus;
  descriptionDe: string;
  descriptionEn: string;
  fields: string[];
  town: string;
  website: string;
  cooperationContactId: number | null;
  submittedAt: string | null;
  publishedAt: string | null;
  withdrawnAt: string | null;
  updatedAt: string;
  version: number;
}

function codes(json: string): string[] {
  const v: unknown = JSON.parse(json || '[]');
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

const toProfile = (r: MemberProfileRow): StoredProfile => ({
  id: Number(r.id), organisationId: Number(r.organisation_id), status: r.status, descriptionDe: r.description_de, descriptionEn: r.description_en,
  fields: codes(r.fields), town: r.town, website: r.website, cooperationContactId: r.cooperation_contact_id == null ? null : Number(r.cooperation_contact_id),
  submittedAt: r.submitted_at ?? null, publishedAt: r.published_at ?? null, withdrawnAt: r.withdrawn_at ?? null, updatedAt: r.updated_at, version: Number(r.version),
});

export async function profileOf(q: Db, organisationId: number): Promise<StoredProfile | undefined> {
  const r = await q('member_profiles').where({ organisation_id: organisationId }).first();
  return r ? toProfile(r) : undefined;
}

export type ProfileValues = Pick<MemberProfileRow, 'status' | 'description_de' | 'description_en' | 'fields' | 'town' | 'website' | 'cooperation_contact_id' | 'submitted_at' | 'updated_at' | 'updated_by_label'>;

export async function insertProfile(trx: Knex.Transaction, organisationId: number, v: ProfileValues): Promise<number> {
  return insertId(trx, 'member_profiles', { organisation_id: organisationId, ...v, version: 1 });
}

/** Changes the profile at the version read; false when it changed meanwhile. */
export async function updateProfile(trx: Knex.Transaction, organisationId: number, version: number, v: Partial<MemberProfileRow>): Promise<boolean> {
  return affected(await trx('member_profiles').where({ organisation_id: organisationId, version }).update({ ...v, version: version + 1 })) > 0;
}

/** Withdraws a profile whatever its version (withdrawing works at once, never refused for a stale page). */
export async function withdrawProfile(trx: Knex.Transaction, organisationId: number, at: string, label: string): Promise<boolean> {
  return affected(await trx('member_profiles').where({ organisation_id: organisationId }).whereIn('status', ['pending', 'published'])
    .update({ status: 'withdrawn', withdrawn_at: at, updated_at: at, updated_by_label: label.slice(0, 200), version: trx.raw('version + 1') })) > 0;
}
