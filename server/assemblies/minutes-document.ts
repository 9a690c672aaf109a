import type { TFunction } from 'i18next';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatDate, formatDateTime } from '../i18n/format.ts';
import type { AssociationSettings, BylawsRules } from '../settings/settings.schemas.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { Assembly } from './assemblies.model.ts';
import type { AgendaKind } from './assemblies.schemas.ts';
import type { MinutesAmendmentRow } from './assemblies.tables.ts';
import type { AssemblyService } from './assembly.service.ts';
import type { DayService } from './day.service.ts';
import type { DocumentsRepository } from './documents.repository.ts';
import { candidateVotes, describeElectionRule, describeOutcome, describeResult, describeRule, type Resolution, type ResolutionAmendment } from './results.ts';

/**
 * The minutes as one document: what the minutes PDF prints, the minutes mail summarises and the
 * results page shows as history. Read through here so the three never disagree.
 */

/** The fields of the minutes a correction can change. */
export const MINUTES_FIELDS = ['chair', 'minuteTaker', 'signedOn', 'body'] as const;
export type MinutesField = (typeof MINUTES_FIELDS)[number];
export type MinutesValues = Record<MinutesField, string>;

export interface MinutesAmendment {
  at: string;
  actor: string;
  reason: string;
  /** the fields changed, with their values before and after */
  changes: { field: MinutesField; before: string; after: string }[];
  sentAt: string | null;
}

export interface MinutesDocumentItem {
  /** announced after the bylaws' period (h/notice): its resolution is void */
  lateNotice: boolean;
  number: number;
  title: string;
  kind: AgendaKind;
  resolution?: Resolution;
  amendments: ResolutionAmendment[];
  /** h/evote: the item's electronic ballots in words (participation, check, who voted how when open), per language */
  ballotLines?: Record<Locale, string[]>;
}

export interface MinutesDocument {
  assembly: Assembly;
  association: AssociationSettings;
  rules: BylawsRules;
  values: MinutesValues;
  sentAt: string | null;
  /** members checked in at any time of the assembly, and the votes they held at most (own and by proxy) */
  attendance: { members: number; votingMembers: number };
  items: MinutesDocumentItem[];
  amendments: MinutesAmendment[];
}

export function minutesAmendmentFrom(row: MinutesAmendmentRow): MinutesAmendment {
  const before = JSON.parse(row.before_values) as Partial<MinutesValues>; // why: written by MinutesService.save from the changed fields
  const after = JSON.parse(row.after_values) as Partial<MinutesValues>; // why: as above
  return {
    at: row.created_at, actor: row.actor_label, reason: row.reason, sentAt: row.sent_at,
    changes: MINUTES_FIELDS.filter((f) => f in after).map((field) => ({ field, before: before[field] ?? '', after: after[field] ?? '' })),
  };
}

export interface MinutesDocumentDeps {
  settings: SettingsService;
  assemblies: AssemblyService;
  day: DayService;
  documents: DocumentsRepository;
  /** h/evote: the closed ballots in words (BallotsService) */
  ballots?: { minutesLines(assemblyId: number, t: TFunction): Promise<Map<number, string[]>> };
}

export async function loadMinutesDocument(d: MinutesDocumentDeps, assemblyId: number): Promise<MinutesDocument> {
  const [assembly, association, rules, agenda, resolutions, amendments, minutes, day, minutesAmendments] = await Promise.all([
    d.assemblies.get(assemblyId), d.settings.association(), d.settings.rules(), d.assemblies.agenda(assemblyId), d.day.resolutions(assemblyId),
    d.day.amendments(assemblyId), d.documents.minutes(assemblyId), d.day.overview(assemblyId), d.documents.minutesAmendments(assemblyId),
  ]);
  // h/evote: the ballots' lines in both languages (the mail goes out in each recipient's)
  const ballotDe = d.ballots ? await d.ballots.minutesLines(assemblyId, tFor('de')) : new Map<number, string[]>();
  const ballotEn = d.ballots ? await d.ballots.minutesLines(assemblyId, tFor('en')) : new Map<number, string[]>();
  const ballotLines = (id: number) => (ballotDe.has(id) ? { ballotLines: { de: ballotDe.get(id) ?? [], en: ballotEn.get(id) ?? [] } } : {});
  return {
    assembly, association, rules,
    values: {
      chair: minutes?.chair_name ?? '', minuteTaker: minutes?.minute_taker_name ?? '', signedOn: minutes?.signed_on ?? '', body: minutes?.body ?? '',
    },
    sentAt: minutes?.sent_at ?? null,
    attendance: { members: day.rows.filter((r) => r.checkedInAt).length, votingMembers: day.quorum.votingMembers },
    items: agenda.map((it, i) => ({ number: i + 1, title: it.title, kind: it.kind, resolution: resolutions.get(it.id), amendments: amendments.filter((a) => a.itemId === it.id), lateNotice: !!it.lateNotice, ...ballotLines(it.id) })),
    amendments: minutesAmendments.map(minutesAmendmentFrom),
  };
}

