import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import { deleteTokens, insertToken, markAllUsed, markUsed, tokenByHash } from './tokens.repository.ts';

export type TokenPurpose = 'confirm_application' | 'answer_application' | 'reset_password' | 'set_password';

export function sha256(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

/** A new link token (256 random bits) and the SHA-256 that is stored instead of it. */
export function newLinkToken(): { token: string; hash: string } {
  const token = crypto.randomBytes(32).toString('base64url');
  return { token, hash: sha256(token) };
}

export type TokenCheck =
  | { ok: true; id: number; subjectType: string; subjectId: number }
  | { ok: false; reason: 'unknown' | 'expired' | 'used'; subjectType?: string; subjectId?: number };

/**
 * Single-purpose e-mail link tokens: 256 random bits, only their SHA-256 is stored,
 * each expires and can be used once.
 */
export class TokenService {
  constructor(private db: Knex, private clock: Clock) {}

  async issue(
    purpose: TokenPurpose,
    subjectType: string,
    subjectId: number,
    ttlMs: number,
    trx: Knex | Knex.Transaction = this.db,
  ): Promise<string> {
    const { token, hash } = newLinkToken();
    const now = this.clock.now();
    await insertToken(trx, {
      purpose,
      token_hash: hash,
      subject_type: subjectType,
      subject_id: subjectId,
      expires_at: iso(new Date(now.getTime() + ttlMs)),
      created_at: iso(now),
    });
    return token;
  }

  async check(purpose: TokenPurpose, token: string, trx: Knex | Knex.Transaction = this.db): Promise<TokenCheck> {
    if (typeof token !== 'string' || token.length < 20 || token.length > 100) return { ok: false, reason: 'unknown' };
    const row = await tokenByHash(trx, sha256(token), purpose);
    if (!row) return { ok: false, reason: 'unknown' };
    const base = { subjectType: row.subject_type, subjectId: Number(row.subject_id) };
    if (row.used_at) return { ok: false, reason: 'used', ...base };
    if (row.expires_at <= iso(this.clock.now())) return { ok: false, reason: 'expired', ...base };
    return { ok: true, id: Number(row.id), ...base };
  }

  /** Marks the token used; false if someone else used it first (race-safe). */
  async consume(id: number, trx: Knex | Knex.Transaction = this.db): Promise<boolean> {
    return markUsed(trx, id, iso(this.clock.now()));
  }

  /** Invalidates every open token of a purpose for a subject (e.g. when a new one is sent). */
  async revokeAll(purpose: TokenPurpose, subjectType: string, subjectId: number, trx: Knex | Knex.Transaction = this.db): Promise<void> {
    await markAllUsed(trx, subjectType, [subjectId], purpose, iso(this.clock.now()));
  }

  /** Invalidates every open token of any purpose for the subjects (e.g. an anonymised account). */
  async revokeAllOf(subjectType: string, subjectIds: number[], trx: Knex | Knex.Transaction = this.db): Promise<void> {
    await markAllUsed(trx, subjectType, subjectIds, undefined, iso(this.clock.now()));
  }

  /** Deletes every token of the subjects (e.g. applications being purged); returns how many. */
  async deleteAllOf(subjectType: string, subjectIds: number[], trx: Knex | Knex.Transaction = this.db): Promise<number> {
    return deleteTokens(trx, subjectType, subjectIds);
  }

}
