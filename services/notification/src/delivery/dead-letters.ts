/**
 * Dead letters of this service, one list for operators: messages our subscriptions kept failing
 * (stored by the platform) and deliveries that died after their last attempt (stored by the worker,
 * under `notification.deliveries.<channel>`). Replay sends each back where it failed: a subscription
 * message is published again with the same event id (the inbox keeps it idempotent); a dead delivery
 * goes back to pending with a fresh set of attempts (its unique row keeps it one message).
 */
import { replayDeadLetters, type Platform, type ReplayResult } from '@wallet/platform';
import { sql, type Kysely } from 'kysely';
import type { NotificationDatabase } from '../db/schema.ts';
import { DELIVERY_DEAD_LETTER_TOPIC_PREFIX } from './worker.ts';

function isDeliveryTopic(topic: string): boolean {
  return topic.startsWith(DELIVERY_DEAD_LETTER_TOPIC_PREFIX);
}

export async function replayServiceDeadLetters(
  db: Kysely<NotificationDatabase>,
  platform: Platform,
  selector: { ids: readonly string[] } | { topic?: string | undefined; limit?: number },
): Promise<ReplayResult> {
  let query = db.selectFrom('dead_letters').select(['id', 'topic', 'event_id', 'origin']);
  if ('ids' in selector) {
    if (selector.ids.length === 0) return { replayed: [], failed: [] };
    query = query.where('id', 'in', selector.ids);
  } else {
    query = query
      .where('replayed_at', 'is', null)
      .orderBy('id')
      .limit(selector.limit ?? 100);
    if (selector.topic !== undefined) query = query.where('topic', '=', selector.topic);
  }
  const rows = (await query.execute()).map((r) => ({ ...r, id: String(r.id) }));
  const result: ReplayResult = { replayed: [], failed: [] };

  const deliveryRows = rows.filter((r) => r.origin === 'outbox' && isDeliveryTopic(r.topic));
  for (const row of deliveryRows) {
    try {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('deliveries')
          .set({
            status: 'pending',
            attempts: 0,
            next_attempt_at: sql<Date>`now()`,
            lease_until: null,
            updated_at: sql<Date>`now()`,
          })
          .where('id', '=', row.event_id)
          .where('status', '=', 'dead')
          .execute();
        await trx
          .updateTable('dead_letters')
          .set((eb) => ({ replayed_at: sql<Date>`now()`, replay_count: eb('replay_count', '+', 1) }))
          .where('id', '=', row.id)
          .execute();
      });
      result.replayed.push(row.id);
    } catch (error) {
      result.failed.push({ id: row.id, error: error instanceof Error ? error.message : String(error) });
    }
  }

  const others = rows.filter((r) => !deliveryRows.includes(r)).map((r) => r.id);
  if (others.length > 0) {
    const delegated = await replayDeadLetters(db, platform, { ids: others });
    result.replayed.push(...delegated.replayed.map(String));
    result.failed.push(...delegated.failed.map((f) => ({ id: String(f.id), error: f.error })));
  }
  return result;
}
