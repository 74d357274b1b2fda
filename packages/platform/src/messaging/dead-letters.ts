// Longer than 400 lines: store, list, replay and subscribe-with-dead-letters share the table's row mapping and failure notes.
/**
 * Dead letters: messages that kept failing, stored where an operator can list and replay them.
 *
 * Two origins: `outbox` (a row this app could not publish) and `subscription` (a message one of this
 * app's handlers kept failing; it arrives on the subscription's dead-letter topic). Replay keeps the
 * event id, so every idempotent consumer that already applied it ignores it.
 */
import {
  cloudEventSchema,
  deadLetterTopicFor,
  decodeSeqCursor,
  eventDefinitionByType,
  keysetPage,
} from '@wallet/contracts';
import type { CloudEvent } from '@wallet/contracts';
import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import { describeError, silentLogger } from '../logger.ts';
import type { PlatformLogger } from '../logger.ts';
import type { EventHandler, Platform, SubscriptionStatus } from '../port.ts';
import { messagingDb } from './schema.ts';
import type { DeadLetterOrigin, DeadLettersTable, MessagingTables } from './schema.ts';

export interface StoreDeadLetterInput {
  origin: DeadLetterOrigin;
  /** The app whose handling failed (for outbox rows, the publishing app). */
  consumer: string;
  /** The original topic. */
  topic: string;
  event: CloudEvent<unknown>;
  lastError?: string | null;
  attempts?: number;
}

export interface DeadLetter {
  id: string;
  origin: DeadLetterOrigin;
  consumer: string;
  topic: string;
  eventId: string;
  event: CloudEvent<unknown>;
  lastError: string | null;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  replayedAt: Date | null;
  replayCount: number;
}

export interface ListDeadLettersOptions {
  topic?: string;
  consumer?: string;
  origin?: DeadLetterOrigin;
  /** `pending` (default): not replayed since it last arrived; `replayed`; or `all`. */
  state?: 'pending' | 'replayed' | 'all';
  /** Page size, 1..500. Default 50. */
  limit?: number;
  /** `nextCursor` of the previous page (InvalidCursorError for anything else). */
  cursor?: string | null;
}

