/**
 * The life of a service process: parse config, connect the database, open the platform transport,
 * build the app, listen, and shut down gracefully. A service describes itself as a `ServiceModule`;
 * its `main.ts` is `runServiceMain(module)` and its `migrate.ts` is `runMigrateMain(module)`. The
 * embedded host calls `startService` for all five in one process.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Express, RequestHandler } from 'express';
import type { Migration } from 'kysely/migration';
import { sql } from 'kysely';
import type { JSONWebKeySet } from 'jose';
import type { z } from 'zod';
import { readFileSync } from 'node:fs';
import { APP_IDS, type AppId } from '@wallet/contracts';
import {
  createDaprPlatform,
  createEmbeddedPlatform,
  daprSubscriptionRouter,
  type DaprPlatform,
  type EmbeddedBus,
  type Platform,
} from '@wallet/platform';
import { createServiceApp } from './app.ts';
import { createInternalApp } from './internal-app.ts';
import { assertProductionSafe, loadConfig, type ProductionGuardInput, type RuntimeEnv } from './config.ts';
import { createDatabase, migrateToLatest, migrationsAtHead, type DatabaseHandles } from './db.ts';
import {
  createInternalTokenSigner,
  createInternalTokenVerifier,
  type InternalTokenSigner,
  type InternalTokenVerifier,
  type PrivateSigningJwk,
} from './internal-auth.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type ServiceMetrics } from './metrics.ts';
import type { ReadinessCheck } from './readiness.ts';
import { installGracefulShutdown } from './shutdown.ts';
import type { BackgroundWorker } from './workers.ts';

export interface ServiceContext<DB, C extends RuntimeEnv> {
  appId: AppId;
  config: C;
  logger: Logger;
  metrics: ServiceMetrics;
  platform: Platform;
  database: DatabaseHandles<DB>;
  /** Verifies internal tokens addressed to this app. */
  verifier: InternalTokenVerifier;
  /** Mints internal tokens for calls this app makes to another. */
  signer: InternalTokenSigner;
}

export interface ServiceParts {
  routes(app: Express): void;
  readiness?: ReadinessCheck[];
  workers?: BackgroundWorker[];
  /** Largest JSON body the service accepts. */
  bodyLimit?: string;
  /** Replaces the default JSON body parser (see `ServiceAppOptions.bodyParsers`). */
  bodyParsers?: RequestHandler[];
  /** Express `trust proxy`: only the gateway behind an ingress sets it. */
  trustProxy?: boolean | string | string[];
}

export interface ServiceModule<DB, C extends RuntimeEnv> {
  appId: AppId;
  configSchema: z.ZodType<C>;
  migrations: Record<string, Migration>;
  /** Issuers whose internal tokens this app accepts (usually just the gateway). */
  allowedCallers: readonly AppId[];
  /**
   * The public edge (the gateway): it decides each request's time budget itself and ignores an
   * inbound `x-deadline-ms`; services behind it take their caller's.
   */
  edge?: boolean;
  /** Service-specific production checks (secrets, public URLs). */
  productionGuard?(config: C): Omit<ProductionGuardInput, 'env'>;
  create(ctx: ServiceContext<DB, C>): Promise<ServiceParts>;
}

/** Key material: this app's private signing key and the public keys of every app. */
export interface InternalKeys {
  privateJwk: PrivateSigningJwk;
  jwks: JSONWebKeySet;
}

export function internalKeysFromEnv(env: RuntimeEnv): InternalKeys {
  const jwksText =
    env.INTERNAL_JWT_JWKS ??
    (env.INTERNAL_JWT_JWKS_FILE ? readFileSync(env.INTERNAL_JWT_JWKS_FILE, 'utf8') : undefined);
  const privateText = env.INTERNAL_JWT_PRIVATE_JWK;
  if (!jwksText || !privateText) {
    throw new Error('INTERNAL_JWT_JWKS (or _FILE) and INTERNAL_JWT_PRIVATE_JWK are required');
  }
  return {
    jwks: JSON.parse(jwksText) as JSONWebKeySet,
    privateJwk: JSON.parse(privateText) as PrivateSigningJwk,
  };
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Embedded transport: the process-wide bus shared by all apps in the process. */
  bus?: EmbeddedBus;
  keys?: InternalKeys;
  logger?: Logger;
  /** Serve HTTPS with this key pair instead of plain HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface RunningService<DB, C extends RuntimeEnv> {
  app: Express;
  server: Server;
  url: string;
  /** The internal listener: `/metrics`, the detailed `/readyz`, `/healthz` (see internal-app.ts). */
  internalServer: Server;
  internalUrl: string;
  context: ServiceContext<DB, C>;
  parts: ServiceParts;
  /** Stops accepting, drains, stops workers, closes the platform and the pools. */
  stop(): Promise<void>;
}

