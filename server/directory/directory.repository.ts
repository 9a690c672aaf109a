import type { Knex } from 'knex';
import { affected, insertId } from '../db/knex.ts';
import type { DirectoryEnquiryRow, DirectoryLogoRow, DirectoryProfileRow } from './directory.tables.ts';

/**
 * Queries on directory_profiles, directory_logos and directory_enquiries; nothing else touches
 * them. The organisations' names and whether they are members come from the register's service.
 */

type Db = Knex | Knex.Transaction;

export async function profileOf(q: Db, organisationId: number): Promise<DirectoryProfileRow | undefined> {
  return q('directory_profiles').where({ organisation_id: organisationId }).first();
}

export async function profileBySlug(q: Db, slug: string): Promise<DirectoryProfileRow | undefined> {
  return q('directory_profiles').where({ slug }).first();
}

export async function slugTaken(q: Db, slug: string): Promise<boolean> {
  return !!(await q('directory_profiles').where({ slug }).first('id'));
}

export async function insertProfile(q: Db, row: Omit<DirectoryProfileRow, 'id'>): Promise<number> {
  return insertId(q, 'directory_profiles', row);
}

/** Updates at the version read (optimistic lock); false when someone else changed it meanwhile. */
export async function updateProfileAt(q: Db, id: number, version: number, patch: Partial<Omit<DirectoryProfileRow, 'id' | 'version'>>): Promise<boolean> {
  return affected(await q('directory_profiles').where({ id, version }).update({ ...patch, version: version + 1 })) === 1;
}

/** The profiles the public may see (approved snapshot present); membership is checked by the service. */
export async function publishedProfiles(q: Db): Promise<DirectoryProfileRow[]> {
  return q('directory_profiles').whereNotNull('published').orderBy('id');
}

export async function profilesByStatus(q: Db, statuses: string[]): Promise<DirectoryProfileRow[]> {
  return q('directory_profiles').whereIn('review_status', statuses).orderBy('submitted_at');
}

export async function allProfiles(q: Db): Promise<DirectoryProfileRow[]> {
  return q('directory_profiles').orderBy('id');
}

export async function profileById(q: Db, id: number): Promise<DirectoryProfileRow | undefined> {
  return q('directory_profiles').where({ id }).first();
}

export async function insertLogo(q: Db, row: Omit<DirectoryLogoRow, 'id'>): Promise<number> {
  return insertId(q, 'directory_logos', row);
}

export async function logo(q: Db, id: number): Promise<DirectoryLogoRow | undefined> {
  return q('directory_logos').where({ id }).first();
}

/** Logos of the organisation that neither the draft nor the published snapshot uses any more. */
export async function deleteLogosExcept(q: Db, organisationId: number, keep: number[]): Promise<number> {
  return affected(await q('directory_logos').where({ organisation_id: organisationId }).whereNotIn('id', keep.length ? keep : [0]).delete());
}

export async function insertEnquiry(q: Db, row: Omit<DirectoryEnquiryRow, 'id'>): Promise<number> {
  return insertId(q, 'directory_enquiries', row);
}

export async function enquiriesFrom(q: Db, sourceHash: string, since: string): Promise<number> {
  const r = await q('directory_enquiries').where({ source_hash: sourceHash }).where('created_at', '>=', since).count({ n: '*' }).first();
  return Number(r?.n ?? 0);
}

export async function enquiriesTo(q: Db, organisationId: number, since: string): Promise<number> {
  const r = await q('directory_enquiries').where({ organisation_id: organisationId }).where('created_at', '>=', since).count({ n: '*' }).first();
  return Number(r?.n ?? 0);
}

/** Enquiries per organisation: all, and since `since`. */
export async function enquiryCounts(q: Db, since: string): Promise<Map<number, { total: number; recent: number }>> {
  const rows: { organisation_id: number; total: number | string; recent: number | string }[] = await q('directory_enquiries')
    .select('organisation_id')
    .count({ total: '*' })
    .sum({ recent: q.raw('case when created_at >= ? then 1 else 0 end', [since]) })
    .groupBy('organisation_id');
  return new Map(rows.map((r) => [Number(r.organisation_id), { total: Number(r.total), recent: Number(r.recent ?? 0) }]));
}
