import type QRCodeType from 'qrcode';
import { DateTime } from 'luxon';
import { ZONE } from '../clock.ts';
import { tFor } from '../i18n/i18n.ts';
import { formatDate, formatMemberNumber, formatMoney, formatQuantity } from '../i18n/format.ts';
import { formatIban } from '../settings/bank.ts';
import { epcPayload } from './girocode.ts';
import { collect, loadPdfKit, MM, registerFonts } from '../pdf/fonts.ts';
import { payMethodsText, type Invoice } from './invoice.ts';
// h/einvoice: the hybrid PDF (PDF/A-3 with factur-x.xml)
import { buildCii } from '../einvoice/cii.ts';
import { collectedByDebit, eInvoiceOf, invoiceLines } from '../einvoice/from-invoice.ts';
import { attachFacturX } from '../einvoice/facturx.ts';
import { totalsOf } from '../einvoice/model.ts';

/**
 * The invoice PDF (A4), everything § 14 Abs. 4 UStG asks for: both parties' names and
 * addresses, the association's tax number, invoice date and number, what is billed and the
 * period, the amount and the tax note; then the bank details with a GiroCode. Built only from
 * the invoice row (the snapshot taken at issue), with the creation date fixed to the issue
 * date, so the same invoice always gives the same bytes and no PDF needs to be stored.
 *
 * Noto Sans (embedded, subset) covers Latin incl. Ł, ő, Č, Greek and Cyrillic; pdfkit's
 * standard fonts would garble them.
 *
 * pdfkit and qrcode (about 40 MB together) are loaded on the first invoice, not at start;
 * pdfkit and the fonts come from server/pdf/fonts.ts (parsed once per process).
 */
let qrcodeModule: Promise<typeof QRCodeType> | undefined;
const loadQRCode = () => (qrcodeModule ??= import('qrcode').then((m) => m.default));

function girocodePayload(inv: Invoice): string | null {
  if (inv.kind !== 'invoice' || inv.amountCents <= 0 || !inv.issuer.iban || collectedByDebit(inv)) return null; // no transfer code for an invoice collected by debit: it would be paid twice
  return epcPayload({
    bic: inv.issuer.bic,
    name: inv.issuer.bankHolder || inv.issuer.name,
    iban: inv.issuer.iban,
    amountCents: inv.amountCents,
    remittance: inv.number,
  });
}

export async function girocodePng(inv: Invoice): Promise<Buffer | null> {
  const payload = girocodePayload(inv);
  if (!payload) return null;
  const QRCode = await loadQRCode();
  return QRCode.toBuffer([{ data: Buffer.from(payload, 'utf8'), mode: 'byte' }], { errorCorrectionLevel: 'M', margin: 2, scale: 8, type: 'png' });
}

