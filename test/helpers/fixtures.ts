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

/**
 * A member firm in Goslar with one contact who is representative and billing contact (no
 * invitation, no welcome mail); `joinDate` 2020-01-01 unless given. The one fixture of the
 * money and e-invoice tests (older tests keep their own variants).
 */
export async function makeFirm(ctx: Context, o: { name: string; categoryId: number; email: string; locale?: 'de' | 'en'; joinDate?: string; vatId?: string; street?: string }): Promise<number> {
  return ctx.db.transaction(async (trx) => (await ctx.members.createOrganisation(trx, { userId: null, label: 'test' }, {
    legalName: o.name, legalForm: 'GmbH', street: o.street ?? 'Hauptstraße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', registerEntry: '',
    vatId: o.vatId ?? '', fieldOfActivity: 'Chemie', employeeBand: '1-49', categoryId: o.categoryId, joinDate: o.joinDate ?? '2020-01-01',
  }, [{ name: 'Buchhaltung', email: o.email, phone: '', position: '', isRepresentative: true, isBilling: true, locale: o.locale ?? 'de', consentEmailInvitations: false }],
  { invite: false, welcome: false })).organisationId);
}