/** One result as the minutes say it: "TOP 3 Satzungsänderung: angenommen (Ja 9, …). Erforderliche Mehrheit: …. Ergebnis: …." */
export function resultLine(t: TFunction, locale: Locale, item: MinutesDocumentItem): string | undefined {
  const r = item.resolution;
  if (!r) return undefined;
  if (r.election) {
    // h/minutes: an election per candidate
    const b = r.election.ballot;
    const votes = t('elections.mail.line', { n: item.number, title: item.title, votes: candidateVotes(r), no: b.no, abstain: b.abstain, invalid: b.invalid });
    return `${votes} ${t('assemblies.mail.minutes.resolutionMajority', { rule: describeElectionRule(t, r.outcome.rule, r.election.rules), outcome: describeResult(t, locale, r) })}`;
  }
  const line = t('assemblies.mail.minutes.resolutionLine', { n: item.number, title: item.title, result: t(r.adopted ? 'assemblies.results.adopted' : 'assemblies.results.rejected'), yes: r.yes, no: r.no, abstain: r.abstain });
  const invalid = r.invalid ? ` ${t('assemblies.mail.minutes.resolutionInvalid', { invalid: r.invalid })}` : '';
  const majority = t('assemblies.mail.minutes.resolutionMajority', { rule: describeRule(t, r.outcome.rule), outcome: describeOutcome(t, locale, r.outcome) });
  return `${line}.${invalid} ${majority}`;
}

export function resultLines(locale: Locale, doc: MinutesDocument): string[] {
  const t = tFor(locale);
  return doc.items.flatMap((it) => {
    const line = resultLine(t, locale, it);
    if (!line) return [];
    const withBallots = it.ballotLines ? [line, ...it.ballotLines[locale]].join(' ') : line; // h/evote
    return [it.lateNotice ? `${withBallots} ${t('notice.minutesLine')}` : withBallots]; // h/notice: not announced in time
  });
}

/** A field's value as the minutes print it (a day in German format). */
export function fieldValue(field: MinutesField, value: string, locale: Locale): string {
  if (field === 'signedOn') return value ? formatDate(value, locale) : '–';
  if (field === 'body') return value.length > 80 ? `${value.slice(0, 77).replace(/\s+/g, ' ')}…` : value.replace(/\s+/g, ' ') || '–';
  return value || '–';
}

/** Every correction, oldest first: of the minutes' fields and of the results, in words. */
export function correctionLines(locale: Locale, doc: MinutesDocument, opts: { unsentOnly?: boolean } = {}): string[] {
  const t = tFor(locale);
  const out: { at: string; line: string }[] = [];
  for (const a of doc.amendments) {
    if (opts.unsentOnly && a.sentAt) continue;
    const changes = a.changes.map((c) => t('minutes.correction.change', { field: t(`minutes.fields.${c.field}`), before: fieldValue(c.field, c.before, locale), after: fieldValue(c.field, c.after, locale) })).join('; ');
    out.push({ at: a.at, line: t('minutes.correction.minutes', { at: formatDateTime(a.at, locale), actor: a.actor, changes, reason: a.reason }) });
  }
  for (const it of doc.items) {
    for (const a of it.amendments) {
      if (opts.unsentOnly && a.sentAt) continue;
      const counts = (v: Record<string, number>) => t('minutes.correction.counts', { yes: v.yes ?? 0, no: v.no ?? 0, abstain: v.abstain ?? 0, invalid: v.invalid ?? 0 });
      out.push({
        at: a.at,
        line: a.added
          ? t('minutes.correction.resultAdded', { at: formatDateTime(a.at, locale), actor: a.actor, n: it.number, title: it.title, after: counts(a.after), reason: a.reason })
          : t('minutes.correction.result', { at: formatDateTime(a.at, locale), actor: a.actor, n: it.number, title: it.title, before: counts(a.before), after: counts(a.after), reason: a.reason }),
      });
    }
  }
  return out.sort((a, b) => a.at.localeCompare(b.at)).map((x) => x.line);
}
