/**
 * The fields that describe an organisation, the same in an application and in the register,
 * and their mapping to and from the table columns (applications and organisations share them).
 */
export interface OrganisationFields {
  legalName: string;
  legalForm: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  website: string;
  registerEntry: string;
  vatId: string;
  fieldOfActivity: string;
  employeeBand: string;
}

export function organisationFieldsFromRow(r: Record<string, any>): OrganisationFields {
  return {
    legalName: r.legal_name,
    legalForm: r.legal_form,
    street: r.street,
    postcode: r.postcode,
    city: r.city,
    country: r.country,
    website: r.website,
    registerEntry: r.register_entry,
    vatId: r.vat_id,
    fieldOfActivity: r.field_of_activity,
    employeeBand: r.employee_band,
  };
}

export function organisationFieldsToRow(o: OrganisationFields): Record<string, string> {
  return {
    legal_name: o.legalName,
    legal_form: o.legalForm,
    street: o.street,
    postcode: o.postcode,
    city: o.city,
    country: o.country,
    website: o.website,
    register_entry: o.registerEntry,
    vat_id: o.vatId,
    field_of_activity: o.fieldOfActivity,
    employee_band: o.employeeBand,
  };
}
