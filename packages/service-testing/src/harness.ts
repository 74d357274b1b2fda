/**
 * Starts one real service for its integration tests: a freshly provisioned database (owner + runtime
 * role, as in every other mode) on the real PostgreSQL named by TEST_PG_ADMIN_URL, migrations as the
 * owner, the service as the runtime role on the embedded transport, listening on an ephemeral
 * loopback port. Several services can share one bus to talk to each other.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AppId } from '@wallet/contracts';
import { EmbeddedBus } from '@wallet/platform';
import {
  createDatabase,
  createLogger,
  dropServiceDatabase,
  provisionServiceDatabase,
  runMigrationsFor,
  startService,
  type InternalSubject,
  type RunningService,
  type RuntimeEnv,
  type ServiceDatabase,
  type ServiceModule,
} from '@wallet/service-kit';
import { serviceClient, type ServiceClient } from './client.ts';
import { internalKeysFor, testKeyring, type TestKeyring } from './keys.ts';

export interface TestService<DB, C extends RuntimeEnv> {
  url: string;
  /** The internal listener (`/metrics`, the detailed `/readyz`). */
  internalUrl: string;
  running: RunningService<DB, C>;
  /** The service's own kysely handle (runtime role). */
  db: Kysely<DB>;
  /** A kysely handle as the database owner (for assertions the runtime role may not make). */
  ownerDb: Kysely<DB>;
  database: ServiceDatabase;
  adminUrl: string;
  bus: EmbeddedBus;
  keyring: TestKeyring;
  /** A client calling as `subject` through a gateway-minted (or `issuer`-minted) internal token. */
  as(subject: InternalSubject | null, issuer?: AppId): ServiceClient;
  stop(): Promise<void>;
}

export interface StartTestServiceOptions {
  adminUrl: string;
  /**
   * Connect the service (runtime role) through PgBouncer in transaction mode at this host:port
   * instead of directly. Defaults to TEST_PGBOUNCER_HOSTPORT, so a whole suite can be re-run through
   * PgBouncer unchanged. Migrations and owner connections stay direct, as in production.
   */
  pgbouncer?: string;
  /**
   * host:port of a streaming replica of TEST_PG_ADMIN_URL's server: the service gets
   * DATABASE_READ_URL pointing at its own database there (same roles, replicated).
   */
  readReplica?: string;
  /** Extra or overriding environment for the service. */
  env?: Record<string, string>;
  /** Share a bus with other services started in the same test. */
  bus?: EmbeddedBus;
  logLevel?: string;
}

/** The same database and role on another host:port (PgBouncer, or a replica). */
function throughPooler(url: string, hostPort: string): string {
  const u = new URL(url);
  u.host = hostPort;
  return u.toString();
}

export async function startTestService<DB, C extends RuntimeEnv>(
  module: ServiceModule<DB, C>,
  options: StartTestServiceOptions,
): Promise<TestService<DB, C>> {
  const keyring = await testKeyring();
  const name = `t_${module.appId.replace(/-/g, '_')}_${randomBytes(4).toString('hex')}`;
  const database = await provisionServiceDatabase(options.adminUrl, name, {
    owner: randomBytes(12).toString('hex'),
    app: randomBytes(12).toString('hex'),
  });
  const logLevel = options.logLevel ?? process.env['TEST_LOG_LEVEL'] ?? 'silent';
  const logger = createLogger(module.appId, { level: logLevel });
  await runMigrationsFor(module, database.ownerUrl, logger);
  const pgbouncer = options.pgbouncer ?? process.env['TEST_PGBOUNCER_HOSTPORT'];
  const runtimeUrl = pgbouncer ? throughPooler(database.appUrl, pgbouncer) : database.appUrl;
  const ownBus = !options.bus;
  const bus = options.bus ?? new EmbeddedBus({ logger });
  const running = await startService(module, {
    env: {
      APP_ENV: 'test',
      LOG_LEVEL: logLevel,
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: runtimeUrl,
      ...(options.readReplica ? { DATABASE_READ_URL: throughPooler(database.appUrl, options.readReplica) } : {}),
      DATABASE_POOL_MAX: '20',
      PLATFORM_TRANSPORT: 'embedded',
      ...options.env,
    },
    bus,
    keys: internalKeysFor(keyring, module.appId),
    logger,
  });
  const owner = createDatabase<DB>({ url: database.ownerUrl, poolMax: 4 });
  return {
    url: running.url,
    internalUrl: running.internalUrl,
    running,
    db: running.context.database.db,
    ownerDb: owner.db,
    database,
    adminUrl: options.adminUrl,
    bus,
    keyring,
    as(subject, issuer) {
      return serviceClient({ baseUrl: running.url, audience: module.appId, keyring, subject, ...(issuer ? { issuer } : {}) });
    },
    async stop() {
      await running.stop();
      await owner.close();
      if (ownBus) await bus.close();
      await dropServiceDatabase(options.adminUrl, name);
    },
  };
}
