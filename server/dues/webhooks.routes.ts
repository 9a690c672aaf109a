import express, { type Request, type Response, type Router } from 'express';
import type { Context } from '../context.ts';
import { GatewayError, WebhookPayloadError, WebhookSignatureError, type GatewayEvent } from '../stripe/gateway.ts';
import { RetryLaterError } from './stripe-sync.service.ts';

/**
 * POST /webhooks/stripe, mounted before the body parsers, sessions and CSRF: the signature is
 * computed over the raw body. 400 without body or signature header, 401 on a bad signature
 * (nothing stored), each event stored once by id (a replay of a handled event is answered 200
 * and changes nothing), 200 for events we ignore or that are not ours, 503 when it is ours
 * but cannot be handled yet (Stripe retries with backoff for up to three days).
 */
export function stripeWebhookRouter(ctx: Context): Router {
  const router = express.Router();
  const sync = ctx.stripe;

  router.post('/webhooks/stripe', express.raw({ type: 'application/json', limit: '1mb' }), async (req: Request, res: Response) => {
    const body = req.body as unknown; // why: widening only (express types the body as any)
    const signature = req.get('stripe-signature');
    if (!Buffer.isBuffer(body) || body.length === 0) return void res.status(400).json({ error: 'missing_body' });
    if (!signature) return void res.status(400).json({ error: 'missing_signature' });
    if (!ctx.gateway.enabled) return void res.status(404).json({ error: 'stripe_disabled' });

    let event: GatewayEvent;
    try {
      event = ctx.gateway.verifyWebhook(body, signature);
    } catch (e) {
      if (e instanceof WebhookSignatureError) {
        ctx.log.warn({ reqId: req.id }, 'stripe webhook with a bad signature');
        return void res.status(401).json({ error: 'bad_signature' });
      }
      if (e instanceof WebhookPayloadError) return void res.status(400).json({ error: 'not_an_event' }); // h/harden
      throw e;
    }

    try {
      const r = await sync.receiveEvent(event);
      if (r.duplicate) return void res.status(200).json({ received: true, duplicate: true });
      if (r.outcome === 'not_ours') ctx.log.info({ eventId: event.id, type: event.type }, 'stripe event for an invoice that is not ours');
      res.status(200).json({ received: true, outcome: r.outcome });
    } catch (e) {
      const retryLater = e instanceof RetryLaterError || (e instanceof GatewayError && e.retryable);
      ctx.log[retryLater ? 'warn' : 'error']({ eventId: event.id, type: event.type, err: e instanceof Error ? e.message : String(e) }, 'stripe event not handled; Stripe will retry');
      res.status(retryLater ? 503 : 500).json({ error: retryLater ? 'retry_later' : 'handler_failed' });
    }
  });

  return router;
}
