/** The deliveries table: the worker's claims, a user's history, a support resend. */
import { randomUUID } from 'node:crypto';
import { decodeSeqCursor, keysetPage } from '@wallet/contracts';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Channel } from '../domain/preferences.ts';
import type { DeliveriesTable, NotificationDatabase } from './schema.ts';

export type DeliveryRow = Selectable<DeliveriesTable>;

/** The user's deliveries, newest first (keyset pages on `seq`). */
export async function listDeliveryHistory(
  db: Kysely<NotificationDatabase>,
  userId: string,
  page: { limit: number; cursor?: string | undefined },
) {
  let q = db
    .selectFrom('deliveries')
    .select([
      'id',
      'seq',
      'channel',
      'template',
      'category',
      'status',
      'attempts',
      'created_at',
      'sent_at',
      'resend_of',
      'last_error',
    ])
    .where('user_id', '=', userId);
  const before = decodeSeqCursor(page.cursor);
  if (before !== undefined) q = q.where('seq', '<', before);
  const rows = await q
    .orderBy('seq', 'desc')
    .limit(page.limit + 1)
    .execute();
  return keysetPage(
    rows,
    page.limit,
    (r) => [r.seq],
    (r) => ({
      deliveryId: r.id,
      channel: r.channel,
      template: r.template,
      category: r.category,
      status: r.status,
      attempts: r.attempts,
      createdAt: r.created_at.toISOString(),
      sentAt: r.sent_at?.toISOString() ?? null,
      resendOf: r.resend_of,
      skippedReason: r.status === 'skipped' ? r.last_error : null,
    }),
  );
}

export function findDelivery(
  db: Kysely<NotificationDatabase>,
  deliveryId: string,
): Promise<DeliveryRow | undefined> {
  return db.selectFrom('deliveries').selectAll().where('id', '=', deliveryId).executeTakeFirst();
}

/** A new pending delivery with the same message as `original`; returns its id. */
export async function insertResend(db: Kysely<NotificationDatabase>, original: DeliveryRow): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('deliveries')
    .values({
      id,
      user_id: original.user_id,
      event_id: original.event_id,
      event_type: original.event_type,
      template: original.template,
      category: original.category,
      channel: original.channel,
      recipient: original.recipient,
      locale: original.locale,
      subject: original.subject,
      body_text: original.body_text,
      body_html: original.body_html,
      sensitive: false,
      max_attempts: original.max_attempts,
      resend_of: original.id,
    })
    .execute();
  return id;
}

/** Claims up to `limit` due deliveries of one channel (and expired leases of crashed replicas). */
export async function claimDeliveries(
  db: Kysely<NotificationDatabase>,
  channel: Channel,
  limit: number,
  leaseMs: number,
): Promise<DeliveryRow[]> {
  if (limit <= 0) return [];
  return db
    .updateTable('deliveries')
    .set((eb) => ({
      status: 'sending',
      attempts: eb('attempts', '+', 1),
      lease_until: sql<Date>`clock_timestamp() + ${leaseMs} * interval '1 millisecond'`,
      updated_at: sql<Date>`now()`,
    }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('deliveries')
        .select('id')
        .where('channel', '=', channel)
        .where((w) =>
          w.or([
            w.and([w('status', '=', 'pending'), w('next_attempt_at', '<=', sql<Date>`now()`)]),
            w.and([w('status', '=', 'sending'), w('lease_until', '<', sql<Date>`now()`)]),
          ]),
        )
        .orderBy('next_attempt_at')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
}