/** Builds the context without listening (tests use it to mount the app). */
export async function createServiceContext<DB, C extends RuntimeEnv>(
  module: ServiceModule<DB, C>,
  options: StartOptions = {},
): Promise<ServiceContext<DB, C>> {
  const config = loadConfig(module.configSchema, options.env ?? process.env);
  assertProductionSafe({ env: config, ...(module.productionGuard?.(config) ?? {}) });
  const logger = options.logger ?? createLogger(module.appId, { level: config.LOG_LEVEL });
  const metrics = createMetrics(module.appId);
  const keys = options.keys ?? internalKeysFromEnv(config);
  let platform: Platform;
  if (config.PLATFORM_TRANSPORT === 'embedded') {
    if (!options.bus) throw new Error('the embedded transport needs the process-wide bus');
    platform = createEmbeddedPlatform({ appId: module.appId, bus: options.bus, logger });
  } else {
    platform = createDaprPlatform({
      appId: module.appId,
      daprHttpPort: config.DAPR_HTTP_PORT,
      daprGrpcPort: config.DAPR_GRPC_PORT,
      daprApiToken: config.DAPR_API_TOKEN,
      logger,
    });
  }
  const database = createDatabase<DB>({
    url: config.DATABASE_URL,
    readUrl: config.DATABASE_READ_URL,
    poolMax: config.DATABASE_POOL_MAX,
    applicationName: module.appId,
    // Compact: pg's error carries its whole client object, which must not be serialised into logs.
    onError: (error) =>
      logger.warn(
        { error: error.message, code: (error as { code?: unknown }).code },
        'database connection error',
      ),
    replica: {
      maxReplicaLagMs: config.DATABASE_READ_MAX_LAG_MS,
      checkIntervalMs: config.DATABASE_READ_LAG_CHECK_MS,
    },
    onReplicaState: (state) =>
      logger.info(
        state,
        state.usable ? 'read replica in use' : 'read replica not used: reads go to the primary',
      ),
  });
  return {
    appId: module.appId,
    config,
    logger,
    metrics,
    platform,
    database,
    verifier: createInternalTokenVerifier({
      audience: module.appId,
      jwks: keys.jwks,
      allowedIssuers: module.allowedCallers,
    }),
    signer: await createInternalTokenSigner(module.appId, keys.privateJwk),
  };
}

/** The checks every service has: its database answers, its migrations are at head, its transport is up. */
export function standardReadiness<DB>(
  database: DatabaseHandles<DB>,
  migrations: Record<string, Migration>,
  platform: Platform,
): ReadinessCheck[] {
  return [
    { name: 'database', check: async () => void (await sql`select 1`.execute(database.db)) },
    { name: 'migrations', check: () => migrationsAtHead(database.db, migrations) },
    { name: platform.transport === 'dapr' ? 'sidecar' : 'transport', check: () => platform.ready() },
  ];
}

/** Every readiness check of a service: the standard ones and its own. */
export function readinessChecksOf<DB, C extends RuntimeEnv>(
  module: ServiceModule<DB, C>,
  context: ServiceContext<DB, C>,
  parts: ServiceParts,
): ReadinessCheck[] {
  return [
    ...standardReadiness(context.database, module.migrations, context.platform),
    ...(parts.readiness ?? []),
  ];
}

/** The internal listener's app: `/metrics` and the detailed readiness report (see internal-app.ts). */
export function buildInternalApp<DB, C extends RuntimeEnv>(
  module: ServiceModule<DB, C>,
  context: ServiceContext<DB, C>,
  parts: ServiceParts,
): Express {
  return createInternalApp({
    service: module.appId,
    metrics: context.metrics,
    readiness: readinessChecksOf(module, context, parts),
  });
}

