/**
 * PostgreSQL through kysely. int8 columns arrive as bigint (money never passes through a float), and
 * numeric as string. Migrations are numbered, forward-only, run by the `migrate` command (and by the
 * embedded host for you), never by web start-up in production.
 */
import { Kysely, PostgresDialect } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import pg from 'pg';

export interface DatabaseHandles<DB> {
  /** The primary: every write and every read that must see its own writes. */
  db: Kysely<DB>;
  /** The read replica when configured, the primary otherwise. May lag. */
  readDb: Kysely<DB>;
  pool: pg.Pool;
  close(): Promise<void>;
}

const INT8_OID = 20;

type TypeParser = (value: string) => unknown;

const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): TypeParser {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format ?? 'text') as TypeParser;
  },
};

export function createPool(
  url: string,
  options: { max?: number; applicationName?: string; onError?: (error: Error) => void } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName,
    types: typeParsers,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
  // A connection that dies (idle in the pool, or inside a transaction) emits 'error'; unhandled, it
  // would crash the process. The query in flight still fails and its transaction rolls back.
  const onError = options.onError ?? (() => undefined);
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

export function createDatabase<DB>(options: {
  url: string;
  readUrl?: string | undefined;
  poolMax?: number;
  applicationName?: string;
  onError?: (error: Error) => void;
}): DatabaseHandles<DB> {
  const poolOptions = { max: options.poolMax, applicationName: options.applicationName, onError: options.onError };
  const pool = createPool(options.url, poolOptions);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  let readPool: pg.Pool | undefined;
  let readDb = db;
  if (options.readUrl && options.readUrl !== options.url) {
    readPool = createPool(options.readUrl, poolOptions);
    readDb = new Kysely<DB>({ dialect: new PostgresDialect({ pool: readPool }) });
  }
  return {
    db,
    readDb,
    pool,
    async close() {
      await db.destroy();
      if (readDb !== db) await readDb.destroy();
    },
  };
}

class StaticMigrationProvider implements MigrationProvider {
  readonly #migrations: Record<string, Migration>;
  constructor(migrations: Record<string, Migration>) {
    this.#migrations = migrations;
  }
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(this.#migrations);
  }
}

function migratorFor<DB>(db: Kysely<DB>, migrations: Record<string, Migration>): Migrator {
  return new Migrator({ db, provider: new StaticMigrationProvider(migrations) });
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Applies pending migrations in name order; refuses out-of-order ones. Returns the names applied. */
export async function migrateToLatest<DB>(db: Kysely<DB>, migrations: Record<string, Migration>): Promise<string[]> {
  const { error, results } = await migratorFor(db, migrations).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when every known migration has been applied (the readiness check). */
export async function migrationsAtHead<DB>(db: Kysely<DB>, migrations: Record<string, Migration>): Promise<boolean> {
  const known = await migratorFor(db, migrations).getMigrations();
  return known.every((m) => m.executedAt !== undefined);
}
