/**
 * One-time codes are delivered by reference (issue 17): the row is created "pending" with no code,
 * its id travels in the event, and the notification service has identity mint the code at send time.
 * Only the keyed hash of the code ever reaches the database; each mint replaces it.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const codeDeliveryByReference: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('one_time_codes')
      .alterColumn('code_hash', (c) => c.dropNotNull())
      .execute();
    await db.schema
      .alterTable('one_time_codes')
      .addColumn('issued_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('issued_at', 'timestamptz')
      .execute();
    // Codes created before this migration were issued once at creation: say so, or the constraint
    // below refuses every existing row and the upgrade of a live database fails.
    await sql`update one_time_codes set issued_count = 1, issued_at = created_at where code_hash is not null`.execute(
      db,
    );
    // A code exists exactly when it has been issued at least once.
    await sql`alter table one_time_codes add constraint one_time_codes_issued_has_hash
      check ((issued_count = 0) = (code_hash is null))`.execute(db);
  },
};
