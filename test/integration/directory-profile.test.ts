import { expect } from 'chai';
import { createTestEnv, MemoryTransport, type TestEnv } from '../helpers/context.ts';
import type { Browser } from '../helpers/http.ts';
import { ACTOR, loginAs, makeWorld, post, visible, type World } from './portal.fixtures.ts';

/**
 * The member directory, first part (issue 16 item 2): a member organisation's contacts edit its
 * profile in the portal, submit it for the board's approval and withdraw it at once; bad input
 * (markup, texts over the limit, fields not on the list) is refused next to the field, keeping
 * what was typed, and nothing is stored.
 */
describe('directory: the profile in the portal', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let w: World;
  let anna: Browser;
  let bernd: Browser;
  let board: Browser;

  const PROFILE = {
    descriptionDe: 'Spezialchemikalien aus Goslar seit 1952.', descriptionEn: 'Speciality chemicals from Goslar since 1952.',
    fields: ['chemistry', 'research'], town: 'Goslar', website: 'https://harzer-spezialchemie.example', version: '0', action: 'save',
  };
  const stored = async () => env.db('member_profiles').where({ organisation_id: w.orgA }).first();

  before(async () => {
    env = await createTestEnv({ transport: new MemoryTransport() });
    w = await makeWorld(env);
    anna = await loginAs(env, 'anna@harzer.example');
    bernd = await loginAs(env, 'bernd@harzer.example');
    board = await loginAs(env, 'board@test.example');
  });
  after(async () => env.close());

  it('refuses markup, a text over the limit and a field not on the list, next to each field, storing nothing', async () => {
    const res = await post(anna, '/portal/profile', {
      ...PROFILE, cooperationContactId: String(w.c.anna), descriptionDe: 'Wir <script>alert(1)</script> sind toll', descriptionEn: 'x'.repeat(801), fields: ['chemistry', 'astrology'],
    }, '/portal/profile');
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-descriptionDe" class="field-error">Bitte ohne HTML, Markup oder Skripte/);
    expect(res.text).to.match(/id="e-descriptionEn" class="field-error">/);
    expect(res.text).to.match(/id="e-fields" class="field-error">Bitte mindestens ein Tätigkeitsfeld aus der Liste wählen/);
    expect(res.text).to.contain('Wir &lt;script&gt;alert(1)&lt;/script&gt; sind toll</textarea>'); // kept, escaped
    expect(await stored()).to.equal(undefined);
  });

  it('refuses a cooperation contact of another organisation', async () => {
    const res = await post(anna, '/portal/profile', { ...PROFILE, cooperationContactId: String(w.c.carla) }, '/portal/profile');
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-cooperationContactId" class="field-error">Bitte eine Kontaktperson Ihrer Organisation/);
    expect(await stored()).to.equal(undefined);
  });

  it('saves a draft (not published), then submits it for approval (audited)', async () => {
    let res = await post(anna, '/portal/profile', { ...PROFILE, cooperationContactId: String(w.c.bernd) }, '/portal/profile');
    expect(res.status).to.equal(303);
    let row = (await stored())!;
    expect(row.status).to.equal('draft');
    expect(JSON.parse(row.fields)).to.deep.equal(['chemistry', 'research']);
    expect(row.cooperation_contact_id).to.equal(w.c.bernd);
    const page = visible((await anna.get('/portal/profile')).text);
    expect(page).to.contain('Entwurf (nicht veröffentlicht)');
    res = await post(anna, '/portal/profile', { ...PROFILE, cooperationContactId: String(w.c.bernd), version: String(row.version), action: 'submit' }, '/portal/profile');
    expect(res.status).to.equal(303);
    row = (await stored())!;
    expect(row.status).to.equal('pending');
    expect(visible((await bernd.get('/portal/profile?lang=en')).text)).to.contain('awaiting the board');
    await bernd.get('/portal/profile?lang=de');
    expect((await env.db('audit_log').where({ action: 'directory.profile_submitted', entity_id: w.orgA })).length).to.equal(1);
  });

  it('refuses a save from a stale page', async () => {
    const res = await post(anna, '/portal/profile', { ...PROFILE, cooperationContactId: String(w.c.bernd), version: '1' }, '/portal/profile');
    expect(res.status).to.equal(422);
    expect(visible(res.text)).to.contain('Inzwischen hat jemand anderes das Profil geändert');
    expect((await stored())!.status).to.equal('pending');
  });

  it('withdraws at once, whatever the page showed', async () => {
    const res = await post(bernd, '/portal/profile/withdraw', {}, '/portal/profile');
    expect(res.status).to.equal(303);
    expect((await stored())!.status).to.equal('withdrawn');
    expect(visible((await bernd.get('/portal/profile')).text)).to.contain('zurückgezogen (nicht veröffentlicht)');
    expect((await env.db('audit_log').where({ action: 'directory.profile_withdrawn' })).length).to.equal(1);
  });

  it('each organisation edits only its own profile; the board has no portal page', async () => {
    const carla = await loginAs(env, 'carla@okertal.example');
    expect(visible((await carla.get('/portal/profile')).text)).to.contain('noch kein Profil');
    expect((await board.get('/portal/profile')).status).to.equal(403);
  });

  it('a former member cannot submit a profile', async () => {
    const org = (await env.ctx.members.get(w.orgB))!;
    await env.ctx.members.dissolve(ACTOR, w.orgB, { effectiveDate: '2026-11-20', note: 'test', version: org.version });
    const carla = await loginAs(env, 'carla@okertal.example');
    const res = await post(carla, '/portal/profile', { ...PROFILE, cooperationContactId: String(w.c.carla) }, '/portal/profile');
    expect(res.status).to.equal(422);
    expect(visible(res.text)).to.contain('Nur Mitgliedsorganisationen haben ein Profil im Verzeichnis.');
    expect(await env.db('member_profiles').where({ organisation_id: w.orgB }).first()).to.equal(undefined);
  });
});
