/** Flags can be closed after review: who closed it, when, and why. */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const flagReview: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('anomaly_flags')
      .addColumn('closed_by', 'text')
      .addColumn('closed_at', 'timestamptz')
      .addColumn('close_note', 'text')
      .execute();
    // Flags closed before this migration have no recorded time: their creation time is the best bound we
    // have, and without it the constraint below would refuse them and the upgrade would fail.
    await sql`update anomaly_flags set closed_at = created_at, close_note = 'closed before reviews were recorded'
      where status <> 'open' and closed_at is null`.execute(db);
    await sql`alter table anomaly_flags add constraint anomaly_flags_closed_consistent
      check ((status = 'open') = (closed_at is null))`.execute(db);
  },
};
