/**
 * Phone numbers are proven by a code before any SMS goes to them (issue 20). A number the user sets
 * is unverified; a verification row holds only the keyed hash of the code notification minted when
 * the code SMS was sent. Deliveries that may not go out (SMS to an unverified number) are kept as
 * `skipped` with the reason in `last_error`, never sent. Numbers set before this migration are
 * unverified until their owner confirms a code.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const phoneVerification: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('recipients')
      .addColumn('phone_verified', 'boolean', (c) => c.notNull().defaultTo(false))
      .execute();

    await db.schema
      .createTable('phone_verifications')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('phone', 'text', (c) => c.notNull())
      // Keyed hash (HMAC-SHA-256) of the code; null until the code SMS is sent.
      .addColumn('code_hash', 'text')
      .addColumn('expires_at', 'timestamptz')
      .addColumn('issued_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed_guesses', 'integer', (c) => c.notNull().defaultTo(0))
      // Set when the code was confirmed, replaced by a newer request, burnt by wrong guesses, or the number changed.
      .addColumn('closed_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    // The per-user and per-number request limits count recent rows.
    await sql`create index phone_verifications_user_idx on phone_verifications (user_id, created_at)`.execute(
      db,
    );
    await sql`create index phone_verifications_phone_idx on phone_verifications (phone, created_at)`.execute(
      db,
    );

    await sql`alter table deliveries drop constraint if exists deliveries_status_check`.execute(db);
    await sql`alter table deliveries add constraint deliveries_status_check
      check (status in ('pending', 'sending', 'sent', 'failed', 'dead', 'skipped'))`.execute(db);
  },
};
