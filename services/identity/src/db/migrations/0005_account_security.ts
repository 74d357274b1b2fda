/**
 * ASVS 5.0 L2 (chapters 6 and 7), issue 17:
 * - `sessions.reauthenticated_at`: when the holder last proved every factor they have (sign-in or
 *   `POST /auth/reauthenticate`); changes to factors need it to be recent.
 * - `refresh_tokens.used_by_device`, `grace_uses`: a spent token presented again by the same client
 *   within a few seconds (two tabs refreshing at once) gets a sibling instead of revoking the session.
 * - signing keys published before use: status `next` with `activates_at`.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const accountSecurity: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('sessions').addColumn('reauthenticated_at', 'timestamptz').execute();
    // Sessions opened before this migration count as authenticated when they were opened.
    await sql`update sessions set reauthenticated_at = auth_time`.execute(db);

    await db.schema
      .alterTable('refresh_tokens')
      .addColumn('used_by_device', 'text')
      .addColumn('grace_uses', 'integer', (c) =>
        c
          .notNull()
          .defaultTo(0)
          .check(sql`grace_uses >= 0`),
      )
      .execute();

    await sql`alter table signing_keys drop constraint if exists signing_keys_status_check`.execute(db);
    await sql`alter table signing_keys add constraint signing_keys_status_check
      check (status in ('next', 'active', 'retired'))`.execute(db);
    await db.schema.alterTable('signing_keys').addColumn('activates_at', 'timestamptz').execute();
    await sql`alter table signing_keys add constraint signing_keys_next_has_time
      check (status <> 'next' or activates_at is not null)`.execute(db);
    await sql`create unique index signing_keys_one_next on signing_keys ((true)) where status = 'next'`.execute(
      db,
    );
  },
};
