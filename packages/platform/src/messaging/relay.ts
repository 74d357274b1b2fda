/**
 * The outbox relay: moves committed outbox rows to the broker.
 *
 * Each batch is one transaction: claim due pending rows `FOR UPDATE SKIP LOCKED` (so replicas never
 * claim the same row), publish them one by one in insertion order, record each outcome, commit. A
 * crash anywhere before the commit leaves the rows pending and they are published again: delivery is
 * at-least-once, and consumers de-duplicate on the event id (the row id) with the inbox.
 *
 * Failures: a batch stops at its first failed publish; that row backs off (exponential, full jitter)
 * and is marked dead with a dead letter after `maxAttempts`.
 *
 * Ordering: rows are published in `seq` order, and a row is not claimed while an earlier row of its
 * partition key is backing off, so one relay never reorders a key. Two replicas may still publish
 * neighbouring rows of one key concurrently, so consumers must not depend on order.
 */
import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { Registry } from 'prom-client';
import type { CloudEvent } from '@wallet/contracts';
import { backoffWithFullJitter } from '../internal/backoff.ts';
import { describeError } from '../logger.ts';
import type { PlatformLogger } from '../logger.ts';
import type { Platform } from '../port.ts';
import { traceOutboxPublish } from '../tracing.ts';
import { storeDeadLetter } from './dead-letters.ts';
import { outboxMetrics } from './metrics.ts';
import type { OutboxMetrics } from './metrics.ts';
import { messagingDb } from './schema.ts';
import type { MessagingTables, OutboxTable } from './schema.ts';

export interface OutboxRelayOptions<DB extends MessagingTables> {
  db: Kysely<DB>;
  platform: Platform;
  logger: PlatformLogger;
  /** Rows per transaction. Default 100. */
  batchSize?: number;
  /** Publish attempts before a row is marked dead and dead-lettered. Default 12 (about 10-20 minutes of failures). */
  maxAttempts?: number;
  /** First retry delay ceiling (full jitter). Default 1 s. */
  baseBackoffMs?: number;
  /** Largest retry delay. Default 5 minutes. */
  maxBackoffMs?: number;
  /** Pause between polls when the outbox is drained. Default 500 ms. */
  pollIntervalMs?: number;
  /** Registry for outbox_* metrics (series labelled with the platform's app id). */
  metrics?: Registry;
}

export interface RelayBatchResult {
  /** Rows locked by this batch. */
  claimed: number;
  published: number;
  /** Failed and scheduled for another attempt. */
  retried: number;
  /** Failed for the last time: marked dead, dead-letter row written. */
  dead: number;
  /** Claimed but not attempted: the batch stops at its first failed publish (they stay due). */
  skipped: number;
}

export interface OutboxRelay {
  /** Starts polling in the background (idempotent). */
  start(): void;
  /** Stops polling and waits for the batch in flight to commit. */
  stop(): Promise<void>;
  /** Runs one batch now (what the loop does each tick); rejects if the batch's transaction fails. */
  runOnce(): Promise<RelayBatchResult>;
}

const MAX_ERROR_LENGTH = 2_000;

type OutboxRow = Selectable<OutboxTable>;

