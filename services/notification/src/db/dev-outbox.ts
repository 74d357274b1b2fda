/** The dev outbox (non-production only): the messages as users would have got them, newest first. */
import type { Kysely } from 'kysely';
import type { NotificationDatabase } from './schema.ts';

export async function listDevOutbox(
  db: Kysely<NotificationDatabase>,
  query: { to?: string | undefined; limit: number },
) {
  let q = db.selectFrom('dev_outbox').select(['to', 'channel', 'subject', 'body', 'created_at']);
  const to = query.to?.toLowerCase();
  if (to !== undefined) q = q.where((eb) => eb(eb.fn('lower', ['to']), '=', to));
  const rows = await q.orderBy('id', 'desc').limit(query.limit).execute();
  return rows.map((r) => ({
    to: r.to,
    channel: r.channel,
    subject: r.subject,
    body: r.body,
    createdAt: r.created_at.toISOString(),
  }));
}
