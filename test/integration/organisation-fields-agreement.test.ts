import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories } from '../helpers/fixtures.ts';
import { tFor } from '../../server/i18n/i18n.ts';
import { parseForm } from '../../server/web/forms.ts';
import { APPLICATION_FIELDS, parseApplication, pickStrings } from '../../server/applications/applications.schemas.ts';
import { organisationEditSchema, postcodeError } from '../../server/members/members.schemas.ts';
import { changeRequestSchema } from '../../server/portal/portal.schemas.ts';
import type { ImportField } from '../../server/members/import.service.ts';

/**
 * Issue 9, item 4: the application form, the register's edit form, the portal's change request
 * and the CSV import check an organisation's fields with one set of rules
 * (server/members/organisation-fields.ts), so the same value gets the same verdict everywhere.
 * Each path is called the way its route calls it (schema, then the postcode by country).
 */
type Field = 'legalName' | 'legalForm' | 'street' | 'postcode' | 'city' | 'country' | 'vatId';
type Values = Record<Field, string>;

const good: Values = { legalName: 'Harzer Recycling GmbH', legalForm: 'GmbH', street: 'Hüttenstraße 4', postcode: '38642', city: 'Goslar', country: 'DE', vatId: 'DE626018158' };
const snake: Record<Field, string> = { legalName: 'legal_name', legalForm: 'legal_form', street: 'street', postcode: 'postcode', city: 'city', country: 'country', vatId: 'vat_id' };
const t = tFor('de');

function application(v: Values): Field[] {
  const raw = pickStrings({
    ...Object.fromEntries(Object.entries(v).map(([k, x]) => [snake[k as Field], x])), // why: keys of Values are Fields
    website: '', register_entry: '', field_of_activity: 'Recycling', employee_band: '1-49', category_id: '1', contribution: 'Know-how',
    rep_name: 'Jörg Büttner', rep_position: 'GF', rep_email: 'j@example.de', rep_phone: '+49 5321 55 66 0',
    consent_bylaws: 'yes', consent_privacy: 'yes', submission_key: 'k'.repeat(32),
  }, APPLICATION_FIELDS);
  const r = parseApplication(raw, t, [1]);
  return r.ok ? [] : (Object.keys(good) as Field[]).filter((f) => r.errors[snake[f]]); // why: the keys of good are Fields
}

/** The edit form and the portal: the route parses the schema and checks the postcode by country. */
function form(schema: typeof organisationEditSchema | typeof changeRequestSchema, v: Values): Field[] {
  const body = { ...v, website: '', registerEntry: '', fieldOfActivity: '', employeeBand: '', notes: '', version: '1' };
  const parsed = parseForm(schema, body, t);
  const bad = new Set<string>(parsed.ok ? [] : Object.keys(parsed.errors));
  if (postcodeError(body.postcode, body.country)) bad.add('postcode');
  return (Object.keys(good) as Field[]).filter((f) => bad.has(f)); // why: the keys of good are Fields
}