export function buildServiceApp<DB, C extends RuntimeEnv>(
  module: ServiceModule<DB, C>,
  context: ServiceContext<DB, C>,
  parts: ServiceParts,
): Express {
  return createServiceApp({
    service: module.appId,
    logger: context.logger,
    metrics: context.metrics,
    readiness: readinessChecksOf(module, context, parts),
    routes: (app) => parts.routes(app),
    sidecarRouters:
      context.platform.transport === 'dapr'
        ? [
            daprSubscriptionRouter(context.platform as DaprPlatform, {
              appApiToken: context.config.APP_API_TOKEN,
            }),
          ]
        : [],
    appApiToken: context.platform.transport === 'dapr' ? context.config.APP_API_TOKEN : undefined,
    ...(parts.bodyLimit ? { bodyLimit: parts.bodyLimit } : {}),
    ...(parts.bodyParsers ? { bodyParsers: parts.bodyParsers } : {}),
    ...(parts.trustProxy !== undefined ? { trustProxy: parts.trustProxy } : {}),
    requestBudget: { budgetMs: context.config.REQUEST_BUDGET_MS, trustCallerDeadline: module.edge !== true },
    loadShed: {
      maxInFlight: context.config.MAX_IN_FLIGHT,
      maxQueued: context.config.MAX_QUEUED,
      maxQueueWaitMs: context.config.MAX_QUEUE_WAIT_MS,
    },
  });
}

export async function listen(
  app: Express,
  host: string,
  port: number,
  tls?: StartOptions['tls'],
): Promise<{ server: Server; url: string }> {
  const server: Server = tls
    ? createHttpsServer({ key: tls.key, cert: tls.cert }, app)
    : createHttpServer(app);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { server, url: `${tls ? 'https' : 'http'}://${shownHost}:${address.port}` };
}

export async function startService<DB, C extends RuntimeEnv>(
  module: ServiceModule<DB, C>,
  options: StartOptions = {},
): Promise<RunningService<DB, C>> {
  const context = await createServiceContext(module, options);
  const parts = await module.create(context);
  const app = buildServiceApp(module, context, parts);
  const { server, url } = await listen(app, context.config.HOST, context.config.PORT, options.tls);
  let internal: { server: Server; url: string };
  try {
    internal = await listen(
      buildInternalApp(module, context, parts),
      context.config.INTERNAL_HOST,
      context.config.INTERNAL_PORT,
    );
  } catch (error) {
    server.close();
    throw error;
  }
  for (const worker of parts.workers ?? []) await worker.start();
  if (options.bus) options.bus.registerApp(module.appId, url);
  context.logger.info(
    { url, internalUrl: internal.url, transport: context.platform.transport },
    `${module.appId} listening`,
  );
  let stopped: Promise<void> | undefined;
  return {
    app,
    server,
    url,
    internalServer: internal.server,
    internalUrl: internal.url,
    context,
    parts,
    stop() {
      stopped ??= (async () => {
        const { closeServer } = await import('./shutdown.ts');
        await closeServer(server, context.config.SHUTDOWN_TIMEOUT_MS);
        await closeServer(internal.server, context.config.SHUTDOWN_TIMEOUT_MS);
        for (const worker of parts.workers ?? []) await worker.stop();
        await context.platform.close();
        await context.database.close();
      })();
      return stopped;
    },
  };
}

/** `main.ts` of a service run as its own process (beside its sidecar). */
export async function runServiceMain<DB, C extends RuntimeEnv>(module: ServiceModule<DB, C>): Promise<void> {
  // Telemetry is started by the preload (`node --import @wallet/service-kit/telemetry-preload`).
  const config = loadConfig(module.configSchema);
  const running = await startService(module);
  installGracefulShutdown({
    logger: running.context.logger,
    servers: [],
    closers: [() => running.stop()],
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
}

/** `migrate.ts`: the release step. Applies pending migrations and exits; never part of web start-up. */
export async function runMigrationsFor<DB, C extends RuntimeEnv>(
  module: ServiceModule<DB, C>,
  databaseUrl: string,
  logger: Logger = createLogger(module.appId),
): Promise<string[]> {
  const database = createDatabase<DB>({
    url: databaseUrl,
    poolMax: 1,
    applicationName: `${module.appId}-migrate`,
  });
  try {
    const applied = await migrateToLatest(database.db, module.migrations);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'migrations already at head');
    return applied;
  } finally {
    await database.close();
  }
}

export async function runMigrateMain<DB, C extends RuntimeEnv>(module: ServiceModule<DB, C>): Promise<void> {
  const url = process.env['DATABASE_MIGRATION_URL'] ?? process.env['DATABASE_URL'];
  if (!url) throw new Error('DATABASE_URL (or DATABASE_MIGRATION_URL) is required');
  await runMigrationsFor(module, url);
}

export const ALL_APP_IDS: readonly AppId[] = APP_IDS;
