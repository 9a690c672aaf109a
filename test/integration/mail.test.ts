import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { simpleParser } from 'mailparser';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { SmtpSink } from '../fakes/smtp-sink.ts';
import { MailWorker, MAX_ATTEMPTS, type EnqueueInput } from '../../server/mail/outbox.service.ts';
import { fileTransport } from '../../server/mail/transport.ts';
import { createLogger } from '../../server/logger.ts';

const MIN = 60_000;

function message(to: string, subject = 'Einladung zur Mitgliederversammlung'): EnqueueInput {
  return {
    template: 'test',
    locale: 'de',
    to,
    content: {
      subject,
      greeting: 'Guten Tag Frau Wölfel,',
      paragraphs: ['die Mitgliederversammlung findet am 24.11.2026 in Goslar statt.', 'Bitte antworten Sie bis 10.11.2026 <rechtzeitig>.'],
      action: { label: 'Zusagen', url: 'http://127.0.0.1:3999/rsvp/abc' },
      signature: 'ChemieNetzwerk Harz e.V.',
    },
  };
}

describe('mail: outbox → worker → SMTP', () => {
  let sink: SmtpSink;
  let env: TestEnv;

  before(async () => {
    sink = await SmtpSink.start();
    env = await createTestEnv({ smtpUrl: sink.url });
  });
  after(async () => {
    await env.close();
    await sink.stop();
  });
  beforeEach(async () => {
    sink.clearFailures();
    sink.messages.length = 0;
    sink.attempts.length = 0;
    await sink.up();
  });

  async function enqueue(to: string, subject?: string): Promise<number> {
    return env.db.transaction((trx) => env.ctx.outbox.enqueue(trx, message(to, subject)));
  }
  const row = async (id: number) => (await env.db('mail_messages').where({ id }).first())!;

  it('delivers a queued message with text and HTML parts and the Message-ID fixed at enqueue', async () => {
    const id = await enqueue('k.woelfel@harzer-spezialchemie.example');
    const stored = await row(id);
    expect(stored.status).to.equal('queued');

    const worker = new MailWorker(env.ctx.outbox, createLogger('silent'));
    await worker.tick();

    expect(sink.messages).to.have.length(1);
    const m = sink.messages[0];
    expect(m.envelopeTo).to.deep.equal(['k.woelfel@harzer-spezialchemie.example']);
    expect(m.messageId).to.equal(stored.message_id);
    expect(m.subject).to.equal('Einladung zur Mitgliederversammlung');
    expect(m.text).to.contain('Guten Tag Frau Wölfel,');
    expect(m.text).to.contain('http://127.0.0.1:3999/rsvp/abc');
    expect(m.html).to.contain('Guten Tag Frau Wölfel,');
    expect(m.html).to.contain('href="http://127.0.0.1:3999/rsvp/abc"');
    expect(m.html).to.contain('&lt;rechtzeitig&gt;'); // content is escaped in the HTML part
    expect(m.parsed.from?.text).to.contain('vorstand@example.org');

    const after = await row(id);
    expect(after.status).to.equal('sent');
    expect(Number(after.attempts)).to.equal(1);
    expect(after.sent_at).to.equal('2026-11-25T09:00:00.000Z');
    expect(after.last_response).to.match(/^250/);
    expect(after.locked_until).to.equal(null);

    // nothing left to do: a second tick sends nothing again
    await worker.tick();
    expect(sink.messages).to.have.length(1);
  });

  it('keeps messages queued while the SMTP server is down, backs off, and delivers each exactly once when it is back', async () => {
    const a = await enqueue('a@okertal-recycling.example', 'Nachricht A');
    const b = await enqueue('b@okertal-recycling.example', 'Nachricht B');
    await sink.down();
    const t0 = env.clock.now().getTime();

    expect(await env.ctx.outbox.flush()).to.equal(2);
    for (const id of [a, b]) {
      const r = await row(id);
      expect(r.status).to.equal('queued');
      expect(Number(r.attempts)).to.equal(1);
      expect(r.last_response).to.contain('ECONNREFUSED');
      expect(r.next_attempt_at).to.equal(new Date(t0 + 1 * MIN).toISOString());
    }

    // not due yet: nothing is attempted
    expect(await env.ctx.outbox.flush()).to.equal(0);

    env.clock.advance(1 * MIN);
    expect(await env.ctx.outbox.flush()).to.equal(2);
    let r = await row(a);
    expect(Number(r.attempts)).to.equal(2);
    expect(r.next_attempt_at).to.equal(new Date(t0 + 1 * MIN + 2 * MIN).toISOString());

    env.clock.advance(2 * MIN);
    await env.ctx.outbox.flush();
    r = await row(a);
    expect(Number(r.attempts)).to.equal(3);
    expect(r.next_attempt_at).to.equal(new Date(t0 + 3 * MIN + 4 * MIN).toISOString());
    expect(sink.messages).to.have.length(0);

    await sink.up();
    // back up, but the messages wait for their next attempt time
    expect(await env.ctx.outbox.flush()).to.equal(0);
    env.clock.advance(4 * MIN);
    expect(await env.ctx.outbox.flush()).to.equal(2);
    expect(sink.messages.map((m) => m.subject).sort()).to.deep.equal(['Nachricht A', 'Nachricht B']);
    for (const id of [a, b]) {
      const s = await row(id);
      expect(s.status).to.equal('sent');
      expect(Number(s.attempts)).to.equal(4);
    }

    env.clock.advance(3 * 3_600_000);
    expect(await env.ctx.outbox.flush()).to.equal(0);
    expect(sink.messages).to.have.length(2);
  });

  it('retries after a temporary refusal (451) and sends the message once', async () => {
    const id = await enqueue('greylist@innerste-pigmente.example');
    sink.failNext(1, 451);
    await env.ctx.outbox.flush();
    let r = await row(id);
    expect(r.status).to.equal('queued');
    expect(r.last_response).to.match(/^451/);
    expect(sink.messages).to.have.length(0);

    env.clock.advance(1 * MIN);
    await env.ctx.outbox.flush();
    r = await row(id);
    expect(r.status).to.equal('sent');
    expect(Number(r.attempts)).to.equal(2);
    expect(sink.messages).to.have.length(1);
    expect(sink.attempts.map((x) => x.code)).to.deep.equal([451, 250]);
  });

  it('marks a message failed on a permanent refusal (550) with the server answer, and does not retry it', async () => {
    const id = await enqueue('nobody@ipt-clausthal.example');
    sink.failRecipient('nobody@ipt-clausthal.example', 550, 'No such user here');
    const other = await enqueue('schaefer@ipt-clausthal.example');
    await env.ctx.outbox.flush();
    const r = await row(id);
    expect(r.status).to.equal('failed');
    expect(r.last_response).to.contain('550');
    expect(r.last_response).to.contain('No such user here');
    expect((await row(other)).status).to.equal('sent');

    env.clock.advance(5 * 3_600_000);
    expect(await env.ctx.outbox.flush()).to.equal(0);
    expect(sink.to('nobody@ipt-clausthal.example')).to.have.length(0);

    // the mail log's "send again" puts it back into the queue
    sink.clearFailures();
    await env.ctx.outbox.retry(id);
    await env.ctx.outbox.flush();
    expect((await row(id)).status).to.equal('sent');
    expect(sink.to('nobody@ipt-clausthal.example')).to.have.length(1);
  });

  it('marks a message failed when the server refuses its content (554)', async () => {
    const id = await enqueue('spam-filter@seesener-kunststoff.example');
    sink.failNext(1, 554, 'Message rejected');
    await env.ctx.outbox.flush();
    const r = await row(id);
    expect(r.status).to.equal('failed');
    expect(r.last_response).to.match(/^554/);
  });

  it('gives up after the maximum number of attempts', async () => {
    const id = await enqueue('always-busy@example.org');
    await env.db('mail_messages').where({ id }).update({ attempts: MAX_ATTEMPTS - 1 });
    sink.failNext(1, 451);
    await env.ctx.outbox.flush();
    const r = await row(id);
    expect(r.status).to.equal('failed');
    expect(Number(r.attempts)).to.equal(MAX_ATTEMPTS);
  });

  it('sends a message left "sending" by a crash once, with the same Message-ID, after its lock expired', async () => {
    const id = await enqueue('crash@harz-anlagenbau.example');
    const before = await row(id);
    // another worker holds it: not taken while the lock lasts
    await env.db('mail_messages').where({ id }).update({ status: 'sending', attempts: 1, locked_until: new Date(env.clock.now().getTime() + 2 * MIN).toISOString() });
    expect(await env.ctx.outbox.flush()).to.equal(0);
    expect(sink.messages).to.have.length(0);

    // the process died while sending: the lock runs out, a restarted worker takes it once
    env.clock.advance(3 * MIN);
    const worker = new MailWorker(env.ctx.outbox, createLogger('silent'));
    await worker.tick();
    await worker.tick();
    expect(sink.messages).to.have.length(1);
    expect(sink.messages[0].messageId).to.equal(before.message_id);
    const r = await row(id);
    expect(r.status).to.equal('sent');
    expect(Number(r.attempts)).to.equal(2);
  });

  it('never sends a message twice when two workers flush at the same time', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push(await enqueue(`parallel${i}@example.org`, `Parallel ${i}`));
    await Promise.all([env.ctx.outbox.flush(), env.ctx.outbox.flush(), env.ctx.outbox.flush()]);
    expect(sink.messages).to.have.length(6);
    expect(new Set(sink.messages.map((m) => m.messageId)).size).to.equal(6);
    const rows = await env.db('mail_messages').whereIn('id', ids);
    expect(rows.every((x) => x.status === 'sent' && Number(x.attempts) === 1)).to.equal(true);
  });

  it('does not send a message whose transaction rolled back', async () => {
    await env.db.transaction(async (trx) => {
      await env.ctx.outbox.enqueue(trx, message('rollback@example.org'));
      throw new Error('abort');
    }).catch(() => undefined);
    await env.ctx.outbox.flush();
    expect(sink.to('rollback@example.org')).to.have.length(0);
    expect(await env.ctx.outbox.forRecipient('rollback@example.org')).to.have.length(0);
  });
});