function truncate(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}...` : text;
}

/** The envelope an outbox row stands for (kept in its dead letter so operators see what it was). */
export function outboxRowEnvelope(row: OutboxRow): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id: row.id,
    source: row.source,
    type: row.event_type,
    time: row.created_at.toISOString(),
    datacontenttype: 'application/json',
    data: row.payload,
    topic: row.topic,
    ...(row.traceparent === null ? {} : { traceparent: row.traceparent }),
  };
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`outbox relay: ${name} must be an integer >= 1`);
  return value;
}

export function createOutboxRelay<DB extends MessagingTables>(options: OutboxRelayOptions<DB>): OutboxRelay {
  const db = messagingDb(options.db);
  const { platform, logger } = options;
  const batchSize = positiveInt('batchSize', options.batchSize ?? 100);
  const maxAttempts = positiveInt('maxAttempts', options.maxAttempts ?? 12);
  const baseBackoffMs = options.baseBackoffMs ?? 1_000;
  const maxBackoffMs = options.maxBackoffMs ?? 300_000;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  if (baseBackoffMs < 0 || maxBackoffMs < baseBackoffMs) {
    throw new RangeError('outbox relay: need 0 <= baseBackoffMs <= maxBackoffMs');
  }
  const app = platform.appId;
  const metrics: OutboxMetrics | undefined = options.metrics ? outboxMetrics(options.metrics) : undefined;

  const readLag = async (): Promise<number> => {
    const row = await db
      .selectFrom('outbox')
      .select(sql<string | null>`extract(epoch from (now() - min(created_at)))`.as('lag'))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return row?.lag == null ? 0 : Math.max(0, Number(row.lag));
  };
  metrics?.lagReaders.set(app, readLag);

  async function runOnce(): Promise<RelayBatchResult> {
    const result: RelayBatchResult = { claimed: 0, published: 0, retried: 0, dead: 0, skipped: 0 };
    await db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('outbox as o')
        .selectAll('o')
        .where('o.status', '=', 'pending')
        .where('o.next_attempt_at', '<=', sql<Date>`now()`)
        // Skip rows whose key has an earlier row still backing off: publishing them would reorder the key.
        .where((eb) =>
          eb.or([
            eb('o.partition_key', 'is', null),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('outbox as earlier')
                  .select(sql.lit(1).as('one'))
                  .where('earlier.status', '=', 'pending')
                  .whereRef('earlier.partition_key', '=', 'o.partition_key')
                  .whereRef('earlier.seq', '<', 'o.seq')
                  .where('earlier.next_attempt_at', '>', sql<Date>`now()`),
              ),
            ),
          ]),
        )
        .orderBy('o.seq')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      result.claimed = rows.length;
      if (rows.length === 0) return;

      const publishedIds: string[] = [];
      for (const [index, row] of rows.entries()) {
        try {
          // Published later and from no request: the row's stored trace context is restored here.
          await traceOutboxPublish({ ...row, app }, (traceparent) =>
            platform.publish(
              row.topic,
              { type: row.event_type, source: row.source, data: row.payload },
              {
                id: row.id,
                ...(row.partition_key === null ? {} : { partitionKey: row.partition_key }),
                ...(traceparent === undefined ? {} : { traceparent }),
              },
            ),
          );
          publishedIds.push(row.id);
        } catch (error) {
          const attempts = row.attempts + 1;
          const lastError = truncate(describeError(error).message);
          const where = { app, eventId: row.id, topic: row.topic, type: row.event_type, attempts };
          if (attempts >= maxAttempts) {
            await trx
              .updateTable('outbox')
              .set({ status: 'dead', attempts, last_error: lastError })
              .where('id', '=', row.id)
              .execute();
            await storeDeadLetter(trx, {
              origin: 'outbox',
              consumer: row.source,
              topic: row.topic,
              event: outboxRowEnvelope(row),
              lastError,
              attempts,
            });
            result.dead += 1;
            logger.error({ ...where, err: lastError }, 'outbox row is dead after its last publish attempt');
          } else {
            const delayMs = backoffWithFullJitter(attempts, baseBackoffMs, maxBackoffMs);
            await trx
              .updateTable('outbox')
              .set({
                attempts,
                last_error: lastError,
                next_attempt_at: sql<Date>`clock_timestamp() + ${delayMs} * interval '1 millisecond'`,
              })
              .where('id', '=', row.id)
              .execute();
            result.retried += 1;
            logger.warn({ ...where, delayMs, err: lastError }, 'outbox publish failed; will retry');
          }
          // Stop at the first failure: when the broker is down this costs one attempt of one row per
          // poll (not one of every row, each waiting out a timeout while the batch holds its locks),
          // and the rows behind it, of its key or not, keep their order and their attempts.
          result.skipped = rows.length - index - 1;
          break;
        }
      }
      if (publishedIds.length > 0) {
        await trx
          .updateTable('outbox')
          .set((eb) => ({
            status: 'published',
            published_at: sql<Date>`clock_timestamp()`,
            attempts: eb('attempts', '+', 1),
          }))
          .where('id', 'in', publishedIds)
          .execute();
        result.published = publishedIds.length;
      }
    });
    // Counted after commit: a batch whose commit failed is retried and counted then.
    if (metrics) {
      if (result.published > 0) metrics.published.inc({ app }, result.published);
      if (result.retried + result.dead > 0) metrics.failed.inc({ app }, result.retried + result.dead);
      if (result.dead > 0) metrics.dead.inc({ app }, result.dead);
    }
    return result;
  }

  let loop: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;

  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function pollLoop(): Promise<void> {
    let consecutiveErrors = 0;
    while (!stopping) {
      let busy = false;
      try {
        const batch = await runOnce();
        consecutiveErrors = 0;
        // A full batch that made progress means more is probably waiting: go again without pausing.
        busy = batch.claimed === batchSize && batch.published + batch.dead > 0;
      } catch (error) {
        consecutiveErrors += 1;
        logger.error({ app, err: describeError(error), consecutiveErrors }, 'outbox relay batch failed');
      }
      if (stopping) break;
      if (busy) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const delay =
        consecutiveErrors === 0
          ? pollIntervalMs
          : Math.max(
              pollIntervalMs,
              backoffWithFullJitter(consecutiveErrors, pollIntervalMs * 2, maxBackoffMs),
            );
      await pause(delay);
    }
  }

  return {
    runOnce,
    start(): void {
      if (loop) return;
      stopping = false;
      metrics?.lagReaders.set(app, readLag);
      loop = pollLoop();
    },
    async stop(): Promise<void> {
      stopping = true;
      wake?.();
      const running = loop;
      loop = undefined;
      if (running) await running;
      metrics?.lagReaders.delete(app);
    },
  };
}
