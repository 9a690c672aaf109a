import type { TestEnv } from '../helpers/context.ts';
import type { NewContact, NewOrganisation } from '../../server/members/members.service.ts';

/** Test data for the member register tests, created through the service as approval does. */
const TEST = { userId: null, label: 'test' };

export function orgInput(categoryId: number, over: Partial<NewOrganisation> = {}): NewOrganisation {
  return {
    legalName: 'Beispiel GmbH', legalForm: 'GmbH', street: 'Hauptstraße 1', postcode: '38640', city: 'Goslar', country: 'DE',
    website: '', registerEntry: '', vatId: '', fieldOfActivity: 'Chemie', employeeBand: '1-49', categoryId, joinDate: '2020-01-15', ...over,
  };
}

export function contactInput(over: Partial<NewContact> = {}): NewContact {
  return { name: 'Erika Muster', email: '', phone: '', position: '', isRepresentative: true, isBilling: false, locale: 'de', consentEmailInvitations: true, ...over };
}

export async function addOrg(env: TestEnv, org: NewOrganisation, contacts: NewContact[] = []): Promise<number> {
  const { organisationId } = await env.db.transaction((trx) => env.ctx.members.createOrganisation(trx, TEST, org, contacts, { invite: false, welcome: false }));
  return organisationId;
}
