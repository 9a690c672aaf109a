import type { Knex } from 'knex';
import { z } from 'zod';
import { iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { MembersService, Organisation } from '../members/members.service.ts';
import { NotFoundError } from '../errors.ts';
import { newLinkToken, sha256 } from '../auth/tokens.ts';
import { isLocale, tFor, type Locale } from '../i18n/i18n.ts';
import { formatDateTime, formatMemberNumber } from '../i18n/format.ts';
import type { MailContent } from '../mail/render.ts';
import type { AssociationSettings, BylawsRules } from '../settings/settings.schemas.ts';
import { AssemblyRuleError, FieldRuleError, bool, type Invitation } from './assemblies.model.ts';
import { VOTING_KINDS, type VotingKind } from './majority.ts';
import { readBerlinTime } from './berlin-time.ts';
import { berlinDay, utcToBerlin } from './notice.ts';
import { describeRule } from './results.ts';
import type { LetterInput } from './letter-pdf.ts';
import { decideWritten, writtenRuleSchema, type WrittenOutcome, type WrittenRule } from './written-rule.ts';
import type { WrittenRepository } from './written.repository.ts';
import type { WrittenAnswer, WrittenBallotRow, WrittenResolutionRow, WrittenStatus, WrittenTokenRow } from './written.tables.ts';
import { dateField } from '../web/fields.ts'; // h/harden2

/**
 * Resolutions without an assembly (§ 32 Abs. 3 BGB, Umlaufbeschluss): the board writes the motion
 * and a deadline; on sending, every voting member of that day is put on the roll and gets a
 * personal link (by e-mail when its representative consented to invitations by e-mail, otherwise
 * in a printed letter); each member answers once, yes, no or abstain, in Textform (the declaring
 * person names themself, § 126b BGB; the member gets a receipt by e-mail). The rule (settings, kept
 * with the resolution when it is sent) decides the result; the board sees it live and records it
 * ("Ergebnis feststellen") once the deadline has passed or every member has answered, with the
 * evidence, and the members are told by e-mail.
 *
 * An answer cannot be changed: a declaration in Textform is binding once it has reached the
 * association (§ 130 Abs. 1 BGB: a revocation is effective only if it arrives before or together
 * with it). A second use of the link shows the answer recorded.
 */

export const writtenInputSchema = z.object({
  title: z.string().trim().min(3, 'common.validation.tooShort').max(200, 'common.validation.tooLong'),
  motionText: z.string().trim().min(3, 'common.validation.tooShort').max(20000, 'common.validation.tooLong'),
  kind: z.enum(VOTING_KINDS as [VotingKind, ...VotingKind[]], { message: 'common.validation.choice' }), // why: VOTING_KINDS is a non-empty constant list
  date: dateField({ earliestYear: 2000, yearsAhead: 2 }, 'written.errors.date'), // h/harden2: a real day, at most two years ahead
  time: z.string().trim().regex(/^\d{2}:\d{2}$/, 'written.errors.time'),
  timeOffset: z.enum(['summer', 'winter']).optional().or(z.literal('').transform(() => undefined)),
});
export type WrittenInput = z.infer<typeof writtenInputSchema>;

export const writtenAnswerSchema = z.object({
  answer: z.enum(['yes', 'no', 'abstain'], { message: 'written.errors.answer' }),
  name: z.string().trim().min(2, 'written.errors.name').max(200, 'common.validation.tooLong'),
});
export type WrittenAnswerInput = z.infer<typeof writtenAnswerSchema>;

export interface WrittenResolution {
  id: number;
  title: string;
  motionText: string;
  kind: VotingKind;
  deadlineAt: string;
  deadline: { date: string; time: string };
  status: WrittenStatus;
  rule: WrittenRule | null;
  adopted: boolean | null;
  evidence: WrittenEvidence | null;
  sentAt: string | null;
  decidedAt: string | null;
  createdAt: string;
}

export interface BallotView {
  id: number;
  organisationId: number;
  organisationName: string;
  memberNo: string;
  contactName: string;
  to: string;
  channel: 'email' | 'letter';
  answer: WrittenAnswer | null;
  answeredAt: string | null;
  answeredName: string | null;
  /** the link the answer came through: by mail to an address, or the letter */
  answeredVia: string | null;
  left: boolean;
}

/** What is kept with the recorded result: the roll, the counts, the rule, and who answered when. */
export interface WrittenEvidence {
  determinedAt: string;
  counts: { yes: number; no: number; abstain: number; open: number };
  outcome: Pick<WrittenOutcome, 'adopted' | 'reason' | 'roll' | 'answered' | 'participationRequired' | 'participationReached'>;
  ballots: { organisation: string; memberNo: string; answer: WrittenAnswer | null; answeredAt: string | null; answeredName: string | null; via: string | null; counted: boolean }[];
}

export type WrittenLinkProblem = 'unknown' | 'expired' | 'left' | 'decided';
export type ResolvedWrittenLink =
  | { ok: true; resolution: WrittenResolution; ballot: BallotView; token: WrittenTokenRow }
  | { ok: false; reason: WrittenLinkProblem; resolution?: WrittenResolution; ballot?: BallotView };

interface Deps {
  db: Knex;
  clock: Clock;
  config: Config;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  members: MembersService;
  repo: WrittenRepository;
}

function rowToResolution(r: WrittenResolutionRow): WrittenResolution {
  const rule = r.rule ? writtenRuleSchema.safeParse(JSON.parse(r.rule)) : undefined;
  const kind = VOTING_KINDS.find((k) => k === r.kind) ?? 'resolution';
  return {
    id: Number(r.id), title: r.title, motionText: r.motion_text, kind, deadlineAt: r.deadline_at, deadline: utcToBerlin(r.deadline_at), status: r.status,
    rule: rule?.success ? rule.data : null, adopted: r.adopted == null ? null : bool(r.adopted),
    evidence: r.result ? (JSON.parse(r.result) as WrittenEvidence) : null, // why: written by determine() below from a WrittenEvidence
    sentAt: r.sent_at, decidedAt: r.decided_at, createdAt: r.created_at,
  };
}

/** Whether the member had left on `day` (or is gone): it may no longer answer and is not counted. */
function leftOn(org: Organisation | undefined, day: string): boolean {
  if (!org) return true;
  return org.exitDate ? org.exitDate < day : org.status === 'former';
}

/** The rule as it applies now, from the settings (mode and participation) and the kind's majority. */
export function writtenRuleOf(rules: BylawsRules, kind: VotingKind): WrittenRule {
  return { mode: rules.writtenResolutionMode, minParticipationPercent: rules.writtenMinParticipationPercent, majority: rules.majorities[kind] };
}

/** The rule in words, for the board's pages, the mails and the letters. */
export function describeWrittenRule(t: ReturnType<typeof tFor>, rule: WrittenRule): string {
  if (rule.mode === 'all_consent') return t('written.rule.allConsent');
  return t('written.rule.majority', { majority: describeRule(t, rule.majority), percent: rule.minParticipationPercent });
}

export class WrittenResolutionsService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  async list(): Promise<WrittenResolution[]> {
    return (await this.d.repo.list()).map(rowToResolution);
  }

  async get(id: number, q: Knex | Knex.Transaction = this.d.db): Promise<WrittenResolution> {
    const r = await this.d.repo.row(id, q);
    if (!r) throw new NotFoundError();
    return rowToResolution(r);
  }

  private deadlineOf(input: WrittenInput): string {
    const t = readBerlinTime(input.date, input.time);
    if (t.kind === 'invalid') throw new FieldRuleError({ date: { code: 'date' } });
    if (t.kind === 'gap') throw new FieldRuleError({ time: { code: 'time_gap' } });
    if (t.kind === 'ambiguous' && !input.timeOffset) throw new FieldRuleError({ timeOffset: { code: 'time_ambiguous' } });
    const at = t.kind === 'ok' ? t.utc : input.timeOffset === 'summer' ? t.earlier : t.later;
    if (at <= this.now()) throw new FieldRuleError({ date: { code: 'deadline_past' } });
    return at;
  }

  /** A draft; refused (next to the field) with a deadline in the past, in the spring gap, or an autumn time without saying which. */
  async create(actor: Actor, input: WrittenInput): Promise<number> {
    const deadline = this.deadlineOf(input);
    return this.d.db.transaction(async (trx) => {
      const row = { title: input.title, motion_text: input.motionText, kind: input.kind, deadline_at: deadline, status: 'draft' as const, created_by: actor.userId, created_at: this.now(), updated_at: this.now() };
      const id = await this.d.repo.insert(trx, row);
      await this.d.audit.record(trx, actor, 'written.created', 'written_resolution', id, undefined, { title: row.title, kind: row.kind, deadlineAt: deadline, motionText: row.motion_text });
      return id;
    });
  }

  async update(actor: Actor, id: number, input: WrittenInput): Promise<void> {
    const deadline = this.deadlineOf(input);
    await this.d.db.transaction(async (trx) => {
      const before = await this.get(id, trx);
      const values = { title: input.title, motion_text: input.motionText, kind: input.kind, deadline_at: deadline, updated_at: this.now() };
      if (!(await this.d.repo.updateIf(trx, id, 'draft', values))) throw new AssemblyRuleError('written_not_draft');
      await this.d.audit.record(trx, actor, 'written.updated', 'written_resolution', id,
        { title: before.title, kind: before.kind, deadlineAt: before.deadlineAt, motionText: before.motionText }, { title: values.title, kind: values.kind, deadlineAt: deadline, motionText: values.motion_text });
    });
  }

  /**
   * Sends the resolution: puts every voting member of today on the roll, keeps the rule that
   * applies, and mails each member whose representative consented to e-mail its personal link
   * (the others get a letter, printed from the letters PDF). Refused after the deadline, without
   * voting members, or a second time.
   */
  async send(actor: Actor, id: number): Promise<{ email: number; letter: number }> {
    const [rules, association] = await Promise.all([this.d.settings.rules(), this.d.settings.association()]);
    return this.d.db.transaction(async (trx) => {
      const res = await this.get(id, trx);
      if (res.status !== 'draft') throw new AssemblyRuleError('written_not_draft');
      if (res.deadlineAt <= this.now()) throw new AssemblyRuleError('written_deadline_past');
      const rule = writtenRuleOf(rules, res.kind);
      if (!(await this.d.repo.updateIf(trx, id, 'draft', { status: 'sent', rule: JSON.stringify(rule), sent_at: this.now(), updated_at: this.now() }))) throw new AssemblyRuleError('written_not_draft');
      const roll = await this.d.members.votingMembersOn(berlinDay(this.d.clock.now()), trx);
      if (!roll.length) throw new AssemblyRuleError('written_no_members');
      const counts = { email: 0, letter: 0 };
      const sent = { ...res, rule, status: 'sent' as const };
      for (const o of roll) {
        const contacts = await this.d.members.contactsIn(trx, o.id);
        const reps = contacts.filter((c) => c.isRepresentative);
        const consenting = reps.find((c) => c.email && c.consentEmailInvitations);
        const rep = consenting ?? reps[0] ?? contacts[0];
        const locale: Locale = rep && isLocale(rep.locale) ? rep.locale : 'de';
        const channel = consenting ? 'email' : 'letter';
        const to = consenting ? consenting.email.toLowerCase() : '';
        const ballotId = await this.d.repo.insertBallot(trx, {
          resolution_id: id, organisation_id: o.id, organisation_name: o.legalName, member_number: o.memberNumber, contact_id: rep?.id ?? null,
          contact_name: rep?.name ?? '', to_address: to, locale,
          postal_address: [o.legalName, rep?.name, o.street, `${o.postcode} ${o.city}`.trim(), o.country && o.country !== 'DE' ? o.country : ''].filter(Boolean).join('\n'),
          channel, created_at: this.now(),
        });
        counts[channel]++;
        if (channel === 'email') {
          const link = await this.issueLink(trx, ballotId, 'mail', to);
          const mailId = await this.d.outbox.enqueue(trx, {
            template: 'written_resolution', locale, to, content: this.requestContent(sent, association, locale, rep?.name ?? '', o.legalName, link),
            related: { type: 'written_ballot', id: ballotId },
          });
          await this.d.repo.updateBallot(trx, ballotId, { mail_message_id: mailId });
        }
      }
      await this.d.audit.record(trx, actor, 'written.sent', 'written_resolution', id, { status: 'draft' }, { status: 'sent', rule, roll: roll.length, ...counts });
      return counts;
    });
  }

  private async issueLink(trx: Knex.Transaction, ballotId: number, purpose: 'mail' | 'letter', sentTo: string): Promise<string> {
    const { token, hash } = newLinkToken();
    await this.d.repo.insertToken(trx, { ballot_id: ballotId, token_hash: hash, purpose, sent_to: sentTo.slice(0, 300), created_at: this.now() });
    return `${this.d.config.baseUrl}/w/${token}`;
  }

  /** The request to answer, in the member's language (mail and letter). */
  requestContent(res: WrittenResolution, association: AssociationSettings, locale: Locale, contactName: string, organisation: string, link: string): MailContent {
    const t = tFor(locale);
    const deadline = formatDateTime(res.deadlineAt, locale);
    return {
      subject: t('written.mail.subject', { title: res.title, deadline }),
      greeting: contactName ? t('written.mail.greeting', { name: contactName }) : t('written.mail.greetingPlain'),
      paragraphs: [
        t('written.mail.intro', { association: association.name, organisation }),
        t('written.mail.kind', { kind: t(`assemblies.agendaKinds.${res.kind}`) }),
        res.rule ? describeWrittenRule(t, res.rule) : '',
        t('written.mail.deadline', { deadline }),
      ].filter(Boolean),
      quote: `${res.title}\n\n${res.motionText}`,
      action: { label: t('written.mail.action'), url: link },
      afterAction: [t('written.mail.once', { organisation })],
      signature: association.name,
      footer: t('written.mail.footer'),
    };
  }

  /* ---------------------------------------------------------------- letters */

  /**
   * The letters for the members without consent to e-mail: each print issues fresh personal links
   * (earlier ones stay valid); members who have answered are left out.
   */
  async prepareLetters(actor: Actor, id: number): Promise<LetterInput[]> {
    const association = await this.d.settings.association();
    return this.d.db.transaction(async (trx) => {
      const res = await this.get(id, trx);
      if (res.status !== 'sent') throw new AssemblyRuleError('written_not_sent');
      if (res.deadlineAt <= this.now()) throw new AssemblyRuleError('written_deadline_past');
      const ballots = (await this.d.repo.ballots(id, trx)).filter((b) => b.channel === 'letter' && !b.answer);
      const out: LetterInput[] = [];
      for (const b of ballots) {
        const locale: Locale = isLocale(b.locale) ? b.locale : 'de';
        const link = await this.issueLink(trx, Number(b.id), 'letter', `${b.contact_name || b.organisation_name} (${tFor(locale)('written.letter.post')})`);
        out.push({
          invitation: letterAddressee(b, locale),
          link, content: this.requestContent(res, association, locale, b.contact_name, b.organisation_name, link),
          howToAnswer: tFor(locale)('written.letter.howToAnswer'),
        });
      }
      await this.d.audit.record(trx, actor, 'written.letters_printed', 'written_resolution', id, undefined, { count: out.length });
      return out;
    });
  }

  /* ---------------------------------------------------------------- the member's link */

  /** Resolves a personal link; nothing is changed. */
  async resolveLink(token: string): Promise<ResolvedWrittenLink> {
    if (typeof token !== 'string' || token.length < 40 || token.length > 60) return { ok: false, reason: 'unknown' };
    const tok = await this.d.repo.tokenByHash(sha256(token));
    if (!tok) return { ok: false, reason: 'unknown' };
    return this.check(tok);
  }

  private async check(tok: WrittenTokenRow, q: Knex | Knex.Transaction = this.d.db): Promise<ResolvedWrittenLink> {
    const b = await this.d.repo.ballot(q, Number(tok.ballot_id));
    if (!b) return { ok: false, reason: 'unknown' };
    const resolution = await this.get(Number(b.resolution_id), q);
    const org = await this.d.members.getIn(q, Number(b.organisation_id));
    const ballot = this.ballotView(b, new Map([[Number(tok.id), tok]]), leftOn(org, berlinDay(this.d.clock.now())));
    if (ballot.left) return { ok: false, reason: 'left', resolution };
    if (resolution.status === 'decided') return { ok: false, reason: 'decided', resolution, ballot };
    if (resolution.deadlineAt <= this.now()) return { ok: false, reason: 'expired', resolution, ballot };
    return { ok: true, resolution, ballot, token: tok };
  }

  /** Records the member's answer through its link; refused once answered, after the deadline, or for a member who left. */
  async answer(token: string, input: WrittenAnswerInput): Promise<void> {
    const tok = typeof token === 'string' && token.length >= 40 && token.length <= 60 ? await this.d.repo.tokenByHash(sha256(token)) : undefined;
    if (!tok) throw new AssemblyRuleError('written_link_unknown');
    const association = await this.d.settings.association();
    await this.d.db.transaction(async (trx) => {
      const r = await this.check(tok, trx);
      if (!r.ok) throw new AssemblyRuleError(`written_link_${r.reason}`);
      if (r.ballot.answer) throw new AssemblyRuleError('written_already_answered');
      const at = this.now();
      if (!(await this.d.repo.answer(trx, r.ballot.id, { answer: input.answer, answered_at: at, answered_name: input.name, answered_token_id: Number(tok.id) }))) {
        throw new AssemblyRuleError('written_already_answered');
      }
      const actor = { userId: null, label: `link: ${r.ballot.organisationName}`.slice(0, 200) };
      await this.d.audit.record(trx, actor, 'written.answered', 'written_resolution', r.resolution.id, undefined, {
        organisationId: r.ballot.organisationId, answer: input.answer, name: input.name, via: tok.purpose, sentTo: tok.sent_to, at,
      });
      if (r.ballot.to) {
        const b = await this.d.repo.ballot(trx, r.ballot.id);
        const locale: Locale = b && isLocale(b.locale) ? b.locale : 'de';
        const t = tFor(locale);
        await this.d.outbox.enqueue(trx, {
          template: 'written_receipt', locale, to: r.ballot.to,
          content: {
            subject: t('written.receipt.subject', { title: r.resolution.title }),
            greeting: t('written.mail.greetingPlain'),
            paragraphs: [t('written.receipt.text', { organisation: r.ballot.organisationName, name: input.name, at: formatDateTime(at, locale), answer: t(`written.answers.${input.answer}`) }), t('written.receipt.final')],
            quote: `${r.resolution.title}\n\n${r.resolution.motionText}`,
            signature: association.name,
          },
          related: { type: 'written_ballot', id: r.ballot.id },
        });
      }
    });
  }

  /* ---------------------------------------------------------------- the board's view and the result */

  private ballotView(b: WrittenBallotRow, tokens: Map<number, WrittenTokenRow>, left: boolean): BallotView {
    const tok = b.answered_token_id == null ? undefined : tokens.get(Number(b.answered_token_id));
    return {
      id: Number(b.id), organisationId: Number(b.organisation_id), organisationName: b.organisation_name, memberNo: formatMemberNumber(Number(b.member_number)),
      contactName: b.contact_name, to: b.to_address, channel: b.channel, answer: b.answer ?? null, answeredAt: b.answered_at, answeredName: b.answered_name,
      answeredVia: tok ? `${tok.purpose}: ${tok.sent_to}` : null, left,
    };
  }

  /** The ballots with who answered what, when and through which link, and who has left (on `day`). */
  private async ballotsOf(id: number, day: string, q: Knex | Knex.Transaction = this.d.db): Promise<BallotView[]> {
    const rows = await this.d.repo.ballots(id, q);
    const tokens = await this.d.repo.tokens(rows.map((r) => Number(r.answered_token_id)).filter((n) => n > 0), q);
    const ids = rows.map((r) => Number(r.organisation_id));
    // inside a transaction every read goes through it (one connection on SQLite)
    let list: Organisation[];
    if (q === this.d.db) list = await this.d.members.getMany(ids);
    else {
      list = [];
      for (const oid of ids) { // one after another: a transaction's connection runs one query at a time
        const o = await this.d.members.getIn(q, oid);
        if (o) list.push(o);
      }
    }
    const orgs = new Map(list.map((o) => [o.id, o]));
    return rows.map((r) => this.ballotView(r, tokens, leftOn(orgs.get(Number(r.organisation_id)), day)));
  }

  /** The outcome by the resolution's rule: members who left are off the roll, their answers not counted. */
  private outcomeOf(rule: WrittenRule, ballots: BallotView[]): { outcome: WrittenOutcome; counts: { yes: number; no: number; abstain: number; open: number } } {
    const counted = ballots.filter((b) => !b.left);
    const counts = {
      yes: counted.filter((b) => b.answer === 'yes').length, no: counted.filter((b) => b.answer === 'no').length,
      abstain: counted.filter((b) => b.answer === 'abstain').length, open: counted.filter((b) => !b.answer).length,
    };
    return { outcome: decideWritten(rule, counts), counts };
  }

  /** The day membership is judged on: the deadline's day once it has passed, today before. */
  private judgingDay(res: WrittenResolution): string {
    const now = this.now();
    return berlinDay(res.deadlineAt < now ? res.deadlineAt : now);
  }

  /** Everything the board's page shows: the resolution, the answers, the live outcome, and what may be done. */
  async view(id: number) {
    const res = await this.get(id);
    const rules = await this.d.settings.rules();
    const rule = res.rule ?? writtenRuleOf(rules, res.kind);
    const ballots = res.status === 'draft' ? [] : await this.ballotsOf(id, this.judgingDay(res));
    const live = this.outcomeOf(rule, ballots);
    // a recorded result is shown as it was recorded (its evidence), not recomputed
    const outcome = res.evidence ? { ...live.outcome, ...res.evidence.outcome } : live.outcome;
    const counts = res.evidence ? res.evidence.counts : live.counts;
    const past = res.deadlineAt <= this.now();
    return {
      resolution: res, rule, ballots, outcome, counts, past,
      letters: ballots.filter((b) => b.channel === 'letter').length,
      flags: {
        canEdit: res.status === 'draft',
        canSend: res.status === 'draft' && !past,
        canPrintLetters: res.status === 'sent' && !past && ballots.some((b) => b.channel === 'letter' && !b.answer),
        canDetermine: res.status === 'sent' && (past || counts.open === 0),
        canPrintResultLetters: res.status === 'decided' && ballots.some((b) => b.channel === 'letter' && !b.left),
      },
      resultLetters: res.status === 'decided' ? ballots.filter((b) => b.channel === 'letter' && !b.left).length : 0,
    };
  }

  /**
   * Records the result ("Ergebnis feststellen") once the deadline has passed or every member on the
   * roll has answered (then no answer can change it), with the evidence, and mails it to every
   * member asked by e-mail. The result is computed from the answers by the rule kept when it was
   * sent, so the same answers always give the same result.
   */
  async determine(actor: Actor, id: number): Promise<{ adopted: boolean }> {
    const association = await this.d.settings.association();
    return this.d.db.transaction(async (trx) => {
      const res = await this.get(id, trx);
      if (res.status === 'decided') throw new AssemblyRuleError('written_decided');
      if (res.status !== 'sent' || !res.rule) throw new AssemblyRuleError('written_not_sent');
      const ballots = await this.ballotsOf(id, this.judgingDay(res), trx);
      const { outcome, counts } = this.outcomeOf(res.rule, ballots);
      if (res.deadlineAt > this.now() && counts.open > 0) throw new AssemblyRuleError('written_not_yet', { open: counts.open });
      const evidence: WrittenEvidence = {
        determinedAt: this.now(), counts,
        outcome: { adopted: outcome.adopted, reason: outcome.reason, roll: outcome.roll, answered: outcome.answered, participationRequired: outcome.participationRequired, participationReached: outcome.participationReached },
        ballots: ballots.map((b) => ({ organisation: b.organisationName, memberNo: b.memberNo, answer: b.answer, answeredAt: b.answeredAt, answeredName: b.answeredName, via: b.answeredVia, counted: !b.left })),
      };
      if (!(await this.d.repo.updateIf(trx, id, 'sent', { status: 'decided', adopted: outcome.adopted, result: JSON.stringify(evidence), decided_at: this.now(), updated_at: this.now() }))) {
        throw new AssemblyRuleError('written_decided');
      }
      const decided = { ...res, status: 'decided' as const, adopted: outcome.adopted, evidence };
      let mails = 0;
      for (const b of ballots) {
        if (!b.to || b.left) continue;
        const row = await this.d.repo.ballot(trx, b.id);
        const locale: Locale = row && isLocale(row.locale) ? row.locale : 'de';
        const mailId = await this.d.outbox.enqueue(trx, {
          template: 'written_result', locale, to: b.to, content: this.resultContent(decided, outcome, counts, association, locale), related: { type: 'written_ballot', id: b.id },
        });
        await this.d.repo.updateBallot(trx, b.id, { result_mail_id: mailId });
        mails++;
      }
      await this.d.audit.record(trx, actor, 'written.decided', 'written_resolution', id, { status: 'sent' }, { status: 'decided', adopted: outcome.adopted, reason: outcome.reason, ...counts, mails });
      return { adopted: outcome.adopted };
    });
  }

  /**
   * The result letters for the members asked by letter (no consent to e-mail): the same text as the
   * result mail, in the member's language, from the recorded evidence (so a reprint says the same).
   * Members who had left on the judging day get none, as they get no mail.
   */
  async prepareResultLetters(actor: Actor, id: number): Promise<LetterInput[]> {
    const association = await this.d.settings.association();
    return this.d.db.transaction(async (trx) => {
      const res = await this.get(id, trx);
      if (res.status !== 'decided' || !res.evidence) throw new AssemblyRuleError('written_not_decided');
      const evidence = res.evidence;
      const ballots = (await this.ballotsOf(id, this.judgingDay(res), trx)).filter((b) => b.channel === 'letter' && !b.left);
      const out: LetterInput[] = [];
      for (const b of ballots) {
        const row = await this.d.repo.ballot(trx, b.id);
        if (!row) continue;
        const locale: Locale = isLocale(row.locale) ? row.locale : 'de';
        out.push({ invitation: letterAddressee(row, locale), link: '', content: this.resultContent(res, evidence.outcome, evidence.counts, association, locale) });
      }
      await this.d.audit.record(trx, actor, 'written.result_letters_printed', 'written_resolution', id, undefined, { count: out.length });
      return out;
    });
  }

  /** The outcome in words: "angenommen: 5 von 5 Mitgliedern haben zugestimmt". */
  describeOutcome(t: ReturnType<typeof tFor>, outcome: WrittenEvidence['outcome'], counts: { yes: number; no: number; abstain: number; open: number }): string {
    return t(`written.outcome.${outcome.reason}`, { ...counts, roll: outcome.roll, answered: outcome.answered, required: outcome.participationRequired });
  }

  private resultContent(res: WrittenResolution, outcome: WrittenEvidence['outcome'], counts: { yes: number; no: number; abstain: number; open: number }, association: AssociationSettings, locale: Locale): MailContent {
    const t = tFor(locale);
    return {
      subject: t(outcome.adopted ? 'written.resultMail.subjectAdopted' : 'written.resultMail.subjectRejected', { title: res.title }),
      greeting: t('written.mail.greetingPlain'),
      paragraphs: [
        t('written.resultMail.intro', { deadline: formatDateTime(res.deadlineAt, locale) }),
        `${t(outcome.adopted ? 'written.result.adopted' : 'written.result.rejected')}: ${this.describeOutcome(t, outcome, counts)}`,
        t('written.resultMail.counts', counts),
        res.rule ? describeWrittenRule(t, res.rule) : '',
      ].filter(Boolean),
      quote: `${res.title}\n\n${res.motionText}`,
      signature: association.name,
    };
  }
}

/** A ballot as the letter PDF's addressee (the PDF reads name, number, address and language of an invitation). */
function letterAddressee(b: WrittenBallotRow, locale: Locale): Invitation {
  return {
    id: Number(b.id), assemblyId: 0, organisationId: Number(b.organisation_id), organisationName: b.organisation_name, memberNumber: Number(b.member_number),
    memberNo: formatMemberNumber(Number(b.member_number)), contactName: b.contact_name, to: '', cc: [], locale, postalAddress: b.postal_address,
    channel: 'letter', status: 'letter', mailMessageId: null, enqueuedAt: null, hasVote: true, letterReason: '',
  };
}
