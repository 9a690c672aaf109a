import type { Knex } from 'knex';
import { formatMemberNumber } from '../i18n/format.ts';
import type { Logger } from '../logger.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { ConflictError } from '../errors.ts';
import { TryAgainLater, type JobContext, type JobsService } from '../jobs/jobs.service.ts';
import type { MembersService } from '../members/members.service.ts';
import { GatewayError, type GatewayCustomerInput, type PaymentGateway } from '../stripe/gateway.ts';
import { billingContact } from './dues.service.ts';
import { customerOf, setCustomerHash } from './stripe.repository.ts';
import { STRIPE_ACTOR, StripeSyncService } from './stripe-sync.service.ts';

export const STRIPE_CUSTOMER_JOB = 'stripe_customer_update';
const keyOf = (organisationId: number) => `stripe-customer-${organisationId}`;

/** Waits between tries while Stripe is unreachable: 30 s, 1, 2, 4 … minutes, at most an hour; 12 tries (about 5 hours). */
export function retryDelayMs(attempt: number): number {
  return Math.min(30_000 * 2 ** attempt, 3_600_000);
}
const MAX_ATTEMPTS = 12;

export interface StripeCustomerDeps {
  db: Knex;
  log: Logger;
  audit: AuditService;
  jobs: JobsService;
  members: MembersService;
  gateway: PaymentGateway;
  stripe: StripeSyncService;
}

/**
 * h/money2: the Stripe customer follows the member's billing data at once. When a member that
 * already has a Stripe customer changes its name, address or VAT ID, or its billing contact
 * (e-mail, language, who it is), a job (key stripe-customer-<organisation>) is queued in the
 * same transaction and run after the commit; it sends what the register says then. While
 * Stripe is unreachable (5xx, 429, network) the job tries again later with a growing wait
 * (jobs.resumeStale picks it up), so the member's edit never waits for or fails on Stripe.
 * A refusal (4xx) fails the job; the next invoice push tries again (its own check of the
 * customer's data). With Stripe off nothing is queued.
 */
export class StripeCustomerUpdates {
  constructor(private readonly d: StripeCustomerDeps) {
    d.jobs.register(STRIPE_CUSTOMER_JOB, (jc) => this.handle(jc));
  }

  /** Inside the member edit's transaction: queues the update (once per member) if there is a customer; runs it after the commit. */
  async billingDataChanged(trx: Knex.Transaction, organisationId: number): Promise<void> {
    if (!this.d.gateway.enabled) return;
    if (!(await customerOf(trx, organisationId))) return;
    let jobId: number;
    try {
      // a savepoint: a second edit racing for the key must not break the member's transaction
      jobId = await trx.transaction(async (sp) => (await this.d.jobs.create(sp, {
        kind: STRIPE_CUSTOMER_JOB, uniqueKey: keyOf(organisationId), payload: { organisationId },
      })).job.id);
    } catch (e) {
      if (e instanceof ConflictError) return; // a run is under way; it reads the register again before it ends
      this.d.log.warn({ organisationId, err: e instanceof Error ? e.message : String(e) }, 'stripe customer update not queued');
      return;
    }
    void trx.executionPromise.then(() => this.d.jobs.executeInBackground(jobId), () => undefined);
  }

  /** What the customer at Stripe should say now: the register's name, address and VAT ID, the billing contact's e-mail and language. */
  private async wanted(organisationId: number): Promise<GatewayCustomerInput | null> {
    const [org, contacts] = await Promise.all([this.d.members.getIn(this.d.db, organisationId), this.d.members.contactsIn(this.d.db, organisationId)]);
    if (!org) return null;
    const contact = billingContact(contacts);
    return {
      organisationId,
      memberNumber: formatMemberNumber(org.memberNumber),
      name: org.legalName,
      email: contact?.email ?? '',
      address: { line1: org.street ?? '', postalCode: org.postcode ?? '', city: org.city ?? '', country: org.country || 'DE' },
      vatId: org.vatId || undefined,
      locale: contact?.locale ?? 'de',
      installationId: await this.d.stripe.installationId(),
    };
  }

  private async handle(jc: JobContext): Promise<Record<string, unknown>> {
    const organisationId = Number(jc.job.payload.organisationId);
    if (!this.d.gateway.enabled) return { skipped: 'stripe_off' };
    let sent = 0;
    // a change made while this ran is sent too (read again after each update)
    for (let round = 0; round < 3; round++) {
      const customer = await customerOf(this.d.db, organisationId);
      const input = await this.wanted(organisationId);
      if (!customer || !input) return { skipped: 'no_customer', sent };
      const hash = StripeSyncService.hashOf(input);
      if (customer.syncedHash === hash) return { sent };
      try {
        await this.d.gateway.updateCustomer(customer.customerId, input);
      } catch (e) {
        if (e instanceof GatewayError && e.retryable) throw new TryAgainLater(`Stripe: ${e.message}`, retryDelayMs(jc.job.attempts), MAX_ATTEMPTS);
        throw e;
      }
      await this.d.db.transaction(async (trx) => {
        await setCustomerHash(trx, organisationId, hash);
        await this.d.audit.record(trx, STRIPE_ACTOR, 'member.stripe_customer_updated', 'organisation', organisationId, undefined, { customerId: customer.customerId });
      });
      sent++;
    }
    return { sent };
  }
}
