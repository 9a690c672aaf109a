import { tFor } from '../i18n/i18n.ts';
import { formatDate } from '../i18n/format.ts';
import type { MailContent } from '../mail/render.ts';
import type { AssociationSettings } from '../settings/settings.schemas.ts';
import { collect, loadPdfKit, MM, registerFonts } from '../pdf/fonts.ts';
import type { Invitation } from './assemblies.model.ts';

/** One printed invitation: the invitation snapshot, its fresh personal link and the mail content (assemblyMail). */
export interface LetterInput {
  invitation: Invitation;
  link: string;
  content: MailContent;
  /** h/written: the sentence above the link when it is not the invitation's (a written resolution's letter) */
  howToAnswer?: string;
}

/**
 * The invitation letters as one A4 PDF, each letter starting on a new page (DIN 5008 form B:
 * sender line above the window, recipient in the window, place and date, subject, text).
 * The text is the invitation mail's content in the member's language (greeting, intro, time
 * and place, agenda, how to answer, signature), with the personal link printed as an address
 * to type in; the mail's lines about the calendar attachment and Textform are left out.
 */
export async function renderLettersPdf(letters: LetterInput[], association: AssociationSettings, today: string, now: Date): Promise<Buffer> {
  const PDFDocument = await loadPdfKit();
  const first = letters[0]?.invitation.locale ?? 'de';
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: 20 * MM, bottom: 20 * MM, left: 25 * MM, right: 20 * MM },
    info: {
      Title: letters.length === 1 ? letters[0].content.subject : tFor(first)('assemblies.letters.title'),
      Author: association.name,
      Creator: association.name,
      Producer: 'Vereinsverwaltung',
      CreationDate: now,
      ModDate: now,
    },
    lang: first === 'en' ? 'en-GB' : 'de-DE',
    autoFirstPage: false,
  });
  registerFonts(doc);
  const done = collect(doc);
  for (const l of letters) {
    doc.addPage();
    drawLetter(doc, l, association, today);
  }
  if (!letters.length) doc.addPage();
  doc.end();
  return done;
}

function drawLetter(doc: PDFKit.PDFDocument, l: LetterInput, as: AssociationSettings, today: string): void {
  const loc = l.invitation.locale;
  const t = tFor(loc);
  const c = l.content;
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  const country = (code: string) => (code && code !== 'DE' ? t(`common.countries.${code}`, { defaultValue: code }) : '');
  const cityLine = [as.postcode, as.city].filter(Boolean).join(' ');

  // Letterhead
  doc.font('bold').fontSize(15).fillColor('black').text(as.name, left, 20 * MM, { width });
  doc.font('regular').fontSize(9).fillColor('#444')
    .text([as.street, cityLine, country(as.country)].filter(Boolean).join(' · '), { width })
    .text([as.contactEmail, as.website].filter(Boolean).join(' · '), { width });

  // Sender line and recipient in the window (DIN 5008 form B)
  const ry = 50 * MM;
  const sender = [as.name, as.street, cityLine].filter(Boolean).join(' · ');
  let senderSize = 6.5;
  while (senderSize > 5 && doc.fontSize(senderSize).widthOfString(sender) > 85 * MM) senderSize -= 0.25;
  doc.fillColor('#666').text(sender, left, ry - 5 * MM, { width: 85 * MM, height: senderSize * 1.5, ellipsis: true });
  const address = l.invitation.postalAddress.split('\n').map((line) => (/^[A-Z]{2}$/.test(line) ? country(line) : line)).filter(Boolean);
  doc.fillColor('black').fontSize(10.5).text(address.join('\n'), left, ry, { width: 85 * MM });

  // Right column: member number; place and date
  const fx = left + 100 * MM;
  const fw = width - 100 * MM;
  doc.fontSize(9).fillColor('#444').text(t('assemblies.letters.pdf.memberNo', { no: l.invitation.memberNo }), fx, ry, { width: fw });
  doc.fillColor('black').text(t('assemblies.letters.pdf.placeDate', { place: as.city || as.name, date: formatDate(today, loc) }), fx, doc.y + 2, { width: fw });

  // Subject and text
  doc.font('bold').fontSize(12).text(c.subject, left, 95 * MM, { width });
  doc.moveDown(0.8);
  doc.font('regular').fontSize(10);
  const para = (s: string, gap = 0.5) => { doc.text(s, left, doc.y, { width }); doc.moveDown(gap); };
  if (c.greeting) para(c.greeting);
  c.paragraphs.forEach((p, i) => para(p, i === c.paragraphs.length - 1 ? 0.3 : 0.2));
  if (c.quote) {
    doc.fontSize(9.5).text(c.quote, left + 5 * MM, doc.y, { width: width - 5 * MM });
    doc.fontSize(10).moveDown(0.6);
  }
  if (c.action) {
    para(l.howToAnswer ?? t('assemblies.letters.pdf.howToAnswer'), 0.2);
    // the address on one line (a break at a '-' of the token could not be told from the token), smaller if it must
    doc.font('bold');
    let size = 10.5;
    while (size > 6 && doc.fontSize(size).widthOfString(c.action.url) > width - 5 * MM) size -= 0.5;
    doc.text(c.action.url, left + 5 * MM, doc.y, { width: width - 5 * MM, lineBreak: false });
    doc.font('regular').fontSize(8.5).fillColor('#444').text(t('assemblies.letters.pdf.linkPersonal', { organisation: l.invitation.organisationName }), left + 5 * MM, doc.y, { width: width - 5 * MM });
    doc.fillColor('black').fontSize(10).moveDown(0.6);
  }
  const calendar = t('assemblies.mail.calendar');
  for (const s of c.afterAction ?? []) if (s !== calendar) para(s, 0.2);
  doc.moveDown(0.6);
  para(c.signature, 0.3);
  const board = as.boardMembers.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (board.length) {
    doc.fontSize(8.5).fillColor('#444').text(`${t('assemblies.letters.pdf.board')}: ${board.join(' · ')}`, left, doc.y, { width });
    doc.fillColor('black');
  }

  // Footer with the register data, if the text left room for it
  const footer = [as.name, [as.registerCourt, as.registerNumber].filter(Boolean).join(' '), as.contactEmail].filter(Boolean).join(' · ');
  const fy = doc.page.height - doc.page.margins.bottom - 8 * MM;
  if (doc.y < fy - 2 * MM) doc.font('regular').fontSize(7).fillColor('#666').text(footer, left, fy, { width, align: 'center' });
  doc.fillColor('black');
}
