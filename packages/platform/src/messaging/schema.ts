/**
 * The messaging tables every service database carries (outbox, inbox, dead letters, consumer
 * failures) and the forward-only migrations that create them. A service splices the migrations into
 * its own ordered list and makes its kysely `Database` interface extend `MessagingTables`.
 */
import { sql } from 'kysely';
import type { ColumnType, Generated, Kysely, Transaction } from 'kysely';
import type { Migration } from 'kysely/migration';

/** A timestamp column the database fills (`default now()`). */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** A nullable timestamp column, absent on insert unless given. */
type OptionalTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A nullable text column, absent on insert unless given. */
type OptionalText = ColumnType<string | null, string | null | undefined, string | null>;
/** jsonb: read back parsed, written as a JSON string (so arrays never become PostgreSQL arrays). */
type JsonColumn = ColumnType<unknown, string, string>;
/** An integer column with a database default. */
type DefaultInt = ColumnType<number, number | undefined, number>;

export type OutboxStatus = 'pending' | 'published' | 'dead';
export type DeadLetterOrigin = 'outbox' | 'subscription';

export interface OutboxTable {
  /** uuid; becomes the CloudEvent id, so consumers de-duplicate on it. */
  id: string;
  /** Insertion order (bigint identity, read as a string): the relay publishes in this order. */
  seq: Generated<string>;
  topic: string;
  event_type: string;
  source: string;
  payload: JsonColumn;
  partition_key: OptionalText;
  traceparent: OptionalText;
  status: ColumnType<OutboxStatus, OutboxStatus | undefined, OutboxStatus>;
  attempts: DefaultInt;
  next_attempt_at: DefaultTimestamp;
  last_error: OptionalText;
  created_at: DefaultTimestamp;
  published_at: OptionalTimestamp;
}

export interface InboxTable {
  consumer: string;
  event_id: string;
  processed_at: DefaultTimestamp;
}

export interface DeadLettersTable {
  /**
   * bigint identity, also the list cursor. Read as a string by a default pg pool and as a bigint by
   * the service kit's (int8 -> bigint); the functions here always hand it out as a string.
   */
  id: Generated<string>;
  origin: DeadLetterOrigin;
  /** The app whose handling failed (for outbox rows: the publishing app). */
  consumer: string;
  /** The original topic (not the dead-letter topic). */
  topic: string;
  event_id: string;
  /** The whole CloudEvent envelope as it was delivered (or, for outbox rows, as it would have been). */
  event: JsonColumn;
  last_error: OptionalText;
  attempts: DefaultInt;
  created_at: DefaultTimestamp;
  /** Last time it arrived (a replayed message can fail again). */
  updated_at: DefaultTimestamp;
  replayed_at: OptionalTimestamp;
  replay_count: DefaultInt;
}

/** Per-consumer failure notes, so a dead letter can say why its handler kept failing. */
export interface ConsumerFailuresTable {
  consumer: string;
  event_id: string;
  topic: string;
  attempts: DefaultInt;
  last_error: OptionalText;
  first_failed_at: DefaultTimestamp;
  last_failed_at: DefaultTimestamp;
}

export interface MessagingTables {
  outbox: OutboxTable;
  inbox: InboxTable;
  dead_letters: DeadLettersTable;
  consumer_failures: ConsumerFailuresTable;
}

/**
 * Every messaging function is generic over the service's database type; inside, it only touches the
 * tables above, which `DB extends MessagingTables` guarantees exist with these shapes. kysely cannot
 * follow that through a generic parameter, hence this one narrowing.
 */
export function messagingDb<DB extends MessagingTables>(db: Kysely<DB>): Kysely<MessagingTables> {
  return db as unknown as Kysely<MessagingTables>;
}

export function messagingTrx<DB extends MessagingTables>(trx: Transaction<DB>): Transaction<MessagingTables> {
  return trx as unknown as Transaction<MessagingTables>;
}

const createMessagingTables: Migration = {
  async up(db) {
    await db.schema
      .createTable('outbox')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity().unique())
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('payload', 'jsonb', (c) => c.notNull())
      .addColumn('partition_key', 'text')
      .addColumn('traceparent', 'text')
      .addColumn('status', 'text', (c) =>
        c
          .notNull()
          .defaultTo('pending')
          .check(sql`status in ('pending', 'published', 'dead')`),
      )
      .addColumn('attempts', 'integer', (c) =>
        c
          .notNull()
          .defaultTo(0)
          .check(sql`attempts >= 0`),
      )
      .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('published_at', 'timestamptz')
      .execute();
    await db.schema
      .createIndex('outbox_status_next_attempt_at_idx')
      .on('outbox')
      .columns(['status', 'next_attempt_at'])
      .execute();
    // Serves the relay's per-key ordering check (is an earlier row of this key still backing off?).
    await db.schema
      .createIndex('outbox_pending_partition_key_seq_idx')
      .on('outbox')
      .columns(['partition_key', 'seq'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();

    await db.schema
      .createTable('inbox')
      .addColumn('consumer', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('processed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('inbox_pkey', ['consumer', 'event_id'])
      .execute();
    await db.schema.createIndex('inbox_processed_at_idx').on('inbox').column('processed_at').execute();

    await db.schema
      .createTable('dead_letters')
      .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
      .addColumn('origin', 'text', (c) => c.notNull().check(sql`origin in ('outbox', 'subscription')`))
      .addColumn('consumer', 'text', (c) => c.notNull())
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event', 'jsonb', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('replayed_at', 'timestamptz')
      .addColumn('replay_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addUniqueConstraint('dead_letters_origin_consumer_topic_event_key', [
        'origin',
        'consumer',
        'topic',
        'event_id',
      ])
      .execute();
    await db.schema
      .createIndex('dead_letters_topic_consumer_idx')
      .on('dead_letters')
      .columns(['topic', 'consumer', 'id'])
      .execute();

    await db.schema
      .createTable('consumer_failures')
      .addColumn('consumer', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('first_failed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('last_failed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('consumer_failures_pkey', ['consumer', 'event_id'])
      .execute();
  },
};

/**
 * Forward-only. Keys are stable names; a service puts each entry into its own migration provider
 * under its own ordered name, e.g. `'0002_messaging_0001': messagingMigrations['0001_messaging_tables']`.
 * New entries are only ever appended.
 */
export const messagingMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_messaging_tables': createMessagingTables,
});
