import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { TransportError, type MailTransport, type OutgoingMail } from '../../server/mail/transport.ts';
import type { EnqueueInput } from '../../server/mail/outbox.service.ts';

/** A transport that can be told to fail like an SMTP server that is down or refuses. */
class SwitchTransport implements MailTransport {
  kind = 'smtp' as const;
  sent: OutgoingMail[] = [];
  failWith?: TransportError;
  async send(mail: OutgoingMail) {
    if (this.failWith) throw this.failWith;
    this.sent.push(mail);
    return { response: '250 2.0.0 Ok: queued as ABC123' };
  }
  close() {}
}

function message(to: string, subject: string, extra: Partial<EnqueueInput> = {}): EnqueueInput {
  return {
    template: 'test_message', locale: 'de', to,
    content: { subject, greeting: 'Guten Tag,', paragraphs: ['Erster Absatz <script>alert(1)</script>'], signature: 'Mein Verein e.V.' },
    ...extra,
  };
}

describe('admin: mail log and audit log', () => {
  let env: TestEnv;
  let transport: SwitchTransport;
  let admin: Browser;
  before(async () => {
    transport = new SwitchTransport();
    env = await createTestEnv({ transport });
    await makeUser(env.ctx, 'admin@example.org', ['admin'], 'Ada Admin');
    admin = new Browser(env.app);
    await admin.login('admin@example.org', PASSWORD);
  });
  after(async () => env.close());

  it('shows why a message waits when the SMTP server answers 451, and its next attempt', async () => {
    const id = await env.ctx.outbox.enqueue(env.db, message('wartet@example.org', 'Einladung zur Mitgliederversammlung'));
    transport.failWith = new TransportError('try later', false, '451 4.3.0 try later');
    await env.ctx.outbox.flush();
    transport.failWith = undefined;

    const list = await admin.get('/admin/mail');
    expect(list.status).to.equal(200);
    expect(list.text).to.contain('wartet@example.org');
    expect(list.text).to.contain('Einladung zur Mitgliederversammlung');
    expect(list.text).to.contain('451 4.3.0 try later');
    expect(list.text).to.contain('<span class="badge badge-warn">wartet</span>');
    // first retry one minute later: 09:01 UTC is 10:01 in Berlin
    expect(list.text).to.contain('25.11.2026, 10:01 Uhr');

    const detail = await admin.get(`/admin/mail/${id}`);
    expect(detail.text).to.contain('Wartet auf den nächsten Versuch am 25.11.2026, 10:01 Uhr, weil der Versand scheiterte: 451 4.3.0 try later');
    expect(detail.text).to.contain('Jetzt erneut senden');
    // the text part, escaped, in a <pre>
    expect(detail.text).to.match(/<pre class="pre">[^<]*Erster Absatz &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    expect(detail.text).not.to.contain('<script>alert(1)</script>');

    // "send again now" puts it back in the queue at once; the worker (here: flush) sends it
    const retry = await admin.submit(`/admin/mail/${id}`, {}, `/admin/mail/${id}/retry`);
    expect(retry.status).to.equal(303);
    expect((await env.ctx.outbox.get(id))!.nextAttemptAt).to.equal('2026-11-25T09:00:00.000Z');
    expect(await env.ctx.audit.list({ action: 'mail.retry_requested', entityId: id })).to.have.length(1);
    await env.ctx.outbox.flush();
    const sent = await admin.get(`/admin/mail/${id}`);
    expect(sent.text).to.contain('<span class="badge badge-ok">gesendet</span>');
    expect(sent.text).to.contain('250 2.0.0 Ok: queued as ABC123');
    expect(sent.text).not.to.contain('Jetzt erneut senden');
  });

  it('marks a refused message as failed and shows attachments and headers', async () => {
    const id = await env.ctx.outbox.enqueue(env.db, message('gibtsnicht@example.org', 'Rechnung 2027-0001', {
      cc: ['buchhaltung@example.org'],
      attachments: [{ filename: 'Rechnung-2027-0001.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4') }],
    }));
    transport.failWith = new TransportError('mailbox unavailable', true, '550 5.1.1 <gibtsnicht@example.org>: Recipient address rejected');
    await env.ctx.outbox.flush();
    transport.failWith = undefined;
    const failed = await admin.get('/admin/mail?status=failed');
    expect(failed.text).to.contain('gibtsnicht@example.org');
    expect(failed.text).not.to.contain('wartet@example.org');
    expect(failed.text).to.contain('<span class="badge badge-bad">fehlgeschlagen</span>');
    expect(failed.text).to.contain('550 5.1.1 &lt;gibtsnicht@example.org&gt;: Recipient address rejected');
    const detail = await admin.get(`/admin/mail/${id}`);
    expect(detail.text).to.contain('Zustellung aufgegeben nach 1 Versuch(en)');
    expect(detail.text).to.contain('Rechnung-2027-0001.pdf');
    expect(detail.text).to.contain('buchhaltung@example.org');
    expect(detail.text).to.match(/<code>&lt;[0-9a-f-]+@127\.0\.0\.1&gt;<\/code>/); // Message-ID
    expect((await admin.get('/admin')).text).to.contain('1 Nachricht konnte nicht zugestellt werden.');
  });

  it('sends due messages on request, searches by recipient and pages through the log', async () => {
    for (let i = 1; i <= 52; i++) await env.ctx.outbox.enqueue(env.db, message(`empfaenger${i}@example.org`, `Nachricht ${i}`));
    const overview = await admin.get('/admin');
    expect(overview.text).to.match(/<strong>52<\/strong> wartet/);
    const res = await admin.submit('/admin/mail', {}, '/admin/mail/flush');
    expect(res.status).to.equal(303);
    const page1 = await admin.get('/admin/mail');
    expect(page1.text).to.contain('52 Nachrichten wurden zu senden versucht.');
    expect(page1.text).to.contain('54 Nachrichten');
    expect(page1.text).to.contain('Seite 1 von 2');
    expect(page1.text).to.contain('empfaenger52@example.org');
    expect(page1.text).not.to.contain('wartet@example.org');
    const page2 = await admin.get('/admin/mail?page=2');
    expect(page2.text).to.contain('wartet@example.org');
    expect(page2.text).to.contain('Seite 2 von 2');
    const search = await admin.get('/admin/mail?q=empfaenger7%40');
    expect(search.text).to.contain('empfaenger7@example.org');
    expect(search.text).not.to.contain('empfaenger17@example.org');
    expect(search.text).to.match(/[^\d]1 Nachricht(?!en)/);
    expect((await admin.get('/admin/mail/99999')).status).to.equal(404);
  });

  it('lists the audit log newest first with readable, escaped before and after', async () => {
    await env.ctx.audit.record(env.db, { userId: null, label: 'Berta Vorstand' }, 'member.updated', 'organisation', 7,
      { name: 'Alte GmbH', hasVote: true }, { name: '<b>Neue</b> GmbH', hasVote: false });
    const res = await admin.get('/admin/audit');
    expect(res.status).to.equal(200);
    expect(res.text).to.contain('member.updated');
    expect(res.text).to.contain('Berta Vorstand');
    expect(res.text).to.contain('organisation #7');
    expect(res.text).to.contain('<del>Alte GmbH</del> → <ins>&lt;b&gt;Neue&lt;/b&gt; GmbH</ins>');
    expect(res.text).to.contain('<del>Ja</del> → <ins>Nein</ins>');
    expect(res.text).not.to.contain('<b>Neue</b>');
    expect(res.text).to.contain('25.11.2026, 10:00 Uhr');
    // newest first: the member change comes before the admin's mail retry
    expect(res.text.indexOf('member.updated')).to.be.lessThan(res.text.indexOf('mail.retry_requested'));
  });

  it('filters by entity type and action and pages with a keyset', async () => {
    for (let i = 1; i <= 60; i++) {
      env.clock.advance(1000);
      await env.ctx.audit.record(env.db, { userId: null, label: 'system' }, 'invoice.issued', 'invoice', i, undefined, { number: `2027-${String(i).padStart(4, '0')}` });
    }
    const byType = await admin.get('/admin/audit?entityType=invoice');
    expect(byType.text).to.contain('2027-0060');
    expect(byType.text).to.contain('2027-0011');
    expect(byType.text).not.to.contain('2027-0010');
    expect(byType.text).not.to.contain('member.updated');
    const href = byType.text.match(/<a href="([^"]+)" rel="next">Ältere Einträge/)![1];
    const older = href.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
    expect(older).to.match(/^\/admin\/audit\?entityType=invoice&before=\d+$/);
    const page2 = await admin.get(older);
    expect(page2.text).to.contain('2027-0010');
    expect(page2.text).to.contain('2027-0001');
    expect(page2.text).not.to.contain('2027-0011');
    expect(page2.text).not.to.contain('Ältere Einträge');
    expect(page2.text).to.contain('Zu den neuesten');

    const byAction = await admin.get('/admin/audit?action=member.updated');
    expect(byAction.text).to.contain('Alte GmbH');
    expect(byAction.text).not.to.contain('invoice.issued');
  });
});
