import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { berlinDate, iso, ZONE, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Logger } from '../logger.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { BylawsRules } from '../settings/settings.schemas.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import { emlFileName } from '../mail/transport.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { finishRun, insertRun, markInterrupted, recentRuns, runById, runOfDay } from './retention.repository.ts';
import type { RetentionRunRow, RetentionRunStatus, RetentionTrigger } from './retention.tables.ts';

/**
 * The retention run (GDPR Art. 5(1)(e), Art. 17): applies every retention period of the
 * settings, daily (RetentionTimer) or on demand (admin page, `retention:run`):
 *  - applications: unconfirmed ones `unconfirmedApplicationDays` after submission, rejected and
 *    withdrawn ones `applicationRetentionMonths` after the decision, deleted;
 *  - former members: their contacts' personal data `contactRetentionYears` after the exit,
 *    anonymised (one transaction per organisation, GdprService.anonymise);
 *  - mail bodies: body and attachments of sent mail after `mailBodyRetentionDays` (recipient,
 *    subject and date stay as the proof of sending), with the stored .eml file; invoice mails
 *    carry the invoice PDF as sent and stay `invoiceRetentionYears` after the end of their year;
 *  - audit details: the before/after values of audit entries after `auditDetailRetentionYears`
 *    (the entry stays); entries of the books (invoices, payments) 10 years after the end of
 *    their year (§ 147 AO).
 * Invoices, payments and their PDFs are never touched here. Every part works in small
 * transactions whose conditions select only what is still due, so a run interrupted by a
 * crash leaves nothing half done and the next run finishes the rest.
 */

export const RETENTION_KINDS = ['applications', 'formerMembers', 'mailBodies', 'auditDetails'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];
export type RetentionCounts = Record<RetentionKind, number>;

/** Books (§ 147 Abs. 3 AO): 10 years after the end of the calendar year. */
export const BOOKS_RETENTION_YEARS = 10;

export interface RetentionPlan {
  counts: RetentionCounts;
  /** the first instant (UTC ISO) from which data is kept, per kind */
  cutoffs: { applicationsDecided: string; applicationsUnconfirmed: string; formerMembersExitBefore: string; mail: string; invoiceMail: string; audit: string; books: string };
  rules: Pick<BylawsRules, 'applicationRetentionMonths' | 'unconfirmedApplicationDays' | 'contactRetentionYears' | 'mailBodyRetentionDays' | 'invoiceRetentionYears' | 'auditDetailRetentionYears'>;
}

export interface RetentionRun {
  id: number;
  trigger: RetentionTrigger;
  dryRun: boolean;
  status: RetentionRunStatus;
  counts: Partial<RetentionCounts>;
  error: string | null;
  actorLabel: string;
  startedAt: string;
  finishedAt: string | null;
}

interface Deps {
  db: Knex;
  clock: Clock;
  log: Logger;
  audit: AuditService;
  settings: SettingsService;
  outbox: Pick<Outbox, 'countBodiesPastRetention' | 'scrubBodiesPastRetention'>;
  applications: { expiredIds(): Promise<number[]>; purgeExpired(): Promise<{ deleted: number }> };
  gdpr: {
    anonymisationCandidates(): Promise<{ id: number }[]>;
    anonymise(actor: Actor, organisationIds: number[]): Promise<{ organisations: number }>;
  };
  /** where the file transport keeps .eml files */
  mailDir: string;
}

const SYSTEM: Actor = { userId: null, label: 'retention' };

function toRun(r: RetentionRunRow): RetentionRun {
  return {
    id: Number(r.id), trigger: r.trigger, dryRun: r.dry_run === true || r.dry_run === 1, status: r.status,
    counts: JSON.parse(r.counts) as Partial<RetentionCounts>, // why: written by this service from a RetentionCounts
    error: r.error, actorLabel: r.actor_label, startedAt: r.started_at, finishedAt: r.finished_at,
  };
}

export class RetentionService {
  constructor(private d: Deps) {}

  /** What a run now would do: counts per kind and the cutoffs (nothing is changed). */
  async plan(): Promise<RetentionPlan> {
    const rules = await this.d.settings.rules();
    const cutoffs = this.cutoffs(rules);
    const [applications, formerMembers, mailBodies, auditDetails] = await Promise.all([
      this.d.applications.expiredIds().then((ids) => ids.length),
      this.d.gdpr.anonymisationCandidates().then((c) => c.length),
      this.d.outbox.countBodiesPastRetention({ other: cutoffs.mail, invoices: cutoffs.invoiceMail }),
      this.d.audit.countDetailsPastRetention({ other: cutoffs.audit, books: cutoffs.books }),
    ]);
    return {
      counts: { applications, formerMembers, mailBodies, auditDetails }, cutoffs,
      rules: {
        applicationRetentionMonths: rules.applicationRetentionMonths, unconfirmedApplicationDays: rules.unconfirmedApplicationDays,
        contactRetentionYears: rules.contactRetentionYears, mailBodyRetentionDays: rules.mailBodyRetentionDays,
        invoiceRetentionYears: rules.invoiceRetentionYears, auditDetailRetentionYears: rules.auditDetailRetentionYears,
      },
    };
  }

