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
    await sql`alter table anomaly_flags add constraint anomaly_flags_closed_consistent
      check ((status = 'open') = (closed_at is null))`.execute(db);
  },
};
