import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { listRoutes, type RouteInfo } from '../helpers/routes.ts';
import type { Role } from '../../server/auth/roles.ts';

type Principal = 'anonymous' | Role;
const PRINCIPALS: Principal[] = ['anonymous', 'admin', 'board', 'treasurer', 'member'];

/**
 * Who may use a route. Public pages are open to all; '*' means any signed-in user.
 * A new route that is not covered here fails the test, so every route gets a decision.
 */
function allowed(route: RouteInfo): Principal[] | 'public' | '*' {
  const p = route.path;
  const read = route.method === 'GET';
  if (p === '/' || p === '/healthz' || p === '/privacy' || p.startsWith('/documents')) return 'public';
  if (p === '/login' || p === '/logout' || p.startsWith('/password') || p.startsWith('/welcome') || p.startsWith('/apply')) return 'public';
  if (p.startsWith('/webhooks')) return 'public';
  if (p.startsWith('/account')) return '*';
  if (p.startsWith('/admin')) return ['admin'];
  if (p.startsWith('/board/applications')) return ['board'];
  // the register's edit forms (organisation, category, status, contacts) are the board's only
  if (/^\/board\/members\/:id\/(edit|category|status|contacts|einvoice)/.test(p)) return ['board'];
  if (p.startsWith('/board/members') || p.startsWith('/board/exports') || p.startsWith('/board/member-data')) return read ? ['board', 'treasurer', 'admin'] : ['board'];
  if (p.startsWith('/board/import') || p.startsWith('/board/gdpr')) return ['board'];
  if (p.startsWith('/board/assemblies')) return ['board'];
  if (p.startsWith('/board/change-requests')) return ['board']; // members' organisation change requests
  if (p.startsWith('/board/demands')) return ['board']; // h/demand: the minority's demands for an assembly (§ 37 BGB)
  if (p.startsWith('/a/:token')) return 'public'; // personal assembly links from the invitation
  // h/written: resolutions without an assembly: the board's pages, the members' personal links
  if (p.startsWith('/board/written-resolutions')) return ['board'];
  if (p.startsWith('/w/:token')) return 'public';
  // h/lead2: the public directory and its open data; the board's review
  if (p === '/netzwerk' || p.startsWith('/netzwerk/') || p === '/netzwerk.json' || p === '/netzwerk.csv') return 'public';
  if (p.startsWith('/board/directory')) return ['board'];
  // h/sepa: the board (and the treasurer) enter paper mandates; the run and return forms are the treasurer's alone
  if (p.startsWith('/board/sepa')) return ['board', 'treasurer'];
  if (/^\/treasurer\/sepa\/(runs\/new|returns\/new)$/.test(p)) return ['treasurer'];
  // h/debit: taking a pending debit out of its collection is the treasurer's alone (also the form)
  if (/^\/treasurer\/sepa\/debits\/:id\/cancel$/.test(p)) return ['treasurer'];
  // h/groups: working groups: the board's pages (lead and members act in the portal), the members' personal RSVP links
  if (p.startsWith('/board/groups')) return ['board'];
  if (p.startsWith('/g/:token')) return 'public';
  if (p.startsWith('/portal')) return ['member']; // own organisation only (see portal*.test.ts for isolation)
  // the forms of the treasurer's corrections (a reversal, an overpayment) are the treasurer's alone, as are their posts
  if (/^\/treasurer\/(payments\/[^/]+\/reverse|invoices\/[^/]+\/overpayment)$/.test(p)) return ['treasurer'];
  // h/items: the form of an invoice with further items is the treasurer's alone (it takes a one-time key for issuing)
  if (/^\/treasurer\/organisations\/[^/]+\/invoice\/items$/.test(p)) return ['treasurer'];
  if (p === '/treasurer') return ['treasurer', 'admin', 'board'];
  if (p.startsWith('/treasurer')) return read ? ['treasurer', 'admin'] : ['treasurer'];
  throw new Error(`no access rule for ${route.method} ${p}: add one to the authorization test`);
}

describe('authorization: every route against every role and anonymous', function () {
  this.timeout(120_000);
  let env: TestEnv;
  const browsers = new Map<Principal, Browser>();
  const tokens = new Map<Principal, string>();

  before(async () => {
    env = await createTestEnv();
    const cats = await makeCategories(env.ctx);
    await env.db.transaction(async (trx) => {
      const { organisationId } = await env.ctx.members.createOrganisation(trx, { userId: null, label: 'test' }, {
        legalName: 'Harzer Spezialchemie GmbH', legalForm: 'GmbH', street: 'Am Rammelsberg 12', postcode: '38640', city: 'Goslar', country: 'DE',
        website: '', registerEntry: '', vatId: 'DE626018158', fieldOfActivity: 'Spezialchemie', employeeBand: '250+', categoryId: cats.company, joinDate: '2015-03-01',
      }, [], { invite: false, welcome: false });
      const memberId = await env.ctx.users.create({ userId: null, label: 'test' }, { email: 'member@test.example', displayName: 'Member', roles: ['member'], password: PASSWORD }, trx);
      await trx('contacts').insert({ organisation_id: organisationId, name: 'Member', email: 'member@test.example', is_representative: true, user_id: memberId, created_at: 'x', updated_at: 'x' });
    });
    for (const role of ['admin', 'board', 'treasurer'] as Role[]) await makeUser(env.ctx, `${role}@test.example`, [role]);
    for (const p of PRINCIPALS) {
      const b = new Browser(env.app);
      if (p !== 'anonymous') await b.login(`${p}@test.example`, PASSWORD);
      browsers.set(p, b);
      tokens.set(p, Browser.csrfFrom((await b.get(p === 'anonymous' ? '/login' : '/')).text));
    }
  });
  after(async () => env.close());

  it('guards each route: 403 for signed-in users without the role, sign-in for anonymous, never a 500', async () => {
    const routes = listRoutes(env.app).filter((r) => !(r.method === 'POST' && r.path === '/logout'));
    expect(routes.length).to.be.greaterThan(10);
    const problems: string[] = [];
    for (const route of routes) {
      const rule = allowed(route);
      const url = route.path.replace(/:[A-Za-z]+/g, (m) => (m === ':token' ? 'x'.repeat(43) : '1'));
      for (const p of PRINCIPALS) {
        const b = browsers.get(p)!;
        const res = route.method === 'GET'
          ? await b.agent.get(url)
          : await b.agent[route.method.toLowerCase() as 'post'](url).type('form').send({ _csrf: tokens.get(p) });
        const may = rule === 'public' || (rule === '*' ? p !== 'anonymous' : rule.includes(p as Role));
        const toLogin = res.status === 303 && res.headers.location === '/login';
        if (res.status >= 500) problems.push(`${route.method} ${url} as ${p}: ${res.status}`);
        else if (may && (res.status === 403 || (p !== 'anonymous' && toLogin))) problems.push(`${route.method} ${url} as ${p}: refused (${res.status}) but should be allowed`);
        else if (!may && p === 'anonymous' && !toLogin) problems.push(`${route.method} ${url} as anonymous: ${res.status}, expected a redirect to /login`);
        else if (!may && p !== 'anonymous' && res.status !== 403) problems.push(`${route.method} ${url} as ${p}: ${res.status}, expected 403`);
      }
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });
});
