/** Idempotent consumers: the (consumer, event id) record and the effect commit together or not at all. */
import type { Kysely, Transaction } from 'kysely';
import { messagingTrx } from './schema.ts';
import type { MessagingTables } from './schema.ts';

export type ConsumeOutcome = 'applied' | 'duplicate';

/**
 * Runs `effect` once per (consumer, event id). The inbox row is inserted first, in the effect's
 * transaction: a concurrent duplicate waits on the primary key and then sees the row (duplicate), and
 * a failed effect rolls the row back so the redelivery applies it. Needs the root Kysely instance
 * (it opens the transaction); the effect does all its writes through `trx`.
 */
export async function consumeOnce<DB extends MessagingTables>(
  db: Kysely<DB>,
  consumer: string,
  event: { id: string },
  effect: (trx: Transaction<DB>) => Promise<void>,
): Promise<ConsumeOutcome> {
  if (consumer.length === 0 || event.id.length === 0)
    throw new TypeError('consumeOnce: consumer and event id are required');
  return db.transaction().execute(async (trx) => {
    const inserted = await messagingTrx(trx)
      .insertInto('inbox')
      .values({ consumer, event_id: event.id })
      .onConflict((oc) => oc.columns(['consumer', 'event_id']).doNothing())
      .returning('event_id')
      .executeTakeFirst();
    if (!inserted) return 'duplicate';
    await effect(trx);
    return 'applied';
  });
}