export interface DeadLetterPage {
  /** Newest first. */
  items: DeadLetter[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export type ReplaySelector =
  | { ids: readonly string[] }
  | { topic?: string; consumer?: string; origin?: DeadLetterOrigin; limit?: number };

export interface ReplayResult {
  replayed: string[];
  failed: { id: string; error: string }[];
}

const MAX_PAGE = 500;
const MAX_REPLAY = 1_000;
const MAX_ERROR_LENGTH = 2_000;

/**
 * Records a dead letter (inside the caller's transaction when given one). The same message arriving
 * again (it was replayed and failed again, or the broker redelivered the dead-letter message) updates
 * its row and makes it pending again instead of adding a second one. Returns the row id.
 */
export async function storeDeadLetter<DB extends MessagingTables>(
  db: Kysely<DB>,
  input: StoreDeadLetterInput,
): Promise<string> {
  const lastError = input.lastError == null ? null : input.lastError.slice(0, MAX_ERROR_LENGTH);
  const row = await messagingDb(db)
    .insertInto('dead_letters')
    .values({
      origin: input.origin,
      consumer: input.consumer,
      topic: input.topic,
      event_id: input.event.id,
      event: JSON.stringify(input.event),
      last_error: lastError,
      attempts: input.attempts ?? 0,
    })
    .onConflict((oc) =>
      oc.constraint('dead_letters_origin_consumer_topic_event_key').doUpdateSet((eb) => ({
        event: eb.ref('excluded.event'),
        last_error: eb.ref('excluded.last_error'),
        attempts: eb.ref('excluded.attempts'),
        updated_at: sql<Date>`now()`,
        replayed_at: null,
      })),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

function toDeadLetter(row: Selectable<DeadLettersTable>): DeadLetter {
  // jsonb read back from our own table, still parsed at the edge: a hand-edited row must not flow on unchecked.
  const event = cloudEventSchema.parse(row.event) as CloudEvent<unknown>;
  return {
    id: String(row.id),
    origin: row.origin,
    consumer: row.consumer,
    topic: row.topic,
    eventId: row.event_id,
    event,
    lastError: row.last_error,
    attempts: row.attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    replayedAt: row.replayed_at,
    replayCount: row.replay_count,
  };
}

function parseId(id: string): string {
  if (!/^[1-9][0-9]{0,18}$/.test(id)) throw new TypeError('replayDeadLetters: malformed id');
  return id;
}

export async function listDeadLetters<DB extends MessagingTables>(
  db: Kysely<DB>,
  options: ListDeadLettersOptions = {},
): Promise<DeadLetterPage> {
  const limit = options.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new RangeError(`listDeadLetters: limit must be an integer in 1..${MAX_PAGE}`);
  }
  let query = messagingDb(db).selectFrom('dead_letters').selectAll();
  if (options.topic !== undefined) query = query.where('topic', '=', options.topic);
  if (options.consumer !== undefined) query = query.where('consumer', '=', options.consumer);
  if (options.origin !== undefined) query = query.where('origin', '=', options.origin);
  const state = options.state ?? 'pending';
  if (state === 'pending') query = query.where('replayed_at', 'is', null);
  if (state === 'replayed') query = query.where('replayed_at', 'is not', null);
  const before = decodeSeqCursor(options.cursor);
  if (before !== undefined) query = query.where('id', '<', before.toString());
  const rows = await query
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  return keysetPage(rows, limit, (row) => [row.id], toDeadLetter);
}

/**
 * Replays dead letters: by id (whatever their state), or every pending one matching the filter (at
 * most `limit`, default 100). Subscription dead letters are published again to their original topic
 * with the SAME event id, type, source and data; outbox dead letters put their outbox row back to
 * pending so the relay publishes it. One failing row does not stop the others.
 */
export async function replayDeadLetters<DB extends MessagingTables>(
  db: Kysely<DB>,
  platform: Platform,
  selector: ReplaySelector,
): Promise<ReplayResult> {
  const mdb = messagingDb(db);
  let query = mdb.selectFrom('dead_letters').selectAll();
  if ('ids' in selector) {
    if (selector.ids.length === 0) return { replayed: [], failed: [] };
    if (selector.ids.length > MAX_REPLAY)
      throw new RangeError(`replayDeadLetters: at most ${MAX_REPLAY} ids`);
    query = query.where('id', 'in', selector.ids.map(parseId));
  } else {
    const limit = selector.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REPLAY) {
      throw new RangeError(`replayDeadLetters: limit must be an integer in 1..${MAX_REPLAY}`);
    }
    query = query.where('replayed_at', 'is', null).limit(limit);
    if (selector.topic !== undefined) query = query.where('topic', '=', selector.topic);
    if (selector.consumer !== undefined) query = query.where('consumer', '=', selector.consumer);
    if (selector.origin !== undefined) query = query.where('origin', '=', selector.origin);
  }
  const rows = await query.orderBy('id', 'asc').execute();

  const result: ReplayResult = { replayed: [], failed: [] };
  for (const row of rows) {
    try {
      const letter = toDeadLetter(row);
      if (letter.origin === 'outbox') {
        await mdb.transaction().execute(async (trx) => {
          // Only a dead row is reset: a row already pending or published needs nothing.
          await trx
            .updateTable('outbox')
            .set({ status: 'pending', attempts: 0, next_attempt_at: sql<Date>`now()`, last_error: null })
            .where('id', '=', letter.eventId)
            .where('status', '=', 'dead')
            .execute();
          await markReplayed(trx, letter.id);
        });
      } else {
        await platform.publish(
          letter.topic,
          { type: letter.event.type, source: letter.event.source, data: letter.event.data },
          {
            id: letter.event.id,
            ...(letter.event.traceparent === undefined ? {} : { traceparent: letter.event.traceparent }),
            ...(letter.event.subject === undefined ? {} : { subject: letter.event.subject }),
          },
        );
        // Published first, marked second: a crash in between only replays it once more (harmless).
        await markReplayed(mdb, letter.id);
      }
      result.replayed.push(String(row.id));
    } catch (error) {
      result.failed.push({ id: String(row.id), error: describeError(error).message });
    }
  }
  return result;
}

async function markReplayed(db: Kysely<MessagingTables>, id: string): Promise<void> {
  await db
    .updateTable('dead_letters')
    .set((eb) => ({ replayed_at: sql<Date>`now()`, replay_count: eb('replay_count', '+', 1) }))
    .where('id', '=', id)
    .execute();
}

export interface SubscribeWithDeadLettersOptions {
  logger?: PlatformLogger;
  /**
   * Failed deliveries the handler itself saw (it ran, and threw or answered RETRY) before the message
   * is stored as a dead letter here and acknowledged. Default 5. The transport's own retries are meant
   * to be longer (Dapr: unbounded, dapr/resiliency.yaml), because a delivery the app never saw (the app
   * restarting) must wait for the app, not be dead-lettered to a topic only this app consumes.
   */
  maxAttempts?: number;
}

/** Default of `SubscribeWithDeadLettersOptions.maxAttempts`. */
export const DEFAULT_MAX_HANDLED_ATTEMPTS = 5;

const STATUSES: ReadonlySet<string> = new Set<SubscriptionStatus>(['SUCCESS', 'RETRY', 'DROP']);
/** Event ids whose failures this process recorded (so a later success can clear the note). */
const MAX_REMEMBERED_FAILURES = 10_000;

/**
 * Subscribes `handler` to `topic` with the consumer's dead-letter topic
 * (`deadLetterTopicFor(consumerAppId, topic)`) and subscribes that dead-letter topic too, storing
 * each arrival in `dead_letters`. Every failed attempt (RETRY, DROP, a throw) is noted in
 * `consumer_failures`, so the dead letter carries the attempt count and the handler's last error even
 * when another replica saw the failures. After `maxAttempts` failures the handler saw itself, the
 * message is stored as a dead letter at once and acknowledged: poison messages are bounded by what the
 * app saw, not by the transport's retries, which may then outlast a restart of the app (soak finding 1:
 * deliveries that failed only because the app was down were dead-lettered to a topic the same, still
 * down, app consumes, and were lost).
 */
export function subscribeWithDeadLetters<DB extends MessagingTables>(
  platform: Platform,
  db: Kysely<DB>,
  consumerAppId: string,
  topic: string,
  handler: EventHandler,
  options: SubscribeWithDeadLettersOptions = {},
): void {
  const mdb = messagingDb(db);
  const logger = options.logger ?? silentLogger;
  const deadLetterTopic = deadLetterTopicFor(consumerAppId, topic);
  const recorded = new Set<string>();

  const remember = (eventId: string): void => {
    recorded.delete(eventId);
    recorded.add(eventId);
    if (recorded.size > MAX_REMEMBERED_FAILURES) {
      const oldest = recorded.values().next().value;
      if (oldest !== undefined) recorded.delete(oldest);
    }
  };

  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_HANDLED_ATTEMPTS;

  /** Notes a failed attempt; returns how many the handler has failed so far (undefined if not noted). */
  const recordFailure = async (event: CloudEvent<unknown>, error: string): Promise<number | undefined> => {
    try {
      const noted = await mdb
        .insertInto('consumer_failures')
        .values({ consumer: consumerAppId, event_id: event.id, topic, attempts: 1, last_error: error })
        .onConflict((oc) =>
          oc.columns(['consumer', 'event_id']).doUpdateSet((eb) => ({
            attempts: eb('consumer_failures.attempts', '+', 1),
            last_error: eb.ref('excluded.last_error'),
            last_failed_at: sql<Date>`now()`,
          })),
        )
        .returning('attempts')
        .executeTakeFirst();
      remember(event.id);
      return noted?.attempts;
    } catch (noteError) {
      // Only the diagnostic note is lost; the message itself still goes back to the broker.
      logger.warn(
        { topic, eventId: event.id, err: describeError(noteError) },
        'could not record consumer failure',
      );
      return undefined;
    }
  };

  const handle: EventHandler = async (event) => {
    let status: SubscriptionStatus;
    let failure: string | undefined;
    try {
      const answer: unknown = await handler(event);
      if (typeof answer === 'string' && STATUSES.has(answer)) {
        status = answer as SubscriptionStatus;
      } else {
        status = 'RETRY';
        failure = `handler answered ${JSON.stringify(answer)}, not SUCCESS/RETRY/DROP`;
      }
    } catch (error) {
      status = 'RETRY';
      failure = describeError(error).message.slice(0, MAX_ERROR_LENGTH);
    }
    if (status === 'SUCCESS') {
      if (recorded.delete(event.id)) {
        await mdb
          .deleteFrom('consumer_failures')
          .where('consumer', '=', consumerAppId)
          .where('event_id', '=', event.id)
          .execute()
          .catch((error: unknown) =>
            logger.warn(
              { topic, eventId: event.id, err: describeError(error) },
              'could not clear consumer failure',
            ),
          );
      }
      return 'SUCCESS';
    }
    const attempts = await recordFailure(event, failure ?? `handler answered ${status}`);
    if (status === 'RETRY' && attempts !== undefined && attempts >= maxAttempts) {
      // Failed as often as a message may: keep it here for an operator and stop its redeliveries.
      return (await storeDeadLetterNow(event)) ? 'SUCCESS' : 'RETRY';
    }
    if (failure !== undefined)
      logger.warn({ topic, eventId: event.id, err: failure }, 'handler failed; will be redelivered');
    return status;
  };

  /** Moves the message and its failure note into `dead_letters`; false when that could not be done. */
  const storeDeadLetterNow = async (event: CloudEvent<unknown>): Promise<boolean> => {
    try {
      await mdb.transaction().execute(async (trx) => {
        const failure = await trx
          .deleteFrom('consumer_failures')
          .where('consumer', '=', consumerAppId)
          .where('event_id', '=', event.id)
          .returning(['attempts', 'last_error'])
          .executeTakeFirst();
        // Where the message belongs: a contract event's own topic, else this subscription's. A broker
        // may hand a message to the wrong subscription (Dapr 1.16.5's RabbitMQ component did, after a
        // broker restart: docs/soak/README.md, finding 7); its handler drops it, and a replay must
        // send it where it belongs, not back to the subscription that could not take it.
        const home = eventDefinitionByType(event.type)?.topic ?? topic;
        await storeDeadLetter(trx, {
          origin: 'subscription',
          consumer: consumerAppId,
          topic: home,
          event,
          lastError:
            home === topic
              ? (failure?.last_error ?? null)
              : `delivered on the subscription of ${topic}, not its own topic ${home}${failure?.last_error ? `: ${failure.last_error}` : ''}`,
          attempts: failure?.attempts ?? 0,
        });
      });
      recorded.delete(event.id);
      logger.error(
        { topic, deadLetterTopic, eventId: event.id, type: event.type },
        'message dead-lettered and stored',
      );
      return true;
    } catch (error) {
      logger.error(
        { topic, eventId: event.id, err: describeError(error) },
        'could not store dead letter; retrying',
      );
      return false;
    }
  };

  const storeArrival: EventHandler = async (event) =>
    (await storeDeadLetterNow(event)) ? 'SUCCESS' : 'RETRY';

  platform.subscribe(topic, handle, { deadLetterTopic });
  platform.subscribe(deadLetterTopic, storeArrival);
}

export interface PruneMessagingOptions {
  /** Delete published outbox rows published before this instant. */
  publishedOutboxBefore?: Date;
  /**
   * Delete inbox rows older than this. Only safe beyond the longest redelivery window of the broker
   * (and of replays): a redelivery after pruning would be applied again.
   */
  inboxBefore?: Date;
  /** Delete failure notes of events that eventually succeeded elsewhere. */
  consumerFailuresBefore?: Date;
}

export async function pruneMessaging<DB extends MessagingTables>(
  db: Kysely<DB>,
  options: PruneMessagingOptions,
): Promise<{ outbox: number; inbox: number; consumerFailures: number }> {
  const mdb = messagingDb(db);
  const counts = { outbox: 0, inbox: 0, consumerFailures: 0 };
  if (options.publishedOutboxBefore) {
    const r = await mdb
      .deleteFrom('outbox')
      .where('status', '=', 'published')
      .where('published_at', '<', options.publishedOutboxBefore)
      .executeTakeFirst();
    counts.outbox = Number(r.numDeletedRows);
  }
  if (options.inboxBefore) {
    const r = await mdb
      .deleteFrom('inbox')
      .where('processed_at', '<', options.inboxBefore)
      .executeTakeFirst();
    counts.inbox = Number(r.numDeletedRows);
  }
  if (options.consumerFailuresBefore) {
    const r = await mdb
      .deleteFrom('consumer_failures')
      .where('last_failed_at', '<', options.consumerFailuresBefore)
      .executeTakeFirst();
    counts.consumerFailures = Number(r.numDeletedRows);
  }
  return counts;
}
