import { expect } from 'chai';
import { createTestEnv, MemoryTransport, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { ACCOUNT_FAILURES } from '../../server/auth/login-throttle.ts';

function fieldError(html: string, name: string): string | undefined {
  return html.match(new RegExp(`<small id="e-${name}" class="field-error">([^<]*)</small>`))?.[1];
}

describe('admin: users and roles', () => {
  let env: TestEnv;
  let admin: Browser;
  let adminId: number;
  before(async () => {
    env = await createTestEnv();
    adminId = await makeUser(env.ctx, 'admin@example.org', ['admin'], 'Ada Admin');
    await makeUser(env.ctx, 'vorstand@example.org', ['board'], 'Berta Vorstand');
    await makeUser(env.ctx, 'kasse@example.org', ['treasurer', 'board'], 'Theo Kasse');
    admin = new Browser(env.app);
    await admin.login('admin@example.org', PASSWORD);
  });
  after(async () => env.close());

  const sent = () => (env.transport as MemoryTransport).sent;

  it('lists users with search by name or e-mail and a role filter', async () => {
    const all = await admin.get('/admin/users');
    expect(all.status).to.equal(200);
    expect(all.text).to.contain('Berta Vorstand').and.to.contain('Theo Kasse').and.to.contain('Ada Admin');
    const byName = await admin.get('/admin/users?q=berta');
    expect(byName.text).to.contain('Berta Vorstand').and.not.to.contain('Theo Kasse');
    const byMail = await admin.get('/admin/users?q=kasse%40');
    expect(byMail.text).to.contain('Theo Kasse').and.not.to.contain('Berta Vorstand');
    const byRole = await admin.get('/admin/users?role=treasurer');
    expect(byRole.text).to.contain('Theo Kasse').and.not.to.contain('Berta Vorstand').and.not.to.contain('Ada Admin');
  });

  it('creates a user who gets an invitation, sets a password through /welcome and signs in', async () => {
    const res = await admin.submit('/admin/users/new', { email: ' Neu.Person@Example.org ', displayName: 'Nora Neu', roles: ['board', 'treasurer'], locale: 'en' });
    expect(res.status).to.equal(303);
    const user = (await env.ctx.users.byEmail('neu.person@example.org'))!;
    expect(user.roles).to.deep.equal(['board', 'treasurer']);
    expect(user.locale).to.equal('en');
    expect(user.hasPassword).to.equal(false);
    expect(res.headers.location).to.equal(`/admin/users/${user.id}`);

    const page = await admin.get(res.headers.location);
    expect(page.text).to.contain('Nora Neu ist angelegt; die Einladung an neu.person@example.org ist unterwegs.');
    expect(page.text).to.contain('eingeladen');

    const queued = await env.db('mail_messages').where({ to_address: 'neu.person@example.org' });
    expect(queued).to.have.length(1);
    expect(queued[0]).to.include({ template: 'set_password', status: 'queued', locale: 'en' });
    const [audit] = await env.ctx.audit.list({ action: 'user.invitation_sent', entityId: user.id });
    expect(audit.actorLabel).to.equal('Ada Admin');

    await env.ctx.outbox.flush();
    const mail = sent().find((m) => m.to === 'neu.person@example.org')!;
    expect(mail.subject).to.match(/access/i); // in the user's language
    const link = mail.text.match(/http:\/\/127\.0\.0\.1:3999(\/welcome\/[A-Za-z0-9_-]+)/)![1];

    const invited = new Browser(env.app);
    const form = await invited.get(link);
    expect(form.status).to.equal(200);
    expect(form.text).to.contain('neu.person@example.org');
    const set = await invited.submit(link, { password: 'a-new-long-password', confirm: 'a-new-long-password' });
    expect(set.status).to.equal(303);
    expect(set.headers.location).to.equal('/login');
    const login = await invited.login('neu.person@example.org', 'a-new-long-password');
    expect(login.headers.location).to.equal('/board/applications');
    // the link works once
    expect((await invited.get(link)).status).to.equal(410);
  });

  it('shows per-field errors and keeps the input when creating a user', async () => {
    const res = await admin.submit('/admin/users/new', { email: 'kaputt@', displayName: 'N', locale: 'de' });
    expect(res.status).to.equal(422);
    expect(fieldError(res.text, 'email')).to.contain('gültige E-Mail-Adresse');
    expect(fieldError(res.text, 'displayName')).to.equal('Mindestens 2 Zeichen.');
    expect(fieldError(res.text, 'roles')).to.equal('Bitte mindestens eine Rolle wählen.');
    expect(res.text).to.contain('value="kaputt@"');

    const kept = await admin.submit('/admin/users/new', { email: 'x@', displayName: 'Xaver', roles: ['treasurer'], locale: 'en' });
    expect(kept.text).to.match(/name="roles" value="treasurer" checked/);
    expect(kept.text).to.match(/name="roles" value="admin">/);
    expect(kept.text).to.match(/<option value="en" selected>/);

    const taken = await admin.submit('/admin/users/new', { email: 'VORSTAND@example.org', displayName: 'Doppelt', roles: ['board'], locale: 'de' });
    expect(taken.status).to.equal(409);
    expect(fieldError(taken.text, 'email')).to.equal('Zu dieser E-Mail-Adresse gibt es schon einen Benutzer.');
  });

  it('edits name, roles, language and disables a user, audited', async () => {
    const berta = (await env.ctx.users.byEmail('vorstand@example.org'))!;
    const res = await admin.submit(`/admin/users/${berta.id}`, { displayName: 'Berta Beispiel', roles: ['board', 'member'], locale: 'en', disabled: '1' });
    expect(res.status).to.equal(303);
    const after = (await env.ctx.users.byId(berta.id))!;
    expect(after).to.include({ displayName: 'Berta Beispiel', locale: 'en', disabled: true });
    expect(after.roles).to.deep.equal(['board', 'member']);
    const page = await admin.get(`/admin/users/${berta.id}`);
    expect(page.text).to.contain('Die Änderungen an Berta Beispiel sind gespeichert.');
    expect(page.text).to.contain('user.updated');
    expect(page.text).to.match(/name="disabled" value="1" aria-describedby="h-disabled" checked/);
    const audit = await admin.get('/admin/audit?entityType=user&action=user.updated');
    expect(audit.text).to.contain('<del>Berta Vorstand</del> → <ins>Berta Beispiel</ins>');
    expect(audit.text).to.contain('<del>board</del> → <ins>board, member</ins>');
    expect(audit.text).to.contain('<del>Nein</del> → <ins>Ja</ins>');
    // a disabled user cannot sign in
    const b = new Browser(env.app);
    const login = await b.submit('/login', { email: 'vorstand@example.org', password: PASSWORD });
    expect(login.status).to.equal(401);
    // and gets no new link
    const link = await admin.submit(`/admin/users/${berta.id}`, {}, `/admin/users/${berta.id}/access-link`);
    expect(link.status).to.equal(303);
    expect((await admin.get(`/admin/users/${berta.id}`)).text).to.contain('Dieser Zugang ist deaktiviert.');
    await admin.submit(`/admin/users/${berta.id}`, { displayName: 'Berta Beispiel', roles: ['board'], locale: 'de' });
    expect((await env.ctx.users.byId(berta.id))!.disabled).to.equal(false);
  });

  it('keeps the last admin: neither the admin role removed nor disabled, with a clear message', async () => {
    const res = await admin.submit(`/admin/users/${adminId}`, { displayName: 'Ada Admin', roles: ['board'], locale: 'de' });
    expect(res.status).to.equal(409);
    expect(res.text).to.contain('letzte aktive Administrator');
    expect(res.text).to.match(/name="roles" value="board" checked/); // input kept
    expect((await env.ctx.users.byId(adminId))!.roles).to.deep.equal(['admin']);

    const disable = await admin.submit(`/admin/users/${adminId}`, { displayName: 'Ada Admin', roles: ['admin'], locale: 'de', disabled: '1' });
    expect(disable.status).to.equal(409);
    expect((await env.ctx.users.byId(adminId))!.disabled).to.equal(false);

    // with a second admin, the first may step down
    const theo = (await env.ctx.users.byEmail('kasse@example.org'))!;
    await admin.submit(`/admin/users/${theo.id}`, { displayName: 'Theo Kasse', roles: ['admin', 'treasurer'], locale: 'de' });
    expect((await env.ctx.users.byId(theo.id))!.roles).to.deep.equal(['admin', 'treasurer']);
    const theoBrowser = new Browser(env.app);
    await theoBrowser.login('kasse@example.org', PASSWORD);
    const step = await theoBrowser.submit(`/admin/users/${theo.id}`, { displayName: 'Theo Kasse', roles: ['treasurer'], locale: 'de' });
    expect(step.status).to.equal(303);
    expect(step.headers.location).to.equal('/account');
    expect((await theoBrowser.get('/admin')).status).to.equal(403);
  });

  it('unlocks a locked account and sends a reset link to a user with a password', async () => {
    const theo = (await env.ctx.users.byEmail('kasse@example.org'))!;
    // wrong passwords from many sources: new devices are slowed (shown as a lock until then)
    for (let i = 0; i < ACCOUNT_FAILURES; i++) await env.ctx.users.authenticate('kasse@example.org', 'wrong-password', { source: `10.0.0.${i}` });
    expect((await env.ctx.users.authenticate('kasse@example.org', PASSWORD, { source: '10.0.1.1' })).ok).to.equal(false);
    const page = await admin.get(`/admin/users/${theo.id}`);
    expect(page.text).to.contain('gesperrt bis 25.11.2026, 10:15 Uhr');
    expect(page.text).to.contain('Sperre aufheben');
    const res = await admin.submit(`/admin/users/${theo.id}`, {}, `/admin/users/${theo.id}/unlock`);
    expect(res.status).to.equal(303);
    expect((await admin.get(`/admin/users/${theo.id}`)).text).to.contain('Die Sperre ist aufgehoben');
    expect((await env.ctx.users.authenticate('kasse@example.org', PASSWORD, { source: '10.0.1.1' })).ok).to.equal(true);
    expect(await env.ctx.audit.list({ action: 'user.unlocked', entityId: theo.id })).to.have.length(1);

    const link = await admin.submit(`/admin/users/${theo.id}`, {}, `/admin/users/${theo.id}/access-link`);
    expect(link.status).to.equal(303);
    expect((await admin.get(`/admin/users/${theo.id}`)).text).to.contain('Ein Link zum Zurücksetzen des Passworts an kasse@example.org ist unterwegs.');
    const [mail] = await env.ctx.outbox.forRecipient('kasse@example.org');
    expect(mail.template).to.equal('reset_password');
    expect(mail.text).to.contain('/password/reset/');
  });

  it('sends a new invitation that replaces the old link', async () => {
    const x = await admin.submit('/admin/users/new', { email: 'spaet@example.org', displayName: 'Sina Spät', roles: ['member'], locale: 'de' });
    expect(x.status).to.equal(303);
    const sina = (await env.ctx.users.byEmail('spaet@example.org'))!;
    await env.ctx.outbox.flush();
    const firstLink = sent().filter((m) => m.to === 'spaet@example.org').at(-1)!.text.match(/\/welcome\/[A-Za-z0-9_-]+/)![0];
    await admin.submit(`/admin/users/${sina.id}`, {}, `/admin/users/${sina.id}/access-link`);
    await env.ctx.outbox.flush();
    const mails = sent().filter((m) => m.to === 'spaet@example.org');
    expect(mails).to.have.length(2);
    const secondLink = mails[1].text.match(/\/welcome\/[A-Za-z0-9_-]+/)![0];
    expect(secondLink).not.to.equal(firstLink);
    const b = new Browser(env.app);
    expect((await b.get(firstLink)).status).to.equal(410);
    expect((await b.get(secondLink)).status).to.equal(200);
  });
});
