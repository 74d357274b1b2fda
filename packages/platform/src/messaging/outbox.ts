/** Writing events: one outbox row per event, in the caller's transaction, validated against the contract. */
import { randomUUID } from 'node:crypto';
import { Events } from '@wallet/contracts';
import type { EventData, EventInput, EventName } from '@wallet/contracts';
import type { Transaction } from 'kysely';
import type { z } from 'zod';
import { activeTraceparent } from '../tracing.ts';
import { messagingTrx } from './schema.ts';
import type { MessagingTables } from './schema.ts';

export interface EnqueueEventInput<N extends EventName> {
  /** Key in the contracts `Events` registry; fixes the type, topic and source. */
  name: N;
  data: EventInput<N>;
  /** Ordering key (Kafka message key): the aggregate id, e.g. the wallet id. */
  partitionKey?: string;
  /**
   * W3C trace context to store when no span is active. With telemetry running, the active span (the
   * request's, which wrote the domain change) is stored instead, so the relay publishes in its trace.
   */
  traceparent?: string | undefined;
}

/** `data` does not satisfy the event's schema: a programming error, so the caller's transaction must fail. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  readonly eventName: string;
  readonly issues: readonly { path: string; message: string }[];
  constructor(eventName: string, issues: readonly { path: string; message: string }[]) {
    super(
      `invalid ${eventName} event: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    );
    this.eventName = eventName;
    this.issues = issues;
  }
}

/** Validates `data` with the event's schema (defaults applied) and returns what will be published. */
export function parseEventData<N extends EventName>(name: N, data: unknown): EventData<N> {
  const schema: z.ZodType = Events[name].schema;
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new InvalidEventError(
      name,
      result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  return result.data as EventData<N>;
}

/**
 * Inserts the outbox row in `trx` (so it commits or rolls back with the domain change) and returns its
 * id, which becomes the CloudEvent id. Throws InvalidEventError when `data` breaks the contract.
 * Takes a Transaction on purpose: an event written outside the domain change's transaction is the
 * dual-write bug the outbox exists to prevent.
 */
export async function enqueueEvent<DB extends MessagingTables, N extends EventName>(
  trx: Transaction<DB>,
  input: EnqueueEventInput<N>,
): Promise<string> {
  if (!trx.isTransaction)
    throw new TypeError('enqueueEvent must run inside the transaction of the domain change');
  const definition = Events[input.name];
  const data = parseEventData(input.name, input.data);
  const id = randomUUID();
  await messagingTrx(trx)
    .insertInto('outbox')
    .values({
      id,
      topic: definition.topic,
      event_type: definition.type,
      source: definition.source,
      payload: JSON.stringify(data),
      partition_key: input.partitionKey ?? null,
      traceparent: activeTraceparent() ?? input.traceparent ?? null,
    })
    .execute();
  return id;
}
