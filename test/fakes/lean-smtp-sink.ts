import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * A lean SMTP listener on 127.0.0.1 for the invitation benchmark and the fault run: unlike
 * smtp-sink.ts it does not parse messages. It reads each message's header block only, for its
 * Message-ID, counts every DATA end (raw deliveries, duplicates included) and keeps which
 * Message-IDs reached which recipient. It can refuse the first N attempts for a recipient
 * with 451 at RCPT TO ("try again later"), as a greylisting or busy mail server does.
 */
export class LeanSmtpSink {
  /** Every message whose DATA ended and that was answered 250 (raw count, duplicates included). */
  dataEnds = 0;
  /** RCPT TO answered 451. */
  refusals = 0;
  /** Message-ID → how often it arrived. */
  readonly byMessageId = new Map<string, number>();
  /** Recipient → the Message-IDs that reached it. */
  readonly byRecipient = new Map<string, Set<string>>();
  private refuseFirst = new Map<string, number>();
  private server?: SMTPServer;
  private _port = 0;
  private listeners: ((n: number) => void)[] = [];

  static async start(port = 0): Promise<LeanSmtpSink> {
    const s = new LeanSmtpSink();
    await s.listen(port);
    return s;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this._port}`;
  }

  /** Refuses the first `n` attempts to `address` with 451 at RCPT TO. */
  refuseFirstAttempts(address: string, n: number): void {
    this.refuseFirst.set(address.toLowerCase(), n);
  }

  /** Forgets what arrived (between the phases of a benchmark). */
  reset(): void {
    this.dataEnds = 0;
    this.refusals = 0;
    this.byMessageId.clear();
    this.byRecipient.clear();
  }

  /** Message-IDs that arrived more than once. */
  duplicates(): number {
    let n = 0;
    for (const c of this.byMessageId.values()) if (c > 1) n += c - 1;
    return n;
  }

  /** Calls `fn` with the raw count after each accepted message. */
  onData(fn: (n: number) => void): () => void {
    this.listeners.push(fn);
    return () => { this.listeners = this.listeners.filter((l) => l !== fn); };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async listen(port: number): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 200,
      size: 25 * 1024 * 1024,
      maxClients: 100,
      onRcptTo: (address, _session, callback) => {
        const a = address.address.toLowerCase();
        const left = this.refuseFirst.get(a) ?? 0;
        if (left > 0) {
          this.refuseFirst.set(a, left - 1);
          this.refusals++;
          const err = new Error('Mailbox busy, try again later') as Error & { responseCode: number };
          err.responseCode = 451;
          return callback(err);
        }
        callback();
      },
      onData: (stream, session, callback) => {
        let head = '';
        let headDone = false;
        stream.on('data', (c: Buffer) => {
          if (headDone) return;
          head += c.toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          if (end >= 0) { head = head.slice(0, end); headDone = true; } else if (head.length > 64 * 1024) headDone = true;
        });
        stream.on('end', () => {
          const unfolded = head.replace(/\r\n[ \t]+/g, ' ');
          const id = /^message-id:\s*(<[^>\r\n]+>)/im.exec(unfolded)?.[1] ?? '';
          this.dataEnds++;
          this.byMessageId.set(id, (this.byMessageId.get(id) ?? 0) + 1);
          for (const r of session.envelope.rcptTo) {
            const a = r.address.toLowerCase();
            let set = this.byRecipient.get(a);
            if (!set) this.byRecipient.set(a, (set = new Set()));
            set.add(id);
          }
          callback();
          for (const l of this.listeners) l(this.dataEnds);
        });
      },
    });
    server.on('error', () => {
      /* a client hanging up (e.g. a killed sender) is not the listener's concern */
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    this._port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }
}
