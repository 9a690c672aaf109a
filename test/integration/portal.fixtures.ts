import type { TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import type { NewContact } from '../../server/members/members.service.ts';

/** Test data of the member portal tests: two member organisations with portal accounts, a board member. */
export const ACTOR = { userId: null, label: 'test' };
export const BOARD_EMAIL = 'vorstand@chemienetzwerk.example';

export interface World {
  cats: Record<string, number>;
  orgA: number;
  orgB: number;
  /** contact ids by first name: anna (A, representative, de), bernd (A, billing, en), carla (B, representative), dieter (B, billing) */
  c: Record<'anna' | 'bernd' | 'carla' | 'dieter', number>;
}

const contact = (name: string, email: string, over: Partial<NewContact> = {}): NewContact => ({
  name, email, phone: '', position: '', isRepresentative: false, isBilling: false, locale: 'de', consentEmailInvitations: true, ...over,
});

export async function makeWorld(env: TestEnv, opts: { categoryA?: string } = {}): Promise<World> {
  const { ctx } = env;
  const cats = await makeCategories(ctx);
  await ctx.settings.updateAssociation(ACTOR, { ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', contactEmail: BOARD_EMAIL, city: 'Goslar', street: 'Markt 1', postcode: '38640' });
  const org = async (legalName: string, categoryId: number, contacts: NewContact[], vatId: string) => {
    const { organisationId } = await env.db.transaction((trx) => ctx.members.createOrganisation(trx, ACTOR, {
      legalName, legalForm: 'GmbH', street: 'Am Rammelsberg 12', postcode: '38640', city: 'Goslar', country: 'DE', website: 'https://example.org',
      registerEntry: 'Amtsgericht Braunschweig HRB 1', vatId, fieldOfActivity: 'Spezialchemie', employeeBand: '50-249', categoryId, joinDate: '2015-03-01',
    }, contacts, { invite: true, welcome: false }));
    return organisationId;
  };
  const orgA = await org('Harzer Spezialchemie GmbH', cats[opts.categoryA ?? 'company'], [
    contact('Anna Adler', 'anna@harzer.example', { isRepresentative: true, position: 'Geschäftsführerin', phone: '05321 1234' }),
    contact('Bernd Buch', 'bernd@harzer.example', { isBilling: true, locale: 'en', position: 'Accounting' }),
  ], 'DE626018158');
  const orgB = await org('Okertal Polymere AG', cats.company, [
    contact('Carla Carstens', 'carla@okertal.example', { isRepresentative: true }),
    contact('Dieter Dorn', 'dieter@okertal.example', { isBilling: true }),
  ], '');
  for (const u of await env.db('users').whereIn('email', ['anna@harzer.example', 'bernd@harzer.example', 'carla@okertal.example', 'dieter@okertal.example'])) {
    await ctx.users.setPassword(ACTOR, Number(u.id), PASSWORD);
  }
  await makeUser(ctx, 'board@test.example', ['board'], 'Berta Vorstand');
  const ids = async (orgId: number) => (await ctx.members.contacts(orgId)).map((x) => x.id);
  const [anna, bernd] = await ids(orgA);
  const [carla, dieter] = await ids(orgB);
  return { cats, orgA, orgB, c: { anna, bernd, carla, dieter } };
}

export async function loginAs(env: TestEnv, email: string): Promise<Browser> {
  const b = new Browser(env.app);
  await b.login(email, PASSWORD);
  return b;
}

/** Posts a form with the CSRF token of the page at `from` (default /portal). */
export async function post(b: Browser, action: string, data: Record<string, unknown>, from = '/portal') {
  return b.submit(from, data, action);
}

/** The page's text without tags (for checks of what a reader sees). */
export function visible(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/[ \t\r\n]+/g, ' ');
}
