/** The local recipients table: what identity's events taught us about each user (no cross-service reads). */
import { sql, type Kysely, type Transaction } from 'kysely';
import { z } from 'zod';
import type { RecipientFacts } from '../domain/catalog.ts';
import type { NotificationDatabase } from './schema.ts';

type Db = Kysely<NotificationDatabase> | Transaction<NotificationDatabase>;

export interface Recipient {
  userId: string;
  email: string | null;
  phone: string | null;
  /** The user proved `phone` with a code; SMS go only to a verified number. */
  phoneVerified: boolean;
  pushTokens: string[];
  locale: string;
  displayName: string | null;
}

const pushTokensSchema = z.array(z.string());

export async function upsertRecipient(db: Db, facts: RecipientFacts): Promise<void> {
  await db
    .insertInto('recipients')
    .values({
      user_id: facts.userId,
      email: facts.email ?? null,
      email_verified: facts.emailVerified ?? false,
      locale: facts.locale ?? 'en',
      display_name: facts.displayName ?? null,
    })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({
        email: facts.email === undefined ? sql`recipients.email` : sql`excluded.email`,
        // A changed address is unverified again; the same address keeps what we knew.
        email_verified:
          facts.emailVerified !== undefined
            ? sql`excluded.email_verified`
            : sql`recipients.email_verified and recipients.email is not distinct from excluded.email`,
        locale: facts.locale === undefined ? sql`recipients.locale` : sql`excluded.locale`,
        display_name:
          facts.displayName === undefined ? sql`recipients.display_name` : sql`excluded.display_name`,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

export async function findRecipient(db: Db, userId: string): Promise<Recipient | undefined> {
  const row = await db.selectFrom('recipients').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!row) return undefined;
  return {
    userId: row.user_id,
    email: row.email,
    phone: row.phone,
    phoneVerified: row.phone !== null && row.phone_verified,
    pushTokens: pushTokensSchema.catch([]).parse(row.push_tokens),
    locale: row.locale,
    displayName: row.display_name,
  };
}

/** The user's own channel settings (phone for SMS, push registration tokens); a new phone is unverified. */
export async function setRecipientChannels(
  db: Db,
  userId: string,
  channels: { phone?: string | null; pushTokens?: string[] },
): Promise<Recipient> {
  await db
    .insertInto('recipients')
    .values({
      user_id: userId,
      email: null,
      phone: channels.phone ?? null,
      push_tokens: JSON.stringify(channels.pushTokens ?? []),
    })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({
        phone: channels.phone === undefined ? sql`recipients.phone` : sql`excluded.phone`,
        // A new number is unverified until its code is confirmed; the same number keeps its state.
        phone_verified:
          channels.phone === undefined
            ? sql`recipients.phone_verified`
            : sql`recipients.phone_verified and recipients.phone is not distinct from excluded.phone`,
        push_tokens:
          channels.pushTokens === undefined ? sql`recipients.push_tokens` : sql`excluded.push_tokens`,
        updated_at: sql`now()`,
      }),
    )
    .execute();
  const recipient = await findRecipient(db, userId);
  if (!recipient) throw new Error('recipient vanished after upsert');
  return recipient;
}

/** The push provider said a token is unregistered: stop using it. */
export async function forgetPushToken(db: Db, userId: string, token: string): Promise<void> {
  await db
    .updateTable('recipients')
    .set({ push_tokens: sql`push_tokens - ${token}::text`, updated_at: sql`now()` })
    .where('user_id', '=', userId)
    .execute();
}

/** The user's recipient row, locked to the end of `trx` (the row may not exist yet). */
export async function lockRecipient(trx: Transaction<NotificationDatabase>, userId: string) {
  await trx.selectFrom('recipients').select('user_id').where('user_id', '=', userId).forUpdate().execute();
  return findRecipient(trx, userId);
}
