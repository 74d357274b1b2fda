/** A throw-away database with the messaging migrations applied, plus a small domain table for effects. */
import { createTestDatabase } from '@wallet/testing';
import type { TestDatabase } from '@wallet/testing';
import { Kysely, PostgresDialect } from 'kysely';
import type { Generated } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { messagingMigrations } from '../../src/messaging/index.ts';
import type { MessagingTables } from '../../src/messaging/index.ts';

/** What a service's Database interface looks like: its own tables plus MessagingTables. */
export interface TestDatabaseSchema extends MessagingTables {
  effects: { id: Generated<number>; consumer: string; event_id: string; note: string };
}

export interface MessagingTestDb {
  database: TestDatabase;
  db: Kysely<TestDatabaseSchema>;
  /** Another, independent connection pool to the same database (a second replica), optionally named. */
  connect(applicationName?: string): Kysely<TestDatabaseSchema>;
  close(): Promise<void>;
}

/**
 * pg emits 'error' on a checked-out client whose backend dies while it is idle in a transaction; with
 * no listener that is an uncaught exception. Services need the same two listeners (service kit).
 */
function hardenedPool(url: string, applicationName = 'platform-tests'): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 5, application_name: applicationName });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function createMessagingTestDb(adminUrl: string, prefix: string): Promise<MessagingTestDb> {
  const database = await createTestDatabase(adminUrl, prefix);
  const pools: Kysely<TestDatabaseSchema>[] = [];
  const connect = (applicationName?: string): Kysely<TestDatabaseSchema> => {
    const k = new Kysely<TestDatabaseSchema>({
      dialect: new PostgresDialect({ pool: hardenedPool(database.url, applicationName) }),
    });
    pools.push(k);
    return k;
  };
  const db = connect();
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...messagingMigrations }) },
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
  await db.schema
    .createTable('effects')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .execute();
  return {
    database,
    db,
    connect,
    async close() {
      await Promise.all(pools.map((k) => k.destroy()));
      await database.drop();
    },
  };
}

/** Terminates the backends named `applicationName` in `databaseName` that sit idle inside a transaction. */
export async function terminateIdleInTransaction(
  adminUrl: string,
  databaseName: string,
  applicationName: string,
): Promise<number> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const result = await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = $1 and application_name = $2 and state like 'idle in transaction%'`,
      [databaseName, applicationName],
    );
    return result.rowCount ?? 0;
  } finally {
    await admin.end();
  }
}
