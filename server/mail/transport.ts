import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import nodemailer from 'nodemailer';

/** A message ready for the wire. */
export interface OutgoingMail {
  messageId: string;
  from: string;
  to: string;
  cc?: string[];
  subject: string;
  text: string;
  html: string;
  attachments?: { filename: string; contentType: string; content: Buffer }[];
  headers?: Record<string, string>;
  /** h/groups: Reply-To */
  replyTo?: string;
}

export interface SendResult {
  response: string; // the server's answer (or the file written)
}

/** The outbox worker sends through this; the only place that imports nodemailer. */
export interface MailTransport {
  kind: 'smtp' | 'file';
  send(mail: OutgoingMail): Promise<SendResult>;
  close(): void;
}

/** Error from the transport with the SMTP answer, telling whether a retry may help. */
export class TransportError extends Error {
  constructor(message: string, public readonly permanent: boolean, public readonly response: string) {
    super(message);
  }
}

function toNodemailer(mail: OutgoingMail) {
  return {
    messageId: mail.messageId,
    from: mail.from,
    to: mail.to,
    cc: mail.cc && mail.cc.length ? mail.cc : undefined,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    attachments: mail.attachments?.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
    headers: mail.headers,
    replyTo: mail.replyTo, // h/groups
  };
}

/**
 * Opens the SMTP connection with TCP_NODELAY. SMTP is request and answer: with Nagle's algorithm
 * on, the end of each message (the lone "." line after the data) waits for the server's delayed
 * ACK, about 40 ms per message and connection, which capped a pooled transport at some 20
 * messages/s per connection. TLS (smtps, STARTTLS) is still done by nodemailer on this socket.
 */
export function noDelaySocket(options: { host?: string; port?: number | string; secure?: boolean; localAddress?: string; connectionTimeout?: number }, callback: (err: Error | null, socketOptions?: { connection: net.Socket }) => void): void {
  const socket = net.connect({ host: options.host ?? 'localhost', port: Number(options.port) || (options.secure ? 465 : 587), localAddress: options.localAddress });
  socket.setNoDelay(true);
  const fail = (err: Error) => { socket.destroy(); callback(err); };
  socket.setTimeout(options.connectionTimeout ?? 120_000, () => fail(Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' })));
  socket.once('error', fail);
  socket.once('connect', () => {
    socket.off('error', fail);
    socket.setTimeout(0);
    callback(null, { connection: socket });
  });
}

export function smtpTransport(url: string, opts: { pool?: boolean; maxConnections?: number } = {}): MailTransport {
  const t = nodemailer.createTransport(url.includes('?') || !opts.pool ? url : `${url}?pool=true&maxConnections=${opts.maxConnections ?? 3}`);
  // why: nodemailer's SMTP transports accept a getSocket hook that its types do not declare
  (t.transporter as unknown as { getSocket: typeof noDelaySocket }).getSocket = noDelaySocket;
  return {
    kind: 'smtp',
    async send(mail) {
      try {
        const info = await t.sendMail(toNodemailer(mail));
        return { response: String(info.response ?? 'accepted') };
      } catch (err) {
        const e = err as { responseCode?: number; response?: string; code?: string; message: string }; // why: nodemailer rejects with an Error carrying these SMTP fields
        const response = (e.response ?? `${e.code ?? 'ERROR'}: ${e.message}`).slice(0, 500);
        // 5xx answers to the message are permanent; connection errors and 4xx are worth retrying
        const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500 && e.code !== 'EAUTH';
        throw new TransportError(e.message, permanent, response);
      }
    },
    close() {
      t.close();
    },
  };
}

/** The name of the .eml file the file transport writes for a Message-ID. */
export function emlFileName(messageId: string): string {
  return messageId.replace(/[<>]/g, '').replace(/[^A-Za-z0-9._-]/g, '_') + '.eml';
}

/** Without SMTP_URL: each message is written as an .eml file (and shown in the mail log). */
export function fileTransport(dir: string): MailTransport {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    kind: 'file',
    async send(mail) {
      const info = await t.sendMail(toNodemailer(mail));
      fs.mkdirSync(dir, { recursive: true });
      const name = emlFileName(mail.messageId);
      const tmp = path.join(dir, `.${name}.tmp`);
      fs.writeFileSync(tmp, info.message as Buffer); // why: the stream transport with buffer: true hands the message as a Buffer
      fs.renameSync(tmp, path.join(dir, name)); // atomic: a resend overwrites, never doubles
      return { response: `written to ${name}` };
    },
    close() {},
  };
}

// h/gdpr: the anonymisation removes the stored copies of the messages it changed
/** Removes the .eml files the file transport wrote for these Message-IDs (missing ones are fine); returns how many went. */
export function removeEmlFiles(dir: string, messageIds: string[]): number {
  let n = 0;
  for (const id of messageIds) {
    try {
      fs.unlinkSync(path.join(dir, emlFileName(id)));
      n++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // why: fs errors carry a code
    }
  }
  return n;
}