/** The GiroCode's dark modules (quiet zone of 2 included in `size`), drawn as vector rectangles: no PNG to encode and decode per invoice. */
function girocodeModules(inv: Invoice, QRCode: typeof QRCodeType): { size: number; runs: [number, number, number][] } | null {
  const payload = girocodePayload(inv);
  if (!payload) return null;
  const qr = QRCode.create([{ data: Buffer.from(payload, 'utf8'), mode: 'byte' }], { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const margin = 2;
  const runs: [number, number, number][] = []; // row, first column, length (horizontal runs, so no seams inside a run)
  for (let r = 0; r < n; r++) {
    let start = -1;
    for (let c = 0; c <= n; c++) {
      const dark = c < n && qr.modules.get(r, c);
      if (dark && start < 0) start = c;
      else if (!dark && start >= 0) { runs.push([r + margin, start + margin, c - start]); start = -1; }
    }
  }
  return { size: n + 2 * margin, runs };
}

export async function renderInvoicePdf(inv: Invoice): Promise<Buffer> {
  const t = tFor(inv.locale);
  const loc = inv.locale;
  const [PDFDocument, QRCode] = await Promise.all([loadPdfKit(), loadQRCode()]);
  const qr = girocodeModules(inv, QRCode);
  const created = DateTime.fromISO(inv.issueDate, { zone: ZONE }).set({ hour: 12 }).toJSDate();
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: 20 * MM, bottom: 20 * MM, left: 25 * MM, right: 20 * MM },
    info: {
      Title: `${t(inv.kind === 'cancellation' ? 'dues.pdf.cancellationTitle' : 'dues.pdf.title')} ${inv.number}`,
      Author: inv.issuer.name,
      Creator: inv.issuer.name,
      Producer: 'Vereinsverwaltung',
      CreationDate: created,
      ModDate: created,
    },
    lang: loc === 'en' ? 'en-GB' : 'de-DE',
    autoFirstPage: true,
    // h/einvoice: PDF/A-3b (XMP pdfaid, sRGB OutputIntent, embedded fonts), so the e-invoice XML may be embedded
    subset: 'PDF/A-3b',
    pdfVersion: '1.7',
  });
  registerFonts(doc);
  const done = collect(doc);

  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  const is = inv.issuer;
  const country = (c: string) => (c && c !== 'DE' ? t(`common.countries.${c}`, { defaultValue: c }) : '');

  // Issuer (letterhead)
  doc.font('bold').fontSize(15).text(is.name, left, 20 * MM, { width });
  doc.font('regular').fontSize(9).fillColor('#444')
    .text([is.street, [is.postcode, is.city].filter(Boolean).join(' '), country(is.country)].filter(Boolean).join(' · '), { width })
    .text([is.contactEmail, is.website].filter(Boolean).join(' · '), { width });
  doc.fillColor('black');

  // Recipient (window position of DIN 5008 form B)
  const ry = 50 * MM;
  doc.font('regular').fontSize(6.5).fillColor('#666')
    .text([is.name, is.street, [is.postcode, is.city].filter(Boolean).join(' ')].filter(Boolean).join(' · '), left, ry - 5 * MM, { width: 95 * MM, lineBreak: false });
  doc.fillColor('black').fontSize(10.5);
  const recipientLines = [
    inv.recipient.name,
    inv.contactName ? `${t('dues.pdf.attention')} ${inv.contactName}` : '',
    inv.recipient.street,
    [inv.recipient.postcode, inv.recipient.city].filter(Boolean).join(' '),
    country(inv.recipient.country),
  ].filter(Boolean);
  doc.font('regular').text(recipientLines.join('\n'), left, ry, { width: 85 * MM });

  // Invoice facts, right column
  const fx = left + 100 * MM;
  const fw = width - 100 * MM;
  const facts: [string, string][] = [
    [t('dues.pdf.number'), inv.number],
    [t('dues.pdf.date'), formatDate(inv.issueDate, loc)],
    [t('dues.pdf.memberNo'), formatMemberNumber(inv.memberNumber)],
  ];
  if (inv.kind === 'invoice') facts.push([t('dues.pdf.dueDate'), formatDate(inv.dueDate, loc)]);
  if (is.taxNumber) facts.push([t('dues.pdf.taxNumber'), is.taxNumber]);
  if (inv.recipient.vatId) facts.push([t('dues.pdf.customerVatId'), inv.recipient.vatId]);
  let y = ry;
  doc.fontSize(9);
  for (const [k, v] of facts) {
    doc.font('regular').fillColor('#444').text(k, fx, y, { width: fw });
    y = doc.y;
    doc.font('bold').fillColor('black').text(v, fx, y, { width: fw });
    y = doc.y + 2;
  }

  // Title and body
  let by = Math.max(95 * MM, y + 6 * MM);
  doc.font('bold').fontSize(14).fillColor('black')
    .text(`${t(inv.kind === 'cancellation' ? 'dues.pdf.cancellationTitle' : 'dues.pdf.title')} ${inv.number}`, left, by, { width });
  doc.moveDown(0.6);
  doc.font('regular').fontSize(10);
  if (inv.kind === 'cancellation' && inv.cancelsNumber) {
    doc.text(t('dues.pdf.cancels', { number: inv.cancelsNumber }), { width });
    doc.moveDown(0.5);
  }

  // Line item table
  by = doc.y + 2;
  const amountW = 35 * MM;
  doc.font('bold').fontSize(9).text(t('dues.pdf.item'), left, by, { width: width - amountW });
  doc.text(t('dues.pdf.amount'), left + width - amountW, by, { width: amountW, align: 'right' });
  by = doc.y + 2;
  doc.moveTo(left, by).lineTo(left + width, by).lineWidth(0.5).stroke();
  by += 4;
  // h/einvoice: one row per line (net), then for taxable lines net, VAT per rate and gross (§ 14 Abs. 4 Nr. 7, 8 UStG)
  const sign = inv.kind === 'cancellation' ? -1 : 1;
  const lines = invoiceLines(inv);
  const totals = totalsOf({ lines });
  const taxable = lines.some((l) => l.category === 'S');
  const period = `${formatDate(inv.periodStart, loc)}–${formatDate(inv.periodEnd, loc)}`;
  for (const [i, l] of lines.entries()) {
    if (i > 0) by = doc.y + 4;
    const rate = l.category === 'S' ? ` · ${t('einvoice.pdf.vatRate', { rate: l.ratePercent })}` : '';
    const qty = l.quantityMilli !== 1000 ? `${formatQuantity(l.quantityMilli, loc)} × ${formatMoney(l.unitNetCents, loc)}, ` : '';
    const linePeriod = l.period ? `${formatDate(l.period.start, loc)}${l.period.end !== l.period.start ? `–${formatDate(l.period.end, loc)}` : ''}` : period;
    doc.font('regular').fontSize(10).fillColor('black').text(`${l.name}, ${linePeriod}`, left, by, { width: width - amountW - 5 * MM });
    const afterDesc = doc.y;
    const note = l.note ?? (lines.length === 1 ? inv.proRataNote : '');
    const sub = [qty ? qty.replace(/, $/, '') : '', rate.replace(/^ · /, ''), note].filter(Boolean).join(' · ');
    if (sub) doc.fontSize(8.5).fillColor('#444').text(sub, left, afterDesc, { width: width - amountW - 5 * MM }).fillColor('black');
    const afterItem = doc.y;
    doc.fontSize(10).text(formatMoney(sign * l.netCents, loc), left + width - amountW, by, { width: amountW, align: 'right' });
    doc.y = Math.max(afterItem, doc.y);
  }
  by = doc.y + 4;
  doc.moveTo(left, by).lineTo(left + width, by).lineWidth(0.5).stroke();
  by += 4;
  if (taxable) {
    const row = (label: string, cents: number) => {
      doc.font('regular').fontSize(10).text(label, left, by, { width: width - amountW });
      doc.text(formatMoney(sign * cents, loc), left + width - amountW, by, { width: amountW, align: 'right' });
      by = doc.y + 2;
    };
    row(t('einvoice.pdf.net'), totals.lineTotal);
    for (const g of totals.breakdown) {
      if (g.category === 'S') row(t('einvoice.pdf.vat', { rate: g.ratePercent, basis: formatMoney(sign * g.basisCents, loc) }), g.taxCents);
    }
  }
  doc.font('bold').fontSize(10.5).text(t(taxable ? 'einvoice.pdf.gross' : 'dues.pdf.total'), left, by, { width: width - amountW });
  doc.text(formatMoney(inv.amountCents, loc), left + width - amountW, by, { width: amountW, align: 'right' });
  doc.moveDown(1);

  doc.font('regular').fontSize(9.5);
  if (inv.taxNote && lines.some((l) => l.category === 'O')) doc.text(inv.taxNote, left, doc.y, { width });
  if (taxable && is.einvoice?.vatId) doc.text(`${t('einvoice.pdf.sellerVatId')}: ${is.einvoice.vatId}`, left, doc.y, { width });
  doc.moveDown(1);

  // Payment
  if (inv.kind === 'invoice' && inv.amountCents > 0) {
    const py = doc.y;
    const textW = qr ? width - 50 * MM : width;
    doc.font('bold').fontSize(10).text(t('dues.pdf.payment'), left, py, { width: textW });
    const debit = collectedByDebit(inv);
    doc.font('regular').fontSize(9.5).text(debit
      ? t('dues.pdf.debitBy', { date: formatDate(inv.dueDate, loc), reference: debit.reference, creditorId: debit.creditorId, iban: formatIban(debit.debtorIban) })
      : t('dues.pdf.payBy', { date: formatDate(inv.dueDate, loc), number: inv.number }), { width: textW });
    doc.moveDown(0.4);
    const bank: [string, string][] = [
      [t('dues.pdf.bankHolder'), is.bankHolder || is.name],
      [t('dues.pdf.iban'), is.iban ? formatIban(is.iban) : '—'],
      [t('dues.pdf.bic'), is.bic || '—'],
      [t('dues.pdf.bankName'), is.bankName || '—'],
      [t('dues.pdf.reference'), inv.number],
    ];
    for (const [k, v] of bank) doc.text(`${k}: ${v}`, { width: textW });
    if (inv.payUrl && inv.payMethods.length) {
      doc.moveDown(0.4);
      doc.text(t('dues.pdf.payOnline', { methods: payMethodsText(t, inv.payMethods) }), { width: textW });
      doc.fillColor('#1a4f9c').text(inv.payUrl, { width: textW, link: inv.payUrl, underline: true }).fillColor('black');
    }
    const endText = doc.y;
    if (qr) {
      const qx = left + width - 42 * MM;
      const cell = (42 * MM) / qr.size;
      doc.save().rect(qx, py, 42 * MM, 42 * MM).fill('white');
      for (const [row, col, len] of qr.runs) doc.rect(qx + col * cell, py + row * cell, len * cell, cell);
      doc.fill('black').restore();
      doc.fontSize(7.5).fillColor('#444').text(t('dues.pdf.girocode'), left + width - 42 * MM, py + 43 * MM, { width: 42 * MM, align: 'center' }).fillColor('black');
    }
    doc.y = Math.max(endText, qr ? py + 48 * MM : endText);
  }

  // Footer with the association's register and tax data
  const footer = [
    is.name,
    [is.registerCourt, is.registerNumber].filter(Boolean).join(' '),
    is.taxNumber ? `${t('dues.pdf.taxNumber')} ${is.taxNumber}` : '',
    is.iban ? `IBAN ${formatIban(is.iban)}` : '',
  ].filter(Boolean).join(' · ');
  const fy = doc.page.height - doc.page.margins.bottom - 8 * MM;
  if (doc.y < fy - 2 * MM) {
    doc.font('regular').fontSize(7).fillColor('#666').text(footer, left, fy, { width, align: 'center', lineBreak: true });
  }

  attachFacturX(doc, buildCii(eInvoiceOf(inv)), created); // h/einvoice
  doc.end();
  return done;
}

