/**
 * Starts (and stops) the embedded platform. Used by `npm start` and by the system tests, which start
 * it on other ports and in a throw-away data folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { AppId } from '@wallet/contracts';
import { localPort } from '@wallet/contracts/local-ports';
import { EmbeddedBus } from '@wallet/platform';
import {
  closeServer,
  createLogger,
  runMigrationsFor,
  startService,
  type Logger,
  type StartOptions,
  type ServiceModule,
  provisionServiceDatabase,
  type ServiceDatabase,
  type RuntimeEnv,
  removeRuntimeFile,
  writeRuntimeFile,
} from '@wallet/service-kit';
import { service as identity } from '@wallet/identity';
import { service as walletLedger } from '@wallet/wallet-ledger';
import { service as risk } from '@wallet/risk';
import { service as notification } from '@wallet/notification';
import { service as apiGateway } from '@wallet/api-gateway';
import { acquireDataFolderLock } from './lock.ts';
import { startEmbeddedPostgres } from './postgres.ts';
import { createHttpsRedirectServer } from '@wallet/api-gateway/redirect';
import { devJwks, loadOrCreateSecrets } from './secrets.ts';
import {
  configKeys,
  ignoredSettings,
  serviceEnvironment,
  settingsForOperators,
  type Settings,
} from './settings.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** A service as the host sees it: its database, its migrations and how to start it. */
interface HostedService {
  appId: AppId;
  database: string;
  /** The variables its config reads. */
  keys: string[];
  migrate(url: string, logger: Logger): Promise<unknown>;
  start(options: StartOptions): Promise<{ appId: AppId; url: string; internalUrl: string; stop(): Promise<void> }>;
}

function hosted<DB, C extends RuntimeEnv>(module: ServiceModule<DB, C>, database: string): HostedService {
  return {
    appId: module.appId,
    database,
    keys: configKeys(module.configSchema),
    migrate: (url, logger) => runMigrationsFor(module, url, logger),
    async start(options) {
      const running = await startService(module, options);
      return { appId: module.appId, url: running.url, internalUrl: running.internalUrl, stop: () => running.stop() };
    },
  };
}

// The gateway comes last, once its backends listen.
const SERVICES: HostedService[] = [
  hosted(identity, 'wallet_identity'),
  hosted(walletLedger, 'wallet_ledger'),
  hosted(risk, 'wallet_risk'),
  hosted(notification, 'wallet_notification'),
  hosted(apiGateway, 'wallet_gateway'),
];

export interface EmbeddedPlatformOptions {
  /**
   * The settings (README, "Settings"): what `npm start` reads from the process environment and `.env`
   * (`loadSettings`). Default none, so a test's platform does not depend on the shell it runs in.
   */
  env?: Settings;
  dataDir?: string;
  postgresPort?: number;
  httpsPort?: number;
  httpPort?: number;
  /** LOG_LEVEL of every service (a per-service `<APP>_LOG_LEVEL` setting still wins). */
  logLevel?: string;
  /** Extra environment per service (tests point providers at local fakes); the host's own values still win. */
  serviceEnv?: Partial<Record<AppId, Record<string, string>>>;
}

