/**
 * Sign-in throttling keyed on failures per account+source, per account and per source address
 * (replacing the per-account lockout of `login_throttle`, which let anyone lock anyone out), and the
 * sources an account has signed in from (the owner's usual address or device stays admitted).
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const signInThrottle: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropTable('login_throttle').execute();
    await db.schema
      .createTable('sign_in_failures')
      .addColumn('scope', 'text', (c) => c.notNull().check(sql`scope in ('source', 'account', 'ip')`))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('failures', 'integer', (c) =>
        c
          .notNull()
          .defaultTo(0)
          .check(sql`failures >= 0`),
      )
      .addColumn('window_started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('last_failure_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      // Ceilings only: attempts admitted and not yet answered, so a parallel burst is bounded too.
      .addColumn('pending', 'integer', (c) =>
        c
          .notNull()
          .defaultTo(0)
          .check(sql`pending >= 0`),
      )
      .addColumn('last_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('sign_in_failures_pkey', ['scope', 'key'])
      .execute();
    await db.schema
      .createTable('sign_in_sources')
      .addColumn('account_key', 'text', (c) => c.notNull())
      .addColumn('source_key', 'text', (c) => c.notNull())
      .addColumn('last_success_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('sign_in_sources_pkey', ['account_key', 'source_key'])
      .execute();
  },
};
