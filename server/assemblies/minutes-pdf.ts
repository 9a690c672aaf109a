import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatDate, formatDateTime } from '../i18n/format.ts';
import { collect, loadPdfKit, MM, registerFonts } from '../pdf/fonts.ts';
import { correctionLines, type MinutesDocument } from './minutes-document.ts';
import { candidateVotes, describeElectionRule, describeResult, describeRule } from './results.ts';

/**
 * The minutes as an A4 PDF: the association, the assembly (when, where), who chaired and who wrote
 * the minutes, the attendance, every agenda item with its result and the majority that applied,
 * the minutes text, the corrections after sending, and the two signature lines with the day of
 * signing. The same document goes with the minutes mail and is offered to the board.
 */
export async function renderMinutesPdf(doc: MinutesDocument, locale: Locale, now: Date): Promise<Buffer> {
  const PDFDocument = await loadPdfKit();
  const t = tFor(locale);
  const a = doc.assembly;
  const as = doc.association;
  const title = t('minutes.pdf.title', { kind: t(`assemblies.mail.kindAdjective.${a.kind}`) });
  const pdf = new PDFDocument({
    size: 'A4',
    margins: { top: 20 * MM, bottom: 20 * MM, left: 25 * MM, right: 20 * MM },
    info: { Title: `${title}: ${a.title}`, Author: as.name, Creator: as.name, Producer: 'Vereinsverwaltung', CreationDate: now, ModDate: now },
    lang: locale === 'en' ? 'en-GB' : 'de-DE',
    bufferPages: true,
  });
  registerFonts(pdf);
  const done = collect(pdf);
  const left = pdf.page.margins.left;
  const width = pdf.page.width - left - pdf.page.margins.right;
  const para = (s: string, gap = 0.3) => { pdf.text(s, left, pdf.y, { width }); pdf.moveDown(gap); };
  const heading = (s: string) => { pdf.moveDown(0.6); pdf.font('bold').fontSize(11.5); para(s, 0.3); pdf.font('regular').fontSize(10); };
  const v = doc.values;
  const name = (s: string) => s || t('minutes.pdf.notGiven');

  pdf.font('bold').fontSize(10).fillColor('#444').text(as.name, left, pdf.y, { width });
  pdf.fillColor('black').fontSize(15).text(title, left, pdf.y + 4, { width });
  pdf.fontSize(12).text(`„${a.title}“`, left, pdf.y, { width });
  pdf.moveDown(0.6);
  pdf.font('regular').fontSize(10);
  para(t('minutes.pdf.when', { when: formatDateTime(a.startsAt, locale) }), 0.1);
  if (a.location) para(t('minutes.pdf.where', { where: a.location }), 0.1);
  para(t(`assemblies.mail.format.${a.format}`), 0.1);
  para(t('minutes.pdf.chair', { name: name(v.chair) }), 0.1);
  para(t('minutes.pdf.minuteTaker', { name: name(v.minuteTaker) }), 0.1);
  para(t('minutes.pdf.attendance', doc.attendance), 0.1);

  heading(t('minutes.pdf.agenda'));
  for (const it of doc.items) {
    pdf.font('bold');
    para(`${it.number}. ${it.title} [${t(`assemblies.agendaKinds.${it.kind}`)}]`, 0.1);
    pdf.font('regular');
    const r = it.resolution;
    if (it.kind === 'report') para(t('minutes.pdf.report'), 0.4);
    else if (!r) para(t('minutes.pdf.noResult'), 0.4);
    else {
      if (r.election) para(t('elections.pdf.votes', { votes: candidateVotes(r), no: r.election.ballot.no, abstain: r.abstain, invalid: r.invalid }), 0.1);
      else para(t('minutes.pdf.votes', { yes: r.yes, no: r.no, abstain: r.abstain, invalid: r.invalid }), 0.1);
      para(t('minutes.pdf.rule', { rule: r.election ? describeElectionRule(t, r.outcome.rule, r.election.rules) : describeRule(t, r.outcome.rule) }), 0.1);
      pdf.font('bold');
      para(describeResult(t, locale, r), 0.4);
      pdf.font('regular');
      for (const line of it.ballotLines?.[locale] ?? []) para(line, 0.1); // h/evote
    }
  }

  if (v.body.trim()) {
    heading(t('minutes.pdf.text'));
    para(v.body, 0.3);
  }

  const corrections = correctionLines(locale, doc);
  if (corrections.length) {
    heading(t('minutes.pdf.corrections'));
    for (const line of corrections) para(`– ${line}`, 0.2);
  }

  // signatures: keep the block together on one page
  if (pdf.y > pdf.page.height - pdf.page.margins.bottom - 45 * MM) pdf.addPage();
  heading(t('minutes.pdf.signatures'));
  para(v.signedOn ? t('minutes.pdf.signedOn', { date: formatDate(v.signedOn, locale) }) : t('minutes.pdf.signedOnBlank'), 0.2);
  const y = pdf.y + 16 * MM;
  const col = (width - 10 * MM) / 2;
  for (const [i, [label, who]] of ([[t('minutes.fields.chair'), v.chair], [t('minutes.fields.minuteTaker'), v.minuteTaker]] as const).entries()) {
    const x = left + i * (col + 10 * MM);
    pdf.moveTo(x, y).lineTo(x + col, y).lineWidth(0.6).stroke();
    pdf.fontSize(9).text(who || ' ', x, y + 2, { width: col });
    pdf.fillColor('#444').text(label, x, pdf.y, { width: col }).fillColor('black');
  }

  const range = pdf.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    pdf.switchToPage(i);
    const bottom = pdf.page.margins.bottom;
    pdf.page.margins.bottom = 0; // the footer sits in the margin without opening a new page
    pdf.font('regular').fontSize(7).fillColor('#666')
      .text(`${as.name} · ${a.title} · ${t('minutes.pdf.page', { n: i + 1 })}`, left, pdf.page.height - 12 * MM, { width, align: 'center', lineBreak: false });
    pdf.page.margins.bottom = bottom;
  }
  pdf.end();
  return done;
}

/** The file name of the minutes PDF: "Protokoll MV 2026 19.12.2026.pdf". */
export function minutesPdfName(doc: MinutesDocument, locale: Locale): string {
  return tFor(locale)('minutes.pdf.file', { title: doc.assembly.title, date: formatDate(doc.assembly.startsAt, locale) }).replace(/[\\/:*?"<>|]+/g, '-');
}