export interface EmbeddedPlatform {
  dataDir: string;
  gatewayUrl: string;
  redirectUrl: string;
  certificateFile: string;
  certificate: string;
  serviceUrls: Record<string, string>;
  /** Each app's internal listener (loopback): `/metrics` and the detailed `/readyz`, gateway included. */
  internalUrls: Record<string, string>;
  databases: Record<string, ServiceDatabase>;
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPlatform(options: EmbeddedPlatformOptions = {}): Promise<EmbeddedPlatform> {
  const settings: Settings = { ...options.env };
  const dataDir = resolve(options.dataDir ?? settings['WALLET_DATA_DIR'] ?? join(REPO_ROOT, '.data/embedded'));
  // Defaults from infra/ports.env (the one port map: 15400, 8443, 8080); the settings of the same name win.
  const portSetting = (name: string): number => Number(settings[name] ?? localPort(name));
  const postgresPort = options.postgresPort ?? portSetting('EMBEDDED_PG_PORT');
  const httpsPort = options.httpsPort ?? portSetting('GATEWAY_HTTPS_PORT');
  const httpPort = options.httpPort ?? portSetting('GATEWAY_HTTP_PORT');
  const logLevel = options.logLevel ?? settings['LOG_LEVEL'] ?? 'warn';
  settings['LOG_LEVEL'] = logLevel;
  const hostLogger: Logger = createLogger('embedded-host', { level: logLevel === 'warn' ? 'info' : logLevel });
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  // Before anything touches the folder's database: a second `npm start` on it stops here.
  const lock = await acquireDataFolderLock(dataDir, hostLogger);
  const ignored = ignoredSettings(settings, SERVICES.map((s) => s.appId));
  if (ignored.length > 0) {
    hostLogger.warn({ ignored }, `ignoring ${ignored.join(', ')}: the embedded host sets these itself`);
  }
  try {
    return await startOnLockedFolder({ ...options, settings, dataDir, postgresPort, httpsPort, httpPort, hostLogger, lock });
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function startOnLockedFolder(
  options: EmbeddedPlatformOptions & {
    settings: Settings;
    dataDir: string;
    postgresPort: number;
    httpsPort: number;
    httpPort: number;
    hostLogger: Logger;
    lock: { release(): Promise<void> };
  },
): Promise<EmbeddedPlatform> {
  const { settings, dataDir, postgresPort, httpsPort, httpPort, hostLogger, lock } = options;
  const secrets = await loadOrCreateSecrets(join(dataDir, 'secrets.json'));
  const certificateFile = join(dataDir, 'localhost.crt');
  await writeFile(certificateFile, secrets.tls.cert);

  const postgres = await startEmbeddedPostgres({
    dataDir: join(dataDir, 'pg'),
    port: postgresPort,
    adminPassword: secrets.postgresAdminPassword,
    logger: hostLogger,
  });
  const running: Awaited<ReturnType<HostedService['start']>>[] = [];
  let redirect: Server | undefined;
  // Paused until every app has subscribed, as durable broker queues would hold the messages.
  const bus = new EmbeddedBus({ logger: hostLogger, startPaused: true });
  try {
    const databases: Record<string, ServiceDatabase> = {};
    for (const service of SERVICES) {
      databases[service.appId] = await provisionServiceDatabase(postgres.adminUrl, service.database, secrets.databases[service.appId]);
    }
    await Promise.all(
      SERVICES.map((service) => service.migrate(databases[service.appId]!.ownerUrl, hostLogger.child({ app: service.appId }))),
    );

    const jwks = devJwks(secrets.internalKeys);
    const envs = {} as Record<AppId, NodeJS.ProcessEnv>;
    for (const service of SERVICES) {
      const isGateway = service.appId === 'api-gateway';
      const env = serviceEnvironment({
        appId: service.appId,
        keys: service.keys,
        settings: { PUBLIC_BASE_URL: `https://localhost:${httpsPort}`, ...settings, ...options.serviceEnv?.[service.appId] },
        host: {
          APP_ENV: 'development',
          HOST: '127.0.0.1',
          PORT: isGateway ? String(httpsPort) : '0',
          DATABASE_URL: databases[service.appId]!.appUrl,
          EMBEDDED_DATABASE: 'true',
          PLATFORM_TRANSPORT: 'embedded',
          INTERNAL_JWT_JWKS: jwks,
          INTERNAL_JWT_PRIVATE_JWK: JSON.stringify(secrets.internalKeys[service.appId].privateJwk),
        },
      });
      envs[service.appId] = env;
      running.push(
        await service.start({
          env,
          bus,
          ...(isGateway ? { tls: { key: secrets.tls.key, cert: secrets.tls.cert } } : {}),
        }),
      );
    }

    bus.start();

    // To the gateway's configured public origin (PUBLIC_BASE_URL, default https://localhost:<https port>).
    const gatewayOrigin = new URL(envs['api-gateway']['PUBLIC_BASE_URL'] ?? `https://localhost:${httpsPort}`).origin;
    redirect = createHttpsRedirectServer(gatewayOrigin);
    await new Promise<void>((ok, fail) => {
      redirect!.once('error', fail).listen(httpPort, '127.0.0.1', ok);
    });

    const serviceUrls = Object.fromEntries(running.filter((r) => r.appId !== 'api-gateway').map((r) => [r.appId, r.url]));
    const internalUrls = Object.fromEntries(running.map((r) => [r.appId, r.internalUrl]));
    const redirectServer = redirect;
    // For `npm run identity` / `npm run ledger`: the databases, and identity's settings (its key ring,
    // argon2 cost) so the command writes what the running service can read.
    await writeRuntimeFile(dataDir, {
      mode: 'embedded',
      pid: process.pid,
      startedAt: new Date().toISOString(),
      gatewayUrl: `https://localhost:${httpsPort}`,
      services: Object.fromEntries(
        SERVICES.map((s) => [
          s.appId,
          {
            databaseUrl: databases[s.appId]!.appUrl,
            settings: s.appId === 'identity' ? settingsForOperators(envs.identity, s.keys) : {},
          },
        ]),
      ),
    });
    return {
      dataDir,
      gatewayUrl: `https://localhost:${httpsPort}`,
      redirectUrl: `http://localhost:${httpPort}`,
      certificateFile,
      certificate: secrets.tls.cert,
      serviceUrls,
      internalUrls,
      databases,
      adminUrl: postgres.adminUrl,
      async stop() {
        await removeRuntimeFile(dataDir);
        await closeServer(redirectServer, 2_000);
        for (const service of [...running].reverse()) await service.stop();
        await bus.close();
        await postgres.stop();
        await lock.release();
      },
    };
  } catch (error) {
    if (redirect) await closeServer(redirect, 1_000);
    for (const service of running.reverse()) await service.stop().catch(() => undefined);
    await postgres.stop();
    throw error;
  }
}
