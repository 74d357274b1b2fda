/**
 * Messages with one-time codes are rendered when they are sent (issue 17): a delivery keeps the
 * reference of the code (identity mints the code at send time) and the template variables without
 * it, so no code is ever written to this database (the dev outbox, a stand-in for the recipient's
 * mailbox outside production, excepted).
 */
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const codeByReference: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('deliveries')
      .addColumn('code_ref', 'uuid')
      .addColumn('template_vars', 'jsonb')
      .execute();
  },
};
