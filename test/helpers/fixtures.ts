import type { Context } from '../../server/context.ts';
import type { Role } from '../../server/auth/roles.ts';

export const PASSWORD = 'correct-horse-battery';

/** Creates a user with roles and a password; returns its id. */
export async function makeUser(ctx: Context, email: string, roles: Role[], displayName = email.split('@')[0]): Promise<number> {
  return ctx.users.create({ userId: null, label: 'test' }, { email, displayName, roles, password: PASSWORD });
}

/** The demo categories of PRODUCT.md (company tiers, research institute, supporting, honorary). */
export async function makeCategories(ctx: Context): Promise<Record<string, number>> {
  const actor = { userId: null, label: 'test' };
  return {
    company: await ctx.settings.saveCategory(actor, { code: 'company', nameDe: 'Unternehmen', nameEn: 'Company', hasVote: true, feeRule: { type: 'tiers', tiers: { '1-49': 50000, '50-249': 120000, '250+': 250000 } }, sortOrder: 1, active: true, openToApplicants: true }),
    research: await ctx.settings.saveCategory(actor, { code: 'research', nameDe: 'Forschungseinrichtung', nameEn: 'Research institute', hasVote: true, feeRule: { type: 'fixed', amountCents: 30000 }, sortOrder: 2, active: true, openToApplicants: true }),
    supporting: await ctx.settings.saveCategory(actor, { code: 'supporting', nameDe: 'Fördermitglied', nameEn: 'Supporting member', hasVote: false, feeRule: { type: 'fixed', amountCents: 25000 }, sortOrder: 3, active: true, openToApplicants: true }),
    honorary: await ctx.settings.saveCategory(actor, { code: 'honorary', nameDe: 'Ehrenmitglied', nameEn: 'Honorary member', hasVote: false, feeRule: { type: 'fixed', amountCents: 0 }, sortOrder: 4, active: true, openToApplicants: false }),
  };
}
