import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { listRoutes } from '../helpers/routes.ts';
import { ACTOR, loginAs, makeWorld, visible, type World } from './portal.fixtures.ts';

/**
 * Isolation: a contact of organisation A tries every portal route with organisation B's ids
 * (contacts, change requests, invoices, assemblies, attachments). Each answer is a 404 (or 403)
 * and nothing of B changes; pages without ids never show B's data. A route under /portal that
 * this table does not cover fails the test, so every new route gets checked.
 */
describe('member portal: a member contact never sees or changes another organisation', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let w: World;
  let anna: Browser;
  let carla: Browser;
  let invoiceB: { id: number; number: string };
  let assemblyB: number;
  let attachmentB: number;
  let requestB: number;
  let mandateB: number; // h/sepa

  before(async () => {
    env = await createTestEnv();
    // A is a supporting member (no vote): only B is invited to the assembly
    w = await makeWorld(env, { categoryA: 'supporting' });
    await env.ctx.dues.freezeFeeSchedule(ACTOR, 2026);
    // h/money: no invoice without the association's tax number
    await env.ctx.settings.updateAssociation(ACTOR, { ...(await env.ctx.settings.association()), taxNumber: '21/270/12345' });
    const issued = await env.ctx.dues.issueDuesInvoice(ACTOR, w.orgB, 2026);
    if (!issued.issued) throw new Error('no invoice for B');
    invoiceB = { id: issued.invoiceId, number: issued.number };
    // the bylaws let only voting members attend, so the supporting member A is not invited
    await env.ctx.settings.updateRules(ACTOR, { ...(await env.ctx.settings.rules()), attendanceRight: 'voting_members' });
    assemblyB = await env.ctx.assemblies.assembly.create(ACTOR, {
      title: 'Mitgliederversammlung Okertal-Test', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 120, format: 'in_person',
      location: 'Goslar, Kaiserpfalz', participationInfo: '', copyAllContacts: false,
    });
    await env.ctx.assemblies.assembly.addAgendaItem(ACTOR, assemblyB, { title: 'Bericht des Vorstands', kind: 'report', description: '', proposedText: '' });
    await env.ctx.assemblies.sending.startSending(ACTOR, assemblyB);
    await env.ctx.assemblies.jobs.idle(assemblyB);
    [attachmentB] = await env.db('assembly_attachments').insert({
      assembly_id: assemblyB, filename: 'bericht.pdf', content_type: 'application/pdf', size: 4, content: Buffer.from('%PDF'), created_at: '2026-11-25T09:00:00.000Z',
    }).returning('id').then((r) => r.map((x: any) => Number(typeof x === 'object' ? x.id : x)));
    const carlaUser = (await env.ctx.users.byEmail('carla@okertal.example'))!;
    const o = (await env.ctx.members.get(w.orgB))!;
    requestB = (await env.ctx.portal.requestChange({ userId: carlaUser.id, label: 'Carla Carstens' }, w.orgB, {
      legalName: o.legalName, legalForm: o.legalForm, street: o.street, postcode: o.postcode, city: 'Bad Harzburg', country: o.country, website: o.website,
      registerEntry: o.registerEntry, vatId: o.vatId, fieldOfActivity: o.fieldOfActivity, employeeBand: o.employeeBand,
    })).id!;
    anna = await loginAs(env, 'anna@harzer.example');
    carla = await loginAs(env, 'carla@okertal.example');
    // h/sepa: B's SEPA mandate
    mandateB = await env.ctx.sepa.createMandate(ACTOR, w.orgB, 'paper', { scheme: 'B2B', iban: 'DE89370400440532013000', bic: '', holder: 'Okertal Polymere AG', signedOn: '2026-11-01' });
  });
  after(async () => env.close());

  /** Everything of B that a portal route could change. */
  async function snapshotB() {
    const db = env.db;
    return JSON.stringify({
      org: await db('organisations').where({ id: w.orgB }).first(),
      contacts: await db('contacts').where({ organisation_id: w.orgB }).orderBy('id'),
      requests: await db('organisation_change_requests').where({ organisation_id: w.orgB }).orderBy('id'),
      invoices: await db('invoices').where({ organisation_id: w.orgB }).orderBy('id'),
      rsvps: await db('assembly_rsvps').orderBy('id'),
      proxies: await db('assembly_proxies').orderBy('id'),
      motions: await db('assembly_motions').orderBy('id'),
      users: await db('users').whereIn('email', ['carla@okertal.example', 'dieter@okertal.example']).orderBy('id').select('id', 'email', 'locale', 'display_name'),
      roles: await db('user_roles').orderBy(['user_id', 'role']),
      mandates: await db('sepa_mandates').where({ organisation_id: w.orgB }).orderBy('id'), // h/sepa
    });
  }

  const B_TEXTS = () => ['Okertal Polymere AG', 'carla@okertal.example', 'Carla Carstens', 'dieter@okertal.example', 'Bad Harzburg', invoiceB.number, 'Mitgliederversammlung Okertal-Test'];

  it('the ids used below are real: B\'s own contact reaches each of them', async () => {
    expect((await carla.get(`/portal/contacts/${w.c.dieter}/edit`)).status).to.equal(200);
    expect((await carla.get(`/portal/requests/${requestB}`)).status).to.equal(200);
    const pdf = await carla.get(`/portal/invoices/${invoiceB.id}.pdf`);
    expect(pdf.status).to.equal(200);
    expect(pdf.headers['content-type']).to.contain('application/pdf');
    expect((await carla.get(`/portal/assemblies/${assemblyB}`)).status).to.equal(200);
    expect((await carla.get(`/portal/assemblies/${assemblyB}/attachments/${attachmentB}`)).status).to.equal(200);
    expect(visible((await carla.get('/portal/invoices')).text)).to.contain(invoiceB.number);
  });

  it('every portal route, tried by A with B\'s ids: 404 or 403, nothing of B changed, B\'s data never shown', async () => {
    const token = async () => Browser.csrfFrom((await anna.get('/portal')).text);
    const get = (url: string) => anna.agent.get(url);
    const postForm = async (url: string, data: Record<string, string> = {}) => anna.agent.post(url).type('form').send({ ...data, _csrf: await token() });

    type Check = { kind: 'denied' } | { kind: 'own'; status: number[] };
    const denied: Check = { kind: 'denied' };
    const own = (...status: number[]): Check => ({ kind: 'own', status });
    const orgA = (await env.ctx.members.get(w.orgA))!;
    const orgForm = {
      legalName: 'Harzer Spezialchemie KG', legalForm: orgA.legalForm, street: orgA.street, postcode: orgA.postcode, city: orgA.city, country: 'DE', website: '',
      registerEntry: '', vatId: '', fieldOfActivity: '', employeeBand: '', organisationId: String(w.orgB), organisation_id: String(w.orgB),
    };
    const contactForm = { name: 'Eingeschleust', email: 'x@harzer.example', phone: '', position: '', locale: 'de', version: '1', organisationId: String(w.orgB) };

    const table: Record<string, { run: () => Promise<{ status: number; text: string }>; expect: Check }> = {
      'GET /portal': { run: () => get('/portal'), expect: own(200) },
      'GET /portal/organisation': { run: () => get('/portal/organisation'), expect: own(200) },
      'POST /portal/organisation': { run: () => postForm('/portal/organisation', orgForm), expect: own(303) },
      'GET /portal/requests/:id': { run: () => get(`/portal/requests/${requestB}`), expect: denied },
      'POST /portal/requests/:id/withdraw': { run: () => postForm(`/portal/requests/${requestB}/withdraw`), expect: denied },
      'GET /portal/contacts/new': { run: () => get('/portal/contacts/new'), expect: own(200) },
      'POST /portal/contacts/new': { run: () => postForm('/portal/contacts/new', { ...contactForm, version: '0' }), expect: own(303) },
      'GET /portal/contacts/:cid/edit': { run: () => get(`/portal/contacts/${w.c.carla}/edit`), expect: denied },
      'POST /portal/contacts/:cid/edit': { run: () => postForm(`/portal/contacts/${w.c.dieter}/edit`, contactForm), expect: denied },
      'POST /portal/contacts/:cid/representative': { run: () => postForm(`/portal/contacts/${w.c.dieter}/representative`, { version: '1' }), expect: denied },
      'POST /portal/contacts/:cid/delete': { run: () => postForm(`/portal/contacts/${w.c.dieter}/delete`), expect: denied },
      'GET /portal/documents': { run: () => get('/portal/documents'), expect: own(200) },
      'GET /portal/account': { run: () => get('/portal/account'), expect: own(200) },
      'POST /portal/account': { run: () => postForm('/portal/account', { locale: 'en', contactId: String(w.c.carla), organisationId: String(w.orgB) }), expect: own(303) },
      'GET /portal/invoices': { run: () => get('/portal/invoices'), expect: own(200) },
      'GET /portal/invoices/:file': { run: () => get(`/portal/invoices/${invoiceB.id}.pdf`), expect: denied },
      'GET /portal/assemblies': { run: () => get('/portal/assemblies'), expect: own(200) },
      'GET /portal/assemblies/:id': { run: () => get(`/portal/assemblies/${assemblyB}`), expect: denied },
      'POST /portal/assemblies/:id/rsvp': { run: () => postForm(`/portal/assemblies/${assemblyB}/rsvp`, { attending: 'yes', peopleCount: '2', names: 'Eingeschleust' }), expect: denied },
      'POST /portal/assemblies/:id/proxy': { run: () => postForm(`/portal/assemblies/${assemblyB}/proxy`, { holderOrganisationId: String(w.orgA) }), expect: denied },
      'POST /portal/assemblies/:id/proxy/withdraw': { run: () => postForm(`/portal/assemblies/${assemblyB}/proxy/withdraw`), expect: denied },
      'POST /portal/assemblies/:id/motions': { run: () => postForm(`/portal/assemblies/${assemblyB}/motions`, { title: 'Eingeschleust', body: 'Eingeschleust', submittedBy: 'A' }), expect: denied },
      'GET /portal/assemblies/:id/attachments/:attId': { run: () => get(`/portal/assemblies/${assemblyB}/attachments/${attachmentB}`), expect: denied },
      // h/demand: open demands are shown to every member (they are there to be supported); the organisation acting is always the signed-in contact's
      'GET /portal/demands': { run: () => get('/portal/demands'), expect: own(200) },
      'GET /portal/demands/new': { run: () => get('/portal/demands/new'), expect: own(200) },
      'POST /portal/demands/new': { run: () => postForm('/portal/demands/new', { purpose: 'Eingeschleust', reasons: 'Gründe', organisationId: String(w.orgB) }), expect: own(303) },
      'POST /portal/demands/:id/support': { run: () => postForm('/portal/demands/1/support', { organisationId: String(w.orgB) }), expect: own(303) },
      'POST /portal/demands/:id/withdraw': { run: () => postForm('/portal/demands/1/withdraw', { organisationId: String(w.orgB) }), expect: own(303) },
      // h/sepa: the mandates are always the signed-in contact's organisation's
      'GET /portal/sepa': { run: () => get('/portal/sepa'), expect: own(200) },
      'POST /portal/sepa': { run: () => postForm('/portal/sepa', { scheme: 'CORE', holder: 'Harzer Spezialchemie GmbH', iban: 'DE02120300000000202051', bic: '', consent: '1', organisationId: String(w.orgB) }), expect: own(303) },
      'POST /portal/sepa/:id/revoke': { run: () => postForm(`/portal/sepa/${mandateB}/revoke`), expect: denied },
      // the lead: this turn's portal pages; the organisation always from the signed-in contact, ids of others refused
      'GET /portal/assemblies/:id/ballots/:ballotId': { run: () => get('/portal/assemblies/99999/ballots/99999'), expect: denied },
      'POST /portal/assemblies/:id/ballots/:ballotId': { run: () => postForm('/portal/assemblies/99999/ballots/99999', { choice: 'yes', organisationId: String(w.orgB) }), expect: denied },
      'GET /portal/einvoice': { run: () => get('/portal/einvoice'), expect: own(200) },
      'POST /portal/einvoice': { run: () => postForm('/portal/einvoice', { format: 'hybrid', publicBody: '', leitwegId: '', organisationId: String(w.orgB) }), expect: own(303, 422) },
      'GET /portal/directory': { run: () => get('/portal/directory'), expect: own(200) },
      'GET /portal/directory/logo.png': { run: () => get('/portal/directory/logo.png'), expect: own(404) },
      'POST /portal/directory': { run: () => postForm('/portal/directory', { descriptionDe: 'Eingeschleust', town: 'Goslar', fields: 'chemie', action: 'save', version: '0', organisationId: String(w.orgB) }), expect: own(303, 422) },
      'POST /portal/directory/withdraw': { run: () => postForm('/portal/directory/withdraw', { organisationId: String(w.orgB) }), expect: own(303) },
      'GET /portal/groups': { run: () => get('/portal/groups'), expect: own(200) },
      'GET /portal/groups/:id': { run: () => get('/portal/groups/99999'), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/join': { run: () => postForm('/portal/groups/99999/join', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/leave': { run: () => postForm('/portal/groups/99999/leave', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/request': { run: () => postForm('/portal/groups/99999/request', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/request/withdraw': { run: () => postForm('/portal/groups/99999/request/withdraw', { organisationId: String(w.orgB) }), expect: own(303) }, // no such group: a message, nothing changed
      'POST /portal/groups/:id/requests/:rid/accept': { run: () => postForm('/portal/groups/99999/requests/99999/accept', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/requests/:rid/decline': { run: () => postForm('/portal/groups/99999/requests/99999/decline', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/members/:contactId/remove': { run: () => postForm('/portal/groups/99999/members/99999/remove', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/members': { run: () => postForm('/portal/groups/99999/members', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/message': { run: () => postForm('/portal/groups/99999/message', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/documents': { run: () => postForm('/portal/groups/99999/documents', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'GET /portal/groups/:id/documents/:did': { run: () => get('/portal/groups/99999/documents/99999'), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/documents/:did/delete': { run: () => postForm('/portal/groups/99999/documents/99999/delete', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'GET /portal/groups/:id/meetings/new': { run: () => get('/portal/groups/99999/meetings/new'), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/meetings/new': { run: () => postForm('/portal/groups/99999/meetings/new', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'GET /portal/groups/:id/meetings/:mid/edit': { run: () => get('/portal/groups/99999/meetings/99999/edit'), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/meetings/:mid/edit': { run: () => postForm('/portal/groups/99999/meetings/99999/edit', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/meetings/:mid/cancel': { run: () => postForm('/portal/groups/99999/meetings/99999/cancel', { organisationId: String(w.orgB) }), expect: denied }, // no such group: nobody's
      'POST /portal/groups/:id/meetings/:mid/rsvp': { run: () => postForm('/portal/groups/99999/meetings/99999/rsvp', { organisationId: String(w.orgB) }), expect: own(303) }, // no such group: a message, nothing changed
      // h/gdpr: the Art. 15/20 download of a contact of another organisation is refused
      'POST /portal/data-export': { run: () => postForm('/portal/data-export', { contactId: String(w.c.carla) }), expect: denied },
    };

    const routes = listRoutes(env.app).filter((r) => r.path === '/portal' || r.path.startsWith('/portal/')).map((r) => `${r.method} ${r.path}`);
    expect(routes.filter((r) => !table[r]), 'portal routes without an isolation check').to.deep.equal([]);

    const problems: string[] = [];
    for (const [route, c] of Object.entries(table)) {
      const before = await snapshotB();
      const res = await c.run();
      const after = await snapshotB();
      if (after !== before) problems.push(`${route}: changed organisation B's data`);
      if (c.expect.kind === 'denied') {
        if (res.status !== 404 && res.status !== 403) problems.push(`${route}: ${res.status}, expected 404 or 403`);
      } else if (!c.expect.status.includes(res.status)) {
        problems.push(`${route}: ${res.status}, expected ${c.expect.status.join('/')}`);
      }
      const shown = res.status === 303 ? (await anna.get(String((res as unknown as { headers: Record<string, string> }).headers.location))).text : res.text;
      for (const s of B_TEXTS()) if (visible(shown ?? '').includes(s)) problems.push(`${route}: shows B's "${s}"`);
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);

    // what A did with its own routes stayed with A
    const added = await env.db('contacts').where({ name: 'Eingeschleust' });
    expect(added.map((x) => Number(x.organisation_id))).to.deep.equal([w.orgA]);
    const reqs = await env.db('organisation_change_requests').where({ requested_by_label: 'Anna Adler' });
    expect(reqs.map((x) => Number(x.organisation_id))).to.deep.equal([w.orgA]);
    expect((await env.ctx.members.contact(w.orgA, w.c.anna)).locale).to.equal('en');
    expect((await env.ctx.members.contact(w.orgB, w.c.carla)).locale).to.equal('de');
    expect(await env.db('mail_messages').where({ template: 'portal_representative_changed' })).to.have.length(0);
    const supports = await env.db('minority_demand_supports'); // h/demand: A's demand and support stayed A's
    expect(supports.map((x) => Number(x.organisation_id))).to.deep.equal([w.orgA]);
  });

  it('guessing ids in the other direction fails too: B cannot reach A\'s contacts or requests', async () => {
    const reqA = (await env.db('organisation_change_requests').where({ organisation_id: w.orgA }).first())!.id;
    expect((await carla.get(`/portal/contacts/${w.c.anna}/edit`)).status).to.equal(404);
    expect((await carla.get(`/portal/requests/${reqA}`)).status).to.equal(404);
    expect((await carla.get('/portal/contacts/abc/edit')).status).to.equal(404);
    expect((await carla.get('/portal/invoices/../1.pdf')).status).to.equal(404);
  });
});
