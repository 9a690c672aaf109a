import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

/** A message the sink accepted: the SMTP envelope plus the parsed message. */
export interface SinkMessage {
  envelopeFrom: string;
  envelopeTo: string[];
  parsed: ParsedMail;
  messageId: string;
  subject: string;
  text: string;
  html: string;
  raw: Buffer;
}

interface Rule {
  code: number;
  message: string;
}

function smtpError(rule: Rule): Error & { responseCode: number } {
  const err = new Error(rule.message) as Error & { responseCode: number };
  err.responseCode = rule.code;
  return err;
}

/**
 * A real SMTP listener on 127.0.0.1 for tests of the mail path. It accepts any sender
 * (authentication optional, no TLS), parses every message with mailparser and keeps it.
 * It can be told to answer with an error for the next N messages or for certain
 * recipients, and it can go down and come back up on the same port.
 */
export class SmtpSink {
  readonly messages: SinkMessage[] = [];
  /** Every DATA attempt, accepted or not (recipients of each), to count deliveries and retries. */
  readonly attempts: { to: string[]; accepted: boolean; code: number }[] = [];
  private server?: SMTPServer;
  private failures: Rule[] = [];
  private byRecipient = new Map<string, Rule>();
  private waiters: { n: number; resolve: () => void }[] = [];
  private _port = 0;

  private constructor() {}

  /** Starts a sink on a random free port (or the given one). */
  static async start(port = 0): Promise<SmtpSink> {
    const sink = new SmtpSink();
    await sink.listen(port);
    return sink;
  }

  get port(): number {
    return this._port;
  }

  /** The URL to give SMTP_URL / smtpTransport. */
  get url(): string {
    return `smtp://127.0.0.1:${this._port}`;
  }

  get isUp(): boolean {
    return !!this.server;
  }

  /** The next `n` messages are answered with `code` (451: try again later; 550: refused). */
  failNext(n: number, code = 451, message = code >= 500 ? 'Requested action not taken: mailbox unavailable' : 'Requested action aborted: try again later'): void {
    for (let i = 0; i < n; i++) this.failures.push({ code, message });
  }

  /** Messages to this recipient are answered with `code` at RCPT TO, until cleared. */
  failRecipient(address: string, code = 550, message = code >= 500 ? 'No such user here' : 'Mailbox busy, try again later'): void {
    this.byRecipient.set(address.toLowerCase(), { code, message });
  }

  clearFailures(): void {
    this.failures = [];
    this.byRecipient.clear();
  }

  /** Messages whose envelope or To: header contains `address`. */
  to(address: string): SinkMessage[] {
    const a = address.toLowerCase();
    return this.messages.filter((m) => m.envelopeTo.includes(a));
  }

  /** Resolves when at least `n` messages have arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs = 5000): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`SMTP sink: expected ${n} messages, got ${this.messages.length}`)), timeoutMs);
      this.waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  /** Stops listening (connections are refused) but remembers the port for up(). */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port after down(). */
  async up(): Promise<void> {
    if (this.server) return;
    await this.listen(this._port);
  }

  /** Stops for good. */
  async stop(): Promise<void> {
    await this.down();
  }

  private async listen(port: number): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 200,
      size: 25 * 1024 * 1024,
      onRcptTo: (address, _session, callback) => {
        const rule = this.byRecipient.get(address.address.toLowerCase());
        if (rule) {
          this.attempts.push({ to: [address.address.toLowerCase()], accepted: false, code: rule.code });
          return callback(smtpError(rule));
        }
        callback();
      },
      onData: (stream: SMTPServerDataStream, session: SMTPServerSession, callback) => {
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const rule = this.failures.shift();
          if (rule) {
            this.attempts.push({ to, accepted: false, code: rule.code });
            return callback(smtpError(rule));
          }
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then(
            (parsed) => {
              const from = session.envelope.mailFrom;
              this.messages.push({
                envelopeFrom: from ? from.address : '',
                envelopeTo: to,
                parsed,
                messageId: parsed.messageId ?? '',
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: typeof parsed.html === 'string' ? parsed.html : '',
                raw,
              });
              this.attempts.push({ to, accepted: true, code: 250 });
              callback();
              this.notify();
            },
            (err: Error) => callback(err),
          );
        });
      },
    });
    server.on('error', () => {
      /* connection-level errors (a client hanging up) are not the test's concern */
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.server.off('error', onError);
        resolve();
      });
    });
    this._port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  private notify(): void {
    const n = this.messages.length;
    this.waiters = this.waiters.filter((w) => {
      if (n >= w.n) {
        w.resolve();
        return false;
      }
      return true;
    });
  }
}
