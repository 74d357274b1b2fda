/** risk's own tables: assessments, flags, audited rule overrides, and the profiles built from events. */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export const riskTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('assessments')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('amount', sql`numeric(38,0)`, (c) => c.check(sql`amount is null or amount > 0`))
      .addColumn('currency', sql`char(3)`)
      .addColumn('counterparty', 'text')
      .addColumn('session_id', 'text')
      .addColumn('device_id', 'text')
      .addColumn('ip', 'text')
      .addColumn('caller', 'text', (c) => c.notNull())
      .addColumn('acr', 'text', (c) => c.notNull())
      .addColumn('decision', 'text', (c) =>
        c.notNull().check(sql`decision in ('allow', 'challenge', 'deny')`),
      )
      .addColumn('score', 'integer', (c) => c.notNull().check(sql`score between 0 and 100`))
      .addColumn('reasons', 'jsonb', (c) => c.notNull())
      .addColumn('signals', 'jsonb', (c) => c.notNull())
      .addColumn('rules_version', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createIndex('assessments_user_created_idx')
      .on('assessments')
      .columns(['user_id', 'created_at'])
      .execute();

    await db.schema
      .createTable('anomaly_flags')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity().unique())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('assessment_id', 'uuid', (c) => c.references('assessments.id'))
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('score', 'integer', (c) => c.notNull().check(sql`score between 0 and 100`))
      .addColumn('reasons', 'jsonb', (c) => c.notNull())
      .addColumn('status', 'text', (c) =>
        c
          .notNull()
          .defaultTo('open')
          .check(sql`status in ('open', 'closed')`),
      )
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createIndex('anomaly_flags_user_seq_idx')
      .on('anomaly_flags')
      .columns(['user_id', 'seq'])
      .execute();

    await db.schema
      .createTable('rule_changes')
      .addColumn('version', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
      .addColumn('overrides', 'jsonb', (c) => c.notNull())
      .addColumn('previous_overrides', 'jsonb', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull().check(sql`length(reason) between 1 and 500`))
      .addColumn('changed_by', 'text', (c) => c.notNull())
      .addColumn('changed_by_roles', 'jsonb', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('request_id', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    // The audit trail of rule changes is append-only: the runtime role may add a version, never rewrite one.
    await sql`create function rule_changes_append_only() returns trigger language plpgsql as $$
      begin raise exception 'rule_changes is append-only'; end $$`.execute(db);
    await sql`create trigger rule_changes_no_update_delete before update or delete on rule_changes
      for each row execute function rule_changes_append_only()`.execute(db);

    await db.schema
      .createTable('amount_stats')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('currency', sql`char(3)`, (c) => c.notNull())
      .addColumn('recent_amounts', 'jsonb', (c) => c.notNull())
      .addColumn('sample_count', 'integer', (c) => c.notNull())
      .addColumn('median', sql`numeric(38,0)`, (c) => c.notNull())
      .addColumn('mad', sql`numeric(38,0)`, (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('amount_stats_pkey', ['user_id', 'currency'])
      .execute();

    await db.schema
      .createTable('known_counterparties')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('counterparty', 'text', (c) => c.notNull())
      .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull())
      .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
      .addColumn('times', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('known_counterparties_pkey', ['user_id', 'counterparty'])
      .execute();

    await db.schema
      .createTable('known_devices')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull())
      .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('known_devices_pkey', ['user_id', 'device_id'])
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('session_id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('new_device', 'boolean', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('login_failures')
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('failed_attempts', 'integer', (c) => c.notNull())
      .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('login_failures_user_time_idx')
      .on('login_failures')
      .columns(['user_id', 'occurred_at'])
      .execute();

    await db.schema
      .createTable('refunds')
      .addColumn('refund_id', 'text', (c) => c.primaryKey())
      .addColumn('transfer_id', 'text', (c) => c.notNull())
      .addColumn('payer_user_id', 'text', (c) => c.notNull())
      .addColumn('payee_user_id', 'text', (c) => c.notNull())
      .addColumn('amount', sql`numeric(38,0)`, (c) => c.notNull())
      .addColumn('currency', sql`char(3)`, (c) => c.notNull())
      .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('refunds_payer_time_idx')
      .on('refunds')
      .columns(['payer_user_id', 'occurred_at'])
      .execute();
    await db.schema
      .createIndex('refunds_payee_time_idx')
      .on('refunds')
      .columns(['payee_user_id', 'occurred_at'])
      .execute();

    await db.schema
      .createTable('deposits')
      .addColumn('deposit_id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('amount', sql`numeric(38,0)`, (c) => c.notNull())
      .addColumn('currency', sql`char(3)`, (c) => c.notNull())
      .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('deposits_user_time_idx')
      .on('deposits')
      .columns(['user_id', 'occurred_at'])
      .execute();
  },
};
