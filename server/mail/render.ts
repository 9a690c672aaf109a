import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

const viewsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../views/emails');

/** What a module says in a message; the layout turns it into a text and an HTML part. */
export interface MailContent {
  subject: string;
  greeting?: string;
  paragraphs: string[];
  /** A quoted block, e.g. the board's question or the applicant's answer, shown as-is. */
  quote?: string;
  action?: { label: string; url: string };
  afterAction?: string[];
  signature: string; // e.g. the association's name
  footer?: string;
}

const hb = Handlebars.create();
let htmlTpl: Handlebars.TemplateDelegate | undefined;
let textTpl: Handlebars.TemplateDelegate | undefined;

/**
 * A sentence that ends with a name ending in an abbreviation ("… Mitglied im ChemieNetzwerk
 * Harz e.V.") gets one full stop, not two; an ellipsis ("...") stays as it is.
 */
export function oneFullStop(text: string): string {
  return text.replace(/(?<=[^.\s]\.)\.(?=\s|$)/g, '');
}

export function renderMail(content: MailContent, locale: string): { subject: string; text: string; html: string } {
  htmlTpl ??= hb.compile(fs.readFileSync(path.join(viewsDir, 'layout.html.hbs'), 'utf8'));
  textTpl ??= hb.compile(fs.readFileSync(path.join(viewsDir, 'layout.text.hbs'), 'utf8'), { noEscape: true });
  const fix = (x: string | undefined) => (x === undefined ? x : oneFullStop(x));
  // the quote is what a person wrote: kept exactly
  const ctx = { ...content, greeting: fix(content.greeting), paragraphs: content.paragraphs.map(oneFullStop), afterAction: content.afterAction?.map(oneFullStop), signature: oneFullStop(content.signature), footer: fix(content.footer), lang: locale };
  return {
    subject: content.subject.replace(/[\r\n]+/g, ' ').slice(0, 300),
    html: htmlTpl(ctx),
    text: textTpl(ctx).replace(/\n{3,}/g, '\n\n').trim() + '\n',
  };
}