describe('mail: without SMTP_URL messages are written as .eml files', () => {
  let env: TestEnv;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-mail-'));
    env = await createTestEnv({ transport: fileTransport(dir) });
  });
  after(async () => {
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes one parsable .eml file per message, and a resend replaces it instead of doubling', async () => {
    const id = await env.db.transaction((trx) => env.ctx.outbox.enqueue(trx, message('datei@example.org', 'Dateitest')));
    await env.ctx.outbox.flush();
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.eml'));
    expect(files).to.have.length(1);
    const parsed = await simpleParser(fs.readFileSync(path.join(dir, files[0])));
    const r = (await env.db('mail_messages').where({ id }).first())!;
    expect(parsed.messageId).to.equal(r.message_id);
    expect(parsed.subject).to.equal('Dateitest');
    expect(parsed.text).to.contain('Guten Tag Frau Wölfel,');
    expect(String(parsed.html)).to.contain('href="http://127.0.0.1:3999/rsvp/abc"');
    expect(r.status).to.equal('sent');
    expect(r.last_response).to.contain(files[0]);

    // a crash after writing but before recording: the message is taken again and overwrites its file
    await env.db('mail_messages').where({ id }).update({ status: 'sending', locked_until: '2000-01-01T00:00:00.000Z' });
    await env.ctx.outbox.flush();
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.eml'))).to.have.length(1);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).to.have.length(0);
  });
});
