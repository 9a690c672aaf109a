import type { Knex } from 'knex';
import type { Logger } from '../logger.ts';
import { TryAgainLater, type JobContext, type JobsService } from '../jobs/jobs.service.ts';
import { GatewayError, type PaymentGateway } from '../stripe/gateway.ts';
import { retryDelayMs } from './stripe-customer.job.ts';
import type { StripeSyncService } from './stripe-sync.service.ts';

export const STRIPE_DEBIT_JOB = 'stripe_debit_close';
const MAX_ATTEMPTS = 12;

/**
 * h/debit: when a direct-debit run collects Stripe-backed invoices, their Stripe invoices are
 * closed (voided) at once, so that a pay link mailed earlier takes no second payment beside
 * the debit. A job per run (key stripe-debit-close-<run>), queued in the run's transaction and
 * run after the commit; while Stripe is unreachable it tries again later (30 s doubling, up to
 * an hour, 12 tries), invoices already closed are skipped. A refusal for one invoice is logged
 * and left to reconcile, which closes what is still open.
 */
export class StripeDebitClosing {
  constructor(private readonly d: { log: Logger; jobs: JobsService; gateway: PaymentGateway; stripe: StripeSyncService }) {
    d.jobs.register(STRIPE_DEBIT_JOB, (jc) => this.handle(jc));
  }

  /** Inside the run's transaction: queues closing the Stripe invoices behind these invoices. */
  async runCreated(trx: Knex.Transaction, runId: number, invoiceIds: number[]): Promise<void> {
    if (!this.d.gateway.enabled || !invoiceIds.length) return;
    const { job } = await this.d.jobs.create(trx, { kind: STRIPE_DEBIT_JOB, uniqueKey: `stripe-debit-close-${runId}`, payload: { runId, invoiceIds }, total: invoiceIds.length });
    void trx.executionPromise.then(() => this.d.jobs.executeInBackground(job.id), () => undefined);
  }

  private async handle(jc: JobContext): Promise<Record<string, unknown>> {
    const ids = Array.isArray(jc.job.payload.invoiceIds) ? jc.job.payload.invoiceIds.map(Number).filter(Number.isSafeInteger) : [];
    let closed = 0;
    let paid = 0;
    let refused = 0;
    for (let i = 0; i < ids.length; i++) {
      try {
        const r = await this.d.stripe.closeForDebit(ids[i]);
        if (r === 'closed') closed++;
        if (r === 'paid') paid++;
      } catch (e) {
        if (e instanceof GatewayError && e.retryable) throw new TryAgainLater(`Stripe: ${e.message}`, retryDelayMs(jc.job.attempts), MAX_ATTEMPTS);
        refused++;
        this.d.log.warn({ invoiceId: ids[i], err: e instanceof Error ? e.message : String(e) }, 'stripe invoice not closed for a direct debit; reconcile tries again');
      }
      await jc.progress(i + 1, ids.length);
    }
    return { closed, paid, refused };
  }
}