describe('organisation fields: the same verdict in the application, the register, the portal and the import', () => {
  let env: TestEnv;
  before(async () => {
    env = await createTestEnv();
    await makeCategories(env.ctx);
  });
  after(async () => env.close());

  async function imported(v: Values): Promise<Field[]> {
    const record: Partial<Record<ImportField, string>> = { ...v, category: 'Unternehmen', joinDate: '01.02.2024', repName: 'Jörg Büttner' };
    const { rows: [row] } = await env.ctx.memberImport.analyse(env.db, [record]);
    return (Object.keys(good) as Field[]).filter((f) => row.errors.some((e) => e.field === f)); // why: the keys of good are Fields
  }

  async function verdicts(change: Partial<Values>): Promise<Record<string, Field[]>> {
    const v = { ...good, ...change };
    return {
      application: application(v),
      register: form(organisationEditSchema, v),
      portal: form(changeRequestSchema, v),
      import: await imported(v),
    };
  }

  const cases: { change: Partial<Values>; refused: Field[]; why: string }[] = [
    { change: {}, refused: [], why: 'a valid organisation' },
    { change: { country: 'AT', postcode: '-AB' }, refused: ['postcode'], why: 'a postcode starting with a hyphen' },
    { change: { country: 'AT', postcode: 'AB-' }, refused: ['postcode'], why: 'a postcode ending with a hyphen' },
    { change: { country: 'AT', postcode: 'X' }, refused: ['postcode'], why: 'a one-character postcode' },
    { change: { country: 'AT', postcode: 'ABCDE-12345' }, refused: ['postcode'], why: 'a postcode of 11 characters' },
    { change: { country: 'NL', postcode: '1012 AB' }, refused: [], why: 'a Dutch postcode' },
    { change: { country: 'GB', postcode: 'sw1a 1aa' }, refused: [], why: 'a British postcode in lower case' },
    { change: { country: 'PL', postcode: '90-001' }, refused: [], why: 'a Polish postcode' },
    { change: { postcode: '3864' }, refused: ['postcode'], why: 'a German postcode of four digits' },
    { change: { postcode: '38 640' }, refused: ['postcode'], why: 'a German postcode with a space' },
    { change: { vatId: 'DE626018157' }, refused: ['vatId'], why: 'a German VAT ID with a wrong check digit' },
    { change: { vatId: 'de 626.018-158' }, refused: [], why: 'a German VAT ID with spaces, dots and hyphens' },
    { change: { vatId: 'DE12345' }, refused: ['vatId'], why: 'a German VAT ID too short' },
    { change: { vatId: 'XX123' }, refused: ['vatId'], why: 'an unknown VAT prefix' },
    { change: { vatId: 'US12345678' }, refused: ['vatId'], why: 'a prefix that is no VAT ID' },
    { change: { vatId: 'ATU12345678' }, refused: [], why: 'an Austrian VAT ID' },
    { change: { vatId: 'CHE123456789MWST' }, refused: [], why: 'a Swiss UID' },
    { change: { country: 'XX' }, refused: ['country'], why: 'an unknown country code' },
    { change: { country: 'NO', postcode: '0150' }, refused: [], why: 'a country outside the register\'s usual list (Norway)' },
    { change: { legalName: 'x'.repeat(201) }, refused: ['legalName'], why: 'a name of 201 characters' },
    { change: { legalName: 'x'.repeat(200) }, refused: [], why: 'a name of 200 characters' },
    { change: { legalName: '   ' }, refused: ['legalName'], why: 'a blank name' },
    { change: { city: 'x'.repeat(101) }, refused: ['city'], why: 'a town of 101 characters' },
    { change: { street: 'x'.repeat(201) }, refused: ['street'], why: 'a street of 201 characters' },
    { change: { legalForm: 'x'.repeat(61) }, refused: ['legalForm'], why: 'a legal form of 61 characters' },
  ];
  for (const c of cases) {
    it(`${c.refused.length ? 'refuses' : 'accepts'} ${c.why} everywhere`, async () => {
      const v = await verdicts(c.change);
      expect(v).to.deep.equal({ application: c.refused, register: c.refused, portal: c.refused, import: c.refused });
    });
  }

  it('stores the same normalised values everywhere (postcode upper case, VAT ID without separators)', async () => {
    const v = { ...good, country: 'GB', postcode: 'sw1a 1aa', vatId: 'at u12345678' };
    const app = parseApplication(pickStrings({
      legal_name: v.legalName, legal_form: v.legalForm, street: v.street, postcode: v.postcode, city: v.city, country: v.country, vat_id: v.vatId,
      website: '', register_entry: '', field_of_activity: 'R', employee_band: '1-49', category_id: '1', contribution: 'K',
      rep_name: 'J', rep_position: 'GF', rep_email: 'j@example.de', rep_phone: '+49 5321 55 66 0', consent_bylaws: 'yes', consent_privacy: 'yes', submission_key: 'k'.repeat(32),
    }, APPLICATION_FIELDS), t, [1]);
    const edit = organisationEditSchema.parse({ ...v, version: '1' });
    const portal = changeRequestSchema.parse(v);
    const { rows: [row] } = await env.ctx.memberImport.analyse(env.db, [{ ...v, category: 'Unternehmen', joinDate: '01.02.2024' }]);
    expect(app.ok && app.data.organisation).to.include({ postcode: 'SW1A 1AA', vatId: 'ATU12345678' });
    expect(edit).to.include({ postcode: 'SW1A 1AA', vatId: 'ATU12345678' });
    expect(portal).to.include({ postcode: 'SW1A 1AA', vatId: 'ATU12345678' });
    expect(row.values).to.include({ postcode: 'SW1A 1AA', vatId: 'ATU12345678' });
  });
});
