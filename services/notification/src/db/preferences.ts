/** Preferences rows: one per (user, category) the user changed; defaults live in the domain. */
import { sql, type Kysely, type Transaction } from 'kysely';
import {
  effectivePreferences,
  type Category,
  type ChannelSwitches,
  type PreferenceSet,
} from '../domain/preferences.ts';
import type { NotificationDatabase } from './schema.ts';

type Db = Kysely<NotificationDatabase> | Transaction<NotificationDatabase>;

export async function loadPreferences(db: Db, userId: string): Promise<PreferenceSet> {
  const rows = await db
    .selectFrom('preferences')
    .select(['category', 'email', 'sms', 'push'])
    .where('user_id', '=', userId)
    .execute();
  return effectivePreferences(rows);
}

/** The user's preferences, their rows locked to the end of `trx` (concurrent updates apply in turn). */
export async function lockPreferences(
  trx: Transaction<NotificationDatabase>,
  userId: string,
): Promise<PreferenceSet> {
  const rows = await trx
    .selectFrom('preferences')
    .select(['category', 'email', 'sms', 'push'])
    .where('user_id', '=', userId)
    .forUpdate()
    .execute();
  return effectivePreferences(rows);
}

export async function savePreferences(
  db: Db,
  userId: string,
  changes: Partial<Record<Category, ChannelSwitches>>,
): Promise<void> {
  const rows = Object.entries(changes).map(([category, s]) => ({
    user_id: userId,
    category,
    email: s.email,
    sms: s.sms,
    push: s.push,
  }));
  if (rows.length === 0) return;
  await db
    .insertInto('preferences')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['user_id', 'category']).doUpdateSet({
        email: sql`excluded.email`,
        sms: sql`excluded.sms`,
        push: sql`excluded.push`,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}
