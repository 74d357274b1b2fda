/** Recipients, preferences, deliveries (the message outbox), their attempts, and the dev outbox. */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const notificationTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('recipients')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text')
      .addColumn('email_verified', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('phone', 'text')
      .addColumn('push_tokens', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
      .addColumn('locale', 'text', (c) => c.notNull().defaultTo('en'))
      .addColumn('display_name', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addCheckConstraint('recipients_push_tokens_array', sql`jsonb_typeof(push_tokens) = 'array'`)
      .execute();

    await db.schema
      .createTable('preferences')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('email', 'boolean', (c) => c.notNull())
      .addColumn('sms', 'boolean', (c) => c.notNull())
      .addColumn('push', 'boolean', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('preferences_pkey', ['user_id', 'category'])
      .execute();

    await db.schema
      .createTable('deliveries')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity().unique())
      .addColumn('user_id', 'text')
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('template', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel in ('email', 'sms', 'push')`))
      .addColumn('recipient', 'text', (c) => c.notNull())
      .addColumn('locale', 'text', (c) => c.notNull())
      .addColumn('subject', 'text')
      .addColumn('body_text', 'text', (c) => c.notNull())
      .addColumn('body_html', 'text')
      .addColumn('sensitive', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('status', 'text', (c) =>
        c
          .notNull()
          .defaultTo('pending')
          .check(sql`status in ('pending', 'sending', 'sent', 'failed', 'dead')`),
      )
      .addColumn('attempts', 'integer', (c) =>
        c
          .notNull()
          .defaultTo(0)
          .check(sql`attempts >= 0`),
      )
      .addColumn('max_attempts', 'integer', (c) => c.notNull().check(sql`max_attempts >= 1`))
      .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('lease_until', 'timestamptz')
      .addColumn('provider', 'text')
      .addColumn('provider_message_id', 'text')
      .addColumn('last_error', 'text')
      .addColumn('resend_of', 'uuid', (c) => c.references('deliveries.id'))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('sent_at', 'timestamptz')
      .execute();
    // The rule "one event never produces the same message twice": a redelivered or replayed event
    // inserts nothing new. Admin resends (resend_of set) are deliberate copies and sit outside it.
    await sql`create unique index deliveries_once_per_event_idx
      on deliveries (event_id, template, channel, recipient) where resend_of is null`.execute(db);
    // The worker's claim: due pending rows, and sending rows whose lease ran out (a crashed replica).
    await sql`create index deliveries_due_idx on deliveries (channel, next_attempt_at)
      where status = 'pending'`.execute(db);
    await sql`create index deliveries_leased_idx on deliveries (lease_until) where status = 'sending'`.execute(
      db,
    );
    await db.schema
      .createIndex('deliveries_user_seq_idx')
      .on('deliveries')
      .columns(['user_id', 'seq'])
      .execute();

    await db.schema
      .createTable('delivery_attempts')
      .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
      .addColumn('delivery_id', 'uuid', (c) => c.notNull().references('deliveries.id'))
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) =>
        c.notNull().check(sql`outcome in ('sent', 'transient', 'permanent')`),
      )
      .addColumn('provider_message_id', 'text')
      .addColumn('error', 'text')
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createIndex('delivery_attempts_delivery_idx')
      .on('delivery_attempts')
      .columns(['delivery_id', 'attempt'])
      .execute();

    await db.schema
      .createTable('dev_outbox')
      .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
      .addColumn('delivery_id', 'uuid', (c) => c.notNull().unique())
      .addColumn('to', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('subject', 'text')
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await sql`create index dev_outbox_to_idx on dev_outbox (lower("to"), id desc)`.execute(db);
  },
};
