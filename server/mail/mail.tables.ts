/** Row types of the table the mail module owns (see server/db/ownership.ts). */

export type MailStatus = 'queued' | 'sending' | 'sent' | 'failed';

export interface MailMessageRow {
  id: number;
  /** RFC 5322 Message-ID, fixed at enqueue */
  message_id: string;
  template: string;
  locale: string;
  to_address: string;
  /** JSON array of addresses */
  cc: string | null;
  subject: string;
  text_body: string;
  html_body: string;
  /** JSON [{filename, contentType, contentBase64}] */
  attachments: string | null;
  related_type: string | null;
  related_id: number | null;
  status: MailStatus;
  attempts: number;
  next_attempt_at: string;
  locked_until: string | null;
  last_response: string | null;
  sent_at: string | null;
  created_at: string;
  /** h/groups: the Reply-To address (a message to a working group answers to its sender) */
  reply_to?: string | null;
}

declare module 'knex/types/tables' {
  interface Tables {
    mail_messages: MailMessageRow;
  }
}
