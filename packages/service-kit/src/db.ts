/**
 * PostgreSQL through kysely. int8 columns arrive as bigint (money never passes through a float), and
 * numeric as string. Migrations are numbered, forward-only, run by the `migrate` command (and by the
 * embedded host for you), never by web start-up in production.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import pg from 'pg';

export interface DatabaseHandles<DB> {
  /** The primary: every write and every read that must see its own writes. */
  db: Kysely<DB>;
  /** The read replica when configured, the primary otherwise. May lag by any amount: prefer `reader()`. */
  readDb: Kysely<DB>;
  /**
   * For read-only queries that may be slightly stale: the replica while its replay lag is known and
   * within `maxReplicaLagMs`, the primary otherwise (replica unreachable, lagging, or not yet checked).
   */
  reader: () => Kysely<DB>;
  /** The replica's last measured replay lag in ms (undefined: no replica, or not measurable now). */
  replicaLagMs: () => number | undefined;
  pool: pg.Pool;
  close(): Promise<void>;
}

export interface ReplicaPolicy {
  /** Above this replay lag, reads go to the primary. */
  maxReplicaLagMs: number;
  /** How often the replica's lag is measured. */
  checkIntervalMs: number;
}

export const DEFAULT_REPLICA_POLICY: ReplicaPolicy = { maxReplicaLagMs: 2_000, checkIntervalMs: 1_000 };

/**
 * Replay lag of a standby in ms: 0 when it has replayed all it received, otherwise the age of the
 * last transaction it replayed. On a primary (not in recovery) it is 0.
 */
const REPLICA_LAG_SQL = sql<{ lag_ms: string | number | null }>`
  select case
    when not pg_is_in_recovery() then 0
    when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
    else extract(epoch from (now() - pg_last_xact_replay_timestamp())) * 1000
  end as lag_ms`;

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
  replica?: ReplicaPolicy;
  /** Told when reads move between the replica and the primary. */
  onReplicaState?: (state: { usable: boolean; lagMs: number | undefined; error?: string }) => void;
}): DatabaseHandles<DB> {
  const poolOptions = {
    max: options.poolMax,
    applicationName: options.applicationName,
    onError: options.onError,
  };
  const pool = createPool(options.url, poolOptions);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  if (!options.readUrl || options.readUrl === options.url) {
    return {
      db,
      readDb: db,
      reader: () => db,
      replicaLagMs: () => undefined,
      pool,
      close: () => db.destroy(),
    };
  }
  const replicaDb = new Kysely<DB>({
    dialect: new PostgresDialect({ pool: createPool(options.readUrl, poolOptions) }),
  });
  const policy = options.replica ?? DEFAULT_REPLICA_POLICY;
  let lagMs: number | undefined;
  let usable = false;
  const measure = async (): Promise<void> => {
    let error: string | undefined;
    try {
      const { rows } = await REPLICA_LAG_SQL.execute(replicaDb);
      const value = rows[0]?.lag_ms;
      lagMs = value === null || value === undefined ? undefined : Math.max(0, Number(value));
    } catch (caught) {
      lagMs = undefined;
      error = caught instanceof Error ? caught.message : String(caught);
    }
    const nowUsable = lagMs !== undefined && lagMs <= policy.maxReplicaLagMs;
    if (nowUsable !== usable) {
      usable = nowUsable;
      options.onReplicaState?.({ usable, lagMs, ...(error ? { error } : {}) });
    }
  };
  // Reads start on the primary until the first measurement says the replica is fresh enough.
  let running = measure();
  const timer = setInterval(() => {
    running = running.then(measure);
  }, policy.checkIntervalMs);
  timer.unref();
  return {
    db,
    readDb: replicaDb,
    reader: () => (usable ? replicaDb : db),
    replicaLagMs: () => lagMs,
    pool,
    async close() {
      clearInterval(timer);
      await running;
      await db.destroy();
      await replicaDb.destroy();
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
export async function migrateToLatest<DB>(
  db: Kysely<DB>,
  migrations: Record<string, Migration>,
): Promise<string[]> {
  const { error, results } = await migratorFor(db, migrations).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * The migrations up to and including `last`: how an upgrade test builds the schema of an older release,
 * fills it with that release's data, then migrates to the latest.
 */
export function migrationsThrough(
  migrations: Record<string, Migration>,
  last: string,
): Record<string, Migration> {
  if (!(last in migrations)) throw new Error(`no migration named ${last}`);
  return Object.fromEntries(Object.entries(migrations).filter(([name]) => name <= last));
}

/** True when every known migration has been applied (the readiness check). */
export async function migrationsAtHead<DB>(
  db: Kysely<DB>,
  migrations: Record<string, Migration>,
): Promise<boolean> {
  const known = await migratorFor(db, migrations).getMigrations();
  return known.every((m) => m.executedAt !== undefined);
}
