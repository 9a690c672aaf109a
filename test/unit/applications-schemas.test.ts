import { expect } from 'chai';
import { tFor } from '../../server/i18n/i18n.ts';
import { APPLICATION_FIELDS, parseApplication, pickStrings } from '../../server/applications/applications.schemas.ts';

const base: Record<string, string> = {
  legal_name: '  Müller & Söhne GmbH ', legal_form: 'GmbH', street: 'Hüttenstraße 4', postcode: '38642', city: 'Goslar', country: 'DE',
  website: 'mueller-soehne.example', register_entry: '', vat_id: '', field_of_activity: 'Recycling', employee_band: '1-49',
  category_id: '1', contribution: 'Know-how', rep_name: 'Jörg Büttner', rep_position: 'Geschäftsführer', rep_email: 'J.Buettner@Example.de',
  rep_phone: '+49 5321 55 66 0', consent_bylaws: 'yes', consent_privacy: 'yes', submission_key: 'k'.repeat(32),
};
const t = tFor('de');

describe('application form parsing', () => {
  it('builds the organisation and the contacts from a valid form', () => {
    const r = parseApplication(pickStrings({ ...base, billing_email: 'buchhaltung@example.de', other2_name: 'Ida Idee', other2_email: 'ida@example.de' }, APPLICATION_FIELDS), t, [1, 2]);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.data.organisation.legalName).to.equal('Müller & Söhne GmbH');
    expect(r.data.organisation.website).to.equal('https://mueller-soehne.example');
    expect(r.data.categoryId).to.equal(1);
    expect(r.data.consentEmailInvitations).to.equal(false);
    expect(r.data.submissionKey).to.equal('k'.repeat(32));
    expect(r.data.contacts.map((c) => [c.role, c.name, c.email])).to.deep.equal([
      ['representative', 'Jörg Büttner', 'j.buettner@example.de'],
      ['billing', '', 'buchhaltung@example.de'],
      ['other', 'Ida Idee', 'ida@example.de'],
    ]);
  });

  it('stores names in Unicode NFC, so the same name typed two ways is the same', () => {
    const decomposed = 'Mu\u0308ller GmbH';
    const r = parseApplication(pickStrings({ ...base, legal_name: decomposed }, APPLICATION_FIELDS), t, [1]);
    expect(r.ok && r.data.organisation.legalName).to.equal('Müller GmbH');
  });

  it('reads arrays and objects smuggled into fields as empty input, not as a crash', () => {
    const r = parseApplication(pickStrings({ ...base, legal_name: ['a', 'b'], rep_email: { x: 1 } }, APPLICATION_FIELDS), t, [1]);
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.errors.legal_name).to.equal('Bitte ausfüllen.');
    expect(r.errors.rep_email).to.equal('Bitte ausfüllen.');
  });

  it('refuses a category that is not offered and a website that is no address', () => {
    const r = parseApplication(pickStrings({ ...base, category_id: '9', website: 'not an address' }, APPLICATION_FIELDS), tFor('en'), [1]);
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.errors.category_id).to.equal('Please choose one of the options.');
    expect(r.errors.website).to.contain('valid web address');
  });
});
