// Longer than 400 lines: the outcome of a send (sent, permanent, dead, retry, skipped) is one fenced
// transaction per branch over the same row; claiming, sending and metrics live in their own modules.
/**
 * The delivery worker: sends pending deliveries through their channel's provider.
 *
 * Claim: a short transaction marks due rows `sending` (`FOR UPDATE SKIP LOCKED`, so replicas never
 * take the same row), counts the attempt and sets a lease; the provider call happens outside any
 * transaction. A replica that dies mid-send leaves a `sending` row whose lease runs out and which
 * another replica takes over. Outcome: one transaction, fenced on (status, attempts) so a replica
 * that lost its lease cannot overwrite the new owner's result; it records the attempt, then
 * - sent: provider and its message id (and the dev outbox copy outside production);
 * - permanent failure (bad address): failed at once, never retried, delivery.failed published;
 * - transient failure: retried with full-jitter backoff (or the provider's Retry-After), and after
 *   the last attempt marked dead, dead-lettered (listed and replayable) and delivery.failed published.
 * Per-provider rate caps: a token bucket per channel bounds how many rows a tick may claim.
 * SMS go only to the user's verified number (the phone verification code SMS excepted): any other SMS
 * row is marked `skipped` with the reason and never reaches the provider, however it was queued
 * (an event, an admin resend, a number changed since).
 */
import { enqueueEvent, storeDeadLetter } from '@wallet/platform';
import type { Logger, ServiceMetrics } from '@wallet/service-kit';
import { sql, type Kysely, type Transaction } from 'kysely';
import { CHANNELS, type Channel } from '../domain/preferences.ts';
import { TokenBucket } from '../domain/rate-limit.ts';
import { retryDelayMs } from '../domain/retry.ts';
import { forgetPushToken } from '../db/recipients.ts';
import {
  PHONE_VERIFICATION_TEMPLATE,
  SKIPPED_UNVERIFIED_PHONE,
  phoneVerifiedFor,
} from '../db/phone-verifications.ts';
import type { NotificationDatabase } from '../db/schema.ts';
import { claimDeliveries, type DeliveryRow } from '../db/deliveries.ts';
import { workerMetrics } from './metrics.ts';
import { createMessageSender } from './message.ts';
import type { ProviderSet } from '../providers/index.ts';
import type { OutgoingMessage, ProviderError } from '../providers/types.ts';
import type { TemplateRenderer } from '../templates/renderer.ts';
import type { OneTimeCodeSource } from './one-time-codes.ts';

/** Dead deliveries are stored as dead letters under these topics (one per channel). */
export const DELIVERY_DEAD_LETTER_TOPIC_PREFIX = 'notification.deliveries.';
export const DELIVERY_DEAD_LETTER_TYPE = 'wallet.notification.delivery.dead.v1';

const MAX_ERROR = 1_000;

export interface DeliveryWorkerOptions {
  db: Kysely<NotificationDatabase>;
  providers: ProviderSet;
  /** Renders code messages at send time (the code is filled in then). */
  renderer: TemplateRenderer;
  /** Where the one-time code of a code message comes from at send time (identity). */
  codes: OneTimeCodeSource;
  /** Where the code of a phone verification SMS comes from (minted here, only its hash kept). */
  phoneCodes: OneTimeCodeSource;
  logger: Logger;
  metrics: ServiceMetrics;
  devOutbox: boolean;
  batchSize: number;
  pollIntervalMs: number;
  leaseMs: number;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  ratePerSecond: Record<Channel, number>;
}

export interface DeliveryWorker {
  name: string;
  start(): void;
  stop(): Promise<void>;
  /** Look for work now instead of at the next poll. */
  wake(): void;
  /** One pass over every channel; resolves with the number of deliveries handled. */
  runOnce(): Promise<number>;
}

