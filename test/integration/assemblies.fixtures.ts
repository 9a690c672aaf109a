import type { Context } from '../../server/context.ts';
import type { Locale } from '../../server/i18n/i18n.ts';

export const TEST_ACTOR = { userId: null, label: 'test' };

let nextNo = 100;

/** A member organisation with a voting representative (and optional further contacts). */
export async function makeOrg(
  ctx: Context,
  o: { name: string; categoryId: number; joinDate?: string; exitDate?: string | null; repEmail?: string; repLocale?: Locale; others?: string[] },
): Promise<number> {
  return ctx.db.transaction(async (trx) => {
    const { organisationId } = await ctx.members.createOrganisation(trx, TEST_ACTOR, {
      legalName: o.name, legalForm: 'GmbH', street: 'Marktstraße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', registerEntry: '',
      vatId: '', fieldOfActivity: 'Chemie', employeeBand: '1-49', categoryId: o.categoryId, joinDate: o.joinDate ?? '2015-03-01', memberNumber: nextNo++,
    }, [
      { name: `Rep ${o.name}`, email: o.repEmail ?? '', phone: '', position: 'GF', isRepresentative: true, isBilling: false, locale: o.repLocale ?? 'de', consentEmailInvitations: true },
      ...(o.others ?? []).map((email) => ({ name: `Other ${email}`, email, phone: '', position: '', isRepresentative: false, isBilling: true, locale: 'de' as Locale, consentEmailInvitations: false })),
    ], { invite: false, welcome: false });
    if (o.exitDate) await trx('organisations').where({ id: organisationId }).update({ exit_date: o.exitDate, status: o.exitDate < '2026-11-25' ? 'former' : 'notice_given' });
    return organisationId;
  });
}

/** The personal link in the newest assembly mail to an address. */
export async function linkFor(ctx: Context, to: string): Promise<string> {
  const mails = await ctx.outbox.forRecipient(to);
  const m = mails.find((x) => /\/a\/[A-Za-z0-9_-]{43}/.test(x.text));
  if (!m) throw new Error(`no assembly link mailed to ${to}`);
  return m.text.match(/\/a\/[A-Za-z0-9_-]{43}/)![0];
}