/**
 * Everything of an invoice its PDF is made from: two invoices with the same key give the same
 * bytes. Lets a caller render the PDF before its transaction and use it inside only if the
 * invoice it reads there is still the same (else it renders again).
 */
export function pdfKey(inv: Invoice): string {
  return JSON.stringify([
    inv.locale, inv.kind, inv.number, inv.issuer, inv.issueDate, inv.dueDate, inv.recipient, inv.contactName, inv.memberNumber, inv.cancelsNumber,
    inv.description, inv.periodStart, inv.periodEnd, inv.proRataNote, inv.amountCents, inv.taxNote, inv.payUrl, inv.payMethods,
    inv.lines ?? null, inv.einvoice ?? null, inv.cancelsIssueDate ?? null, // h/einvoice
  ]);
}

/** A PDF rendered ahead, for the invoice as it was then. */
export interface PreparedPdf {
  key: string;
  pdf: Buffer;
}

export async function preparePdf(inv: Invoice): Promise<PreparedPdf> {
  return { key: pdfKey(inv), pdf: await renderInvoicePdf(inv) };
}

/** The prepared PDF if it was made from this very invoice, else a fresh one. */
export async function pdfFor(inv: Invoice, prepared?: PreparedPdf | null): Promise<Buffer> {
  return prepared && prepared.key === pdfKey(inv) ? prepared.pdf : renderInvoicePdf(inv);
}
