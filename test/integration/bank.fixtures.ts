import type { TestEnv } from '../helpers/context.ts';
import { makeCategories, makeUser } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import type { Context } from '../../server/context.ts';

const actor = { userId: null, label: 'test' };
/** The association's account (the statements in test/fixtures/bank are for it). */
export const OWN = 'DE89370400440532013000';

async function makeOrg(ctx: Context, name: string, categoryId: number, band: string, email: string): Promise<number> {
  return ctx.db.transaction(async (trx) => (await ctx.members.createOrganisation(trx, actor, {
    legalName: name, legalForm: 'GmbH', street: 'Hauptstraße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', registerEntry: '',
    vatId: '', fieldOfActivity: 'Chemie', employeeBand: band, categoryId, joinDate: '2015-01-01',
  }, [{ name: 'Buchhaltung', email, phone: '', position: '', isRepresentative: true, isBilling: true, locale: 'de', consentEmailInvitations: false }],
  { invite: false, welcome: false })).organisationId);
}

/** The association, six members with their 2027 invoices 2027-0001 … 2027-0006, a treasurer and a board member. */
export async function bankSetup(env: TestEnv): Promise<{ org: Record<string, number>; inv: Record<string, number> }> {
  env.clock.set('2027-03-10T09:00:00Z');
  const cats = await makeCategories(env.ctx);
  await env.ctx.settings.updateAssociation(actor, {
    ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
    taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: OWN, bic: 'COBADEFFXXX', bankName: 'Commerzbank',
  });
  const org: Record<string, number> = {};
  const inv: Record<string, number> = {};
  const members: [string, string, number, string][] = [
    ['harzer', 'Harzer Spezialchemie GmbH', cats.company, '250+'], ['okertal', 'Okertal Pigmente GmbH', cats.company, '50-249'],
    ['goslar', 'Goslarer Labor GmbH', cats.company, '1-49'], ['brocken', 'Brockenblick Analytik GmbH', cats.company, '1-49'],
    ['mueller', 'Müller & Söhne Chemie KG', cats.company, '1-49'], ['institut', 'Institut für Harzer Werkstoffe', cats.research, '1-49'],
  ];
  for (const [k, name, cat, band] of members) org[k] = await makeOrg(env.ctx, name, cat, band, `${k}@test.example`);
  await env.ctx.dues.freezeFeeSchedule(actor, 2027);
  for (const [k] of members) {
    const r = await env.ctx.dues.issueDuesInvoice(actor, org[k], 2027);
    if (!r.issued) throw new Error('not issued');
    inv[k] = r.invoiceId;
  }
  await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
  await makeUser(env.ctx, 'board@test.example', ['board']);
  return { org, inv };
}

