/**
 * The preamble every consumer of a contract event shares, written once: the message must be the
 * event type its topic carries and its payload must match the contract's schema; otherwise it is
 * DROPped (to the subscription's dead-letter topic, where an operator sees it) and logged with the
 * failing field paths only, never the payload (it may carry a one-time code). The handler then gets
 * the parsed, typed data.
 */
import { Events, type CloudEvent, type EventData, type EventName } from '@wallet/contracts';
import type { Kysely } from 'kysely';
import type { PlatformLogger } from '../logger.ts';
import type { EventHandler, Platform, SubscriptionStatus } from '../port.ts';
import { subscribeWithDeadLetters } from './dead-letters.ts';
import type { MessagingTables } from './schema.ts';

/** Handles the parsed payload of one contract event. */
export type ContractEventHandler<N extends EventName> = (
  data: EventData<N>,
  event: CloudEvent<unknown>,
) => Promise<SubscriptionStatus>;

/** The broker-facing handler of contract event `name`: the checks above, then `handler`. */
export function contractEventHandler<N extends EventName>(
  name: N,
  handler: ContractEventHandler<N>,
  logger: PlatformLogger,
): EventHandler {
  const definition = Events[name];
  return async (event) => {
    const about = { topic: definition.topic, eventId: event.id, type: event.type };
    if (event.type !== definition.type) {
      logger.warn({ ...about, expected: definition.type }, 'unexpected event type on topic; dropped');
      return 'DROP';
    }
    const parsed = definition.schema.safeParse(event.data);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.'));
      logger.warn({ ...about, fields }, 'event breaks its contract; dropped');
      return 'DROP';
    }
    // `Events[name].schema` is the schema `EventData<N>` is inferred from; TypeScript cannot see
    // through the indexed access of a generic key, so the one cast lives here.
    return handler(parsed.data as EventData<N>, event);
  };
}

export interface SubscribeToEventOptions<DB extends MessagingTables> {
  platform: Platform;
  /** The consumer's database: dead letters and failure notes go there. */
  db: Kysely<DB>;
  /** The consuming app (names its dead-letter topic). */
  consumerAppId: string;
  logger: PlatformLogger;
}

/** Subscribes `handler` to contract event `name`, with dead letters (see `subscribeWithDeadLetters`). */
export function subscribeToEvent<DB extends MessagingTables, N extends EventName>(
  options: SubscribeToEventOptions<DB>,
  name: N,
  handler: ContractEventHandler<N>,
): void {
  subscribeWithDeadLetters(
    options.platform,
    options.db,
    options.consumerAppId,
    Events[name].topic,
    contractEventHandler(name, handler, options.logger),
    { logger: options.logger },
  );
}