function truncate(text: string): string {
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR)}...` : text;
}

function deadLetterEnvelope(row: DeliveryRow, lastError: string) {
  return {
    specversion: '1.0' as const,
    id: row.id,
    source: 'notification',
    type: DELIVERY_DEAD_LETTER_TYPE,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    topic: `${DELIVERY_DEAD_LETTER_TOPIC_PREFIX}${row.channel}`,
    // No address or body here: dead letters are listed to support staff.
    data: {
      deliveryId: row.id,
      userId: row.user_id,
      channel: row.channel,
      template: row.template,
      eventId: row.event_id,
      lastError,
    },
  };
}

/** One-time codes are not kept once a delivery is final (sent or failed for good). */
function scrubbed(row: DeliveryRow): { body_text?: string; body_html?: null } {
  return row.sensitive ? { body_text: '', body_html: null } : {};
}

export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { db, providers, logger } = options;
  const metrics = workerMetrics(options.metrics, db);
  const buckets = new Map<Channel, TokenBucket>(
    CHANNELS.map((c) => [c, new TokenBucket(options.ratePerSecond[c])]),
  );
  const inFlight = new Set<Promise<void>>();
  const sendOnce = createMessageSender(options);

  async function recordOutcome(
    row: DeliveryRow,
    providerName: string,
    durationMs: number,
    result: { ok: true; providerMessageId: string } | { ok: false; error: ProviderError },
    sent: OutgoingMessage | null,
  ): Promise<void> {
    await db.transaction().execute(async (trx: Transaction<NotificationDatabase>) => {
      await trx
        .insertInto('delivery_attempts')
        .values({
          delivery_id: row.id,
          attempt: row.attempts,
          provider: providerName,
          outcome: result.ok ? 'sent' : result.error.kind,
          provider_message_id: result.ok ? result.providerMessageId : null,
          error: result.ok ? null : truncate(result.error.message),
          duration_ms: Math.round(durationMs),
        })
        .execute();
      const fenced = trx
        .updateTable('deliveries')
        .where('id', '=', row.id)
        .where('status', '=', 'sending')
        .where('attempts', '=', row.attempts);

      if (result.ok) {
        const updated = await fenced
          .set({
            status: 'sent',
            provider: providerName,
            provider_message_id: result.providerMessageId,
            sent_at: sql<Date>`now()`,
            updated_at: sql<Date>`now()`,
            lease_until: null,
            last_error: null,
            ...scrubbed(row),
          })
          .returning('id')
          .executeTakeFirst();
        if (!updated) return lostLease(row);
        if (options.devOutbox && sent) {
          await trx
            .insertInto('dev_outbox')
            .values({
              // What the recipient got: for a code message, rendered at send time with the code.
              delivery_id: row.id,
              to: row.recipient,
              channel: row.channel,
              subject: sent.subject,
              body: sent.text,
            })
            .onConflict((oc) => oc.column('delivery_id').doNothing())
            .execute();
        }
        return;
      }

      const error = result.error;
      const lastError = truncate(error.message);
      if (error.kind === 'permanent') {
        const updated = await fenced
          .set({
            status: 'failed',
            provider: providerName,
            last_error: lastError,
            lease_until: null,
            updated_at: sql<Date>`now()`,
            ...scrubbed(row),
          })
          .returning('id')
          .executeTakeFirst();
        if (!updated) return lostLease(row);
        if (error.addressGone && row.channel === 'push' && row.user_id)
          await forgetPushToken(trx, row.user_id, row.recipient);
        await publishFailure(trx, row, lastError, true);
        logger.warn(
          { deliveryId: row.id, channel: row.channel, template: row.template, err: lastError },
          'delivery failed permanently',
        );
        return;
      }

      if (row.attempts >= row.max_attempts) {
        const updated = await fenced
          .set({
            status: 'dead',
            provider: providerName,
            last_error: lastError,
            lease_until: null,
            updated_at: sql<Date>`now()`,
          })
          .returning('id')
          .executeTakeFirst();
        if (!updated) return lostLease(row);
        await storeDeadLetter<NotificationDatabase>(trx, {
          origin: 'outbox',
          consumer: 'notification',
          topic: `${DELIVERY_DEAD_LETTER_TOPIC_PREFIX}${row.channel}`,
          event: deadLetterEnvelope(row, lastError),
          lastError,
          attempts: row.attempts,
        });
        await publishFailure(trx, row, lastError, false);
        logger.error(
          { deliveryId: row.id, channel: row.channel, attempts: row.attempts, err: lastError },
          'delivery dead after its last attempt',
        );
        return;
      }

      const backoff = retryDelayMs(row.attempts, options.retryBaseMs, options.retryMaxMs);
      const delayMs = Math.max(backoff, error.retryAfterMs ?? 0);
      const updated = await fenced
        .set({
          status: 'pending',
          provider: providerName,
          last_error: lastError,
          lease_until: null,
          next_attempt_at: sql<Date>`clock_timestamp() + ${delayMs} * interval '1 millisecond'`,
          updated_at: sql<Date>`now()`,
        })
        .returning('id')
        .executeTakeFirst();
      if (!updated) return lostLease(row);
      logger.warn(
        { deliveryId: row.id, channel: row.channel, attempt: row.attempts, delayMs, err: lastError },
        'delivery failed; will retry',
      );
    });
  }

  function lostLease(row: DeliveryRow): void {
    logger.warn(
      { deliveryId: row.id, attempt: row.attempts },
      'delivery lease lost to another worker; outcome not recorded',
    );
  }

  async function publishFailure(
    trx: Transaction<NotificationDatabase>,
    row: DeliveryRow,
    error: string,
    permanent: boolean,
  ): Promise<void> {
    await enqueueEvent(trx, {
      name: 'deliveryFailed',
      data: {
        deliveryId: row.id,
        userId: row.user_id,
        channel: row.channel,
        template: row.template,
        error,
        permanent,
      },
      ...(row.user_id ? { partitionKey: row.user_id } : {}),
    });
  }

  /** May this row go out at all? Only the code SMS may reach a number its owner has not proved. */
  async function mayReachRecipient(row: DeliveryRow): Promise<boolean> {
    if (row.channel !== 'sms' || row.template === PHONE_VERIFICATION_TEMPLATE) return true;
    return row.user_id !== null && (await phoneVerifiedFor(db, row.user_id, row.recipient));
  }

  async function recordSkipped(row: DeliveryRow, reason: string): Promise<void> {
    const updated = await db
      .updateTable('deliveries')
      .where('id', '=', row.id)
      .where('status', '=', 'sending')
      .where('attempts', '=', row.attempts)
      .set({
        status: 'skipped',
        last_error: reason,
        lease_until: null,
        updated_at: sql<Date>`now()`,
        ...scrubbed(row),
      })
      .returning('id')
      .executeTakeFirst();
    if (!updated) return lostLease(row);
    logger.info(
      { deliveryId: row.id, channel: row.channel, template: row.template, reason },
      'delivery skipped',
    );
  }

  async function deliver(row: DeliveryRow): Promise<void> {
    const provider = providers[row.channel];
    if (!provider) return; // claimDeliveries only runs for configured channels
    if (!(await mayReachRecipient(row))) return recordSkipped(row, SKIPPED_UNVERIFIED_PHONE);
    const started = performance.now();
    const { result, message } = await sendOnce(row, provider);
    const elapsed = performance.now() - started;
    metrics.duration.observe({ channel: row.channel, provider: provider.name }, elapsed / 1000);
    metrics.attempts.inc({
      channel: row.channel,
      provider: provider.name,
      outcome: result.ok ? 'sent' : result.error.kind,
    });
    await recordOutcome(row, provider.name, elapsed, result, message);
  }

  async function runOnce(): Promise<number> {
    let handled = 0;
    const sends: Promise<void>[] = [];
    for (const channel of CHANNELS) {
      if (!providers[channel]) continue;
      const bucket = buckets.get(channel)!;
      const granted = bucket.take(options.batchSize);
      if (granted === 0) continue;
      let rows: DeliveryRow[];
      try {
        rows = await claimDeliveries(db, channel, granted, options.leaseMs);
      } catch (error) {
        bucket.refund(granted);
        throw error;
      }
      bucket.refund(granted - rows.length);
      handled += rows.length;
      for (const row of rows) {
        const send = deliver(row).catch((error: unknown) => {
          // The outcome could not be recorded; the lease runs out and the row is tried again.
          logger.error(
            { deliveryId: row.id, err: error instanceof Error ? error.message : String(error) },
            'could not record delivery outcome',
          );
        });
        sends.push(send);
      }
    }
    const all = Promise.all(sends).then(() => undefined);
    inFlight.add(all);
    try {
      await all;
    } finally {
      inFlight.delete(all);
    }
    return handled;
  }

  let loop: Promise<void> | undefined;
  let stopping = false;
  let wakeUp: (() => void) | undefined;
  let woken = false;

  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  async function pollLoop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let handled = 0;
      try {
        handled = await runOnce();
        failures = 0;
      } catch (error) {
        failures += 1;
        logger.error(
          { err: error instanceof Error ? error.message : String(error), failures },
          'delivery worker pass failed',
        );
      }
      if (stopping) break;
      if (handled > 0) continue;
      await pause(
        failures === 0
          ? options.pollIntervalMs
          : Math.min(30_000, options.pollIntervalMs * 2 ** Math.min(failures, 6)),
      );
    }
  }

  return {
    name: 'notification-delivery-worker',
    runOnce,
    wake() {
      if (wakeUp) wakeUp();
      else woken = true;
    },
    start() {
      if (loop) return;
      stopping = false;
      loop = pollLoop();
    },
    async stop() {
      stopping = true;
      wakeUp?.();
      const running = loop;
      loop = undefined;
      if (running) await running;
      await Promise.all(inFlight);
      for (const provider of Object.values(providers)) await provider.close?.();
    },
  };
}