  private cutoffs(rules: BylawsRules): RetentionPlan['cutoffs'] {
    const now = DateTime.fromJSDate(this.d.clock.now(), { zone: ZONE });
    const utc = (d: DateTime) => d.toUTC().toISO()!;
    const yearStart = (yearsBack: number) => now.startOf('year').minus({ years: yearsBack });
    return {
      applicationsDecided: utc(now.minus({ months: rules.applicationRetentionMonths })),
      applicationsUnconfirmed: utc(now.minus({ days: rules.unconfirmedApplicationDays })),
      formerMembersExitBefore: now.minus({ years: rules.contactRetentionYears }).toISODate()!,
      mail: utc(now.minus({ days: rules.mailBodyRetentionDays })),
      // an invoice mail of year Y is kept until the end of Y + invoiceRetentionYears
      invoiceMail: utc(yearStart(rules.invoiceRetentionYears)),
      audit: utc(now.minus({ years: rules.auditDetailRetentionYears })),
      books: utc(yearStart(BOOKS_RETENTION_YEARS)),
    };
  }

  async recent(limit = 20): Promise<RetentionRun[]> {
    return (await recentRuns(this.d.db, limit)).map(toRun);
  }

  /**
   * One run. A dry run only counts. `runDay` (the daily run) makes it the day's only run:
   * if another process has started it, returns undefined and does nothing.
   */
  async run(opts: { trigger: RetentionTrigger; dryRun?: boolean; actor?: Actor; runDay?: string }): Promise<RetentionRun | undefined> {
    const actor = opts.actor ?? SYSTEM;
    const dryRun = !!opts.dryRun;
    const startedAt = iso(this.d.clock.now());
    let id: number;
    try {
      id = await insertRun(this.d.db, {
        trigger: opts.trigger, dry_run: dryRun, run_day: opts.runDay ?? null, status: 'running', counts: '{}', actor_label: actor.label.slice(0, 200), started_at: startedAt,
      });
    } catch (err) {
      if (opts.runDay && isUniqueViolation(err)) return undefined;
      throw err;
    }
    const counts: Partial<RetentionCounts> = {};
    let status: RetentionRunStatus = 'done';
    let error: string | null = null;
    try {
      if (dryRun) Object.assign(counts, (await this.plan()).counts);
      else await this.apply(actor, counts);
    } catch (err) {
      status = 'failed';
      error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      this.d.log.error({ runId: id, err: error }, 'retention run failed');
    }
    await this.d.db.transaction(async (trx) => {
      await finishRun(trx, id, { status, counts: JSON.stringify(counts), finished_at: iso(this.d.clock.now()), error });
      await this.d.audit.record(trx, actor, dryRun ? 'retention.dry_run' : 'retention.run', 'retention_run', id, undefined, { trigger: opts.trigger, status, ...counts });
    });
    if (!dryRun) this.d.log.info({ runId: id, status, ...counts }, 'retention run');
    return toRun((await runById(this.d.db, id))!);
  }

  /** Does the work, kind by kind; `counts` grows as it goes (kept even if a later kind fails). */
  private async apply(actor: Actor, counts: Partial<RetentionCounts>): Promise<void> {
    const rules = await this.d.settings.rules();
    const cutoffs = this.cutoffs(rules);

    counts.applications = (await this.d.applications.purgeExpired()).deleted;

    counts.formerMembers = 0;
    for (const c of await this.d.gdpr.anonymisationCandidates()) {
      counts.formerMembers += (await this.d.gdpr.anonymise(actor, [c.id])).organisations; // one transaction each
    }

    counts.mailBodies = 0;
    for (;;) {
      const ids = await this.d.outbox.scrubBodiesPastRetention({ other: cutoffs.mail, invoices: cutoffs.invoiceMail });
      for (const messageId of ids) this.removeEml(messageId);
      counts.mailBodies += ids.length;
      if (!ids.length) break;
    }

    counts.auditDetails = 0;
    for (;;) {
      const n = await this.d.audit.emptyDetailsPastRetention({ other: cutoffs.audit, books: cutoffs.books });
      counts.auditDetails += n;
      if (!n) break;
    }
  }

  private removeEml(messageId: string): void {
    try {
      fs.unlinkSync(path.join(this.d.mailDir, emlFileName(messageId)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // why: fs errors carry a code
    }
  }

  /** The daily run, once per Berlin day from 03:00 on; returns the run, or undefined if not due or done elsewhere. */
  async runDailyIfDue(): Promise<RetentionRun | undefined> {
    const now = this.d.clock.now();
    const berlin = DateTime.fromJSDate(now, { zone: ZONE });
    // runs a process left 'running' more than an hour ago were cut off (a crash or a stop)
    await markInterrupted(this.d.db, iso(new Date(now.getTime() - 3_600_000)), iso(now));
    if (berlin.hour < 3) return undefined;
    const day = berlinDate(now);
    if (await runOfDay(this.d.db, day)) return undefined;
    return this.run({ trigger: 'daily', runDay: day });
  }
}

/**
 * Starts the daily retention run: checks at start and then every ten minutes whether today's
 * run (from 03:00 Europe/Berlin) has happened; several processes may check at once, the
 * day's unique run row lets only one of them run it.
 */
export class RetentionTimer {
  private timer?: NodeJS.Timeout;
  private running = false;
  constructor(private service: Pick<RetentionService, 'runDailyIfDue'>, private log: Logger, private intervalMs = 600_000) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async tick(): Promise<RetentionRun | undefined> {
    if (this.running) return undefined;
    this.running = true;
    try {
      return await this.service.runDailyIfDue();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'retention run could not start'); // why: errors thrown here are Errors (knex, ours)
      return undefined;
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
