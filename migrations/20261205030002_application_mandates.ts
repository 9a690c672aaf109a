import type { Knex } from 'knex';

/**
 * The SEPA mandate an applicant may grant on the application form (h/bank2): scheme, IBAN and
 * account holder, and when the consent to the mandate text was given; null: none. On approval
 * the mandate is created for the new member (source 'application', signed on the application's
 * date). Personal data: deleted with a rejected or withdrawn application (retention).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('applications', (t) => {
    t.string('sepa_scheme', 4).nullable();
    t.string('sepa_iban', 34).nullable();
    t.string('sepa_holder', 70).nullable();
    t.string('sepa_consent_at', 40).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('applications', (t) => {
    t.dropColumn('sepa_scheme');
    t.dropColumn('sepa_iban');
    t.dropColumn('sepa_holder');
    t.dropColumn('sepa_consent_at');
  });
}
