/**
 * Starts (and stops) the embedded platform. Used by `npm start` and by the system tests, which start
 * it on other ports and in a throw-away data folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { AppId } from '@wallet/contracts';
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
} from '@wallet/service-kit';
import { service as identity } from '@wallet/identity';
import { service as walletLedger } from '@wallet/wallet-ledger';
import { service as risk } from '@wallet/risk';
import { service as notification } from '@wallet/notification';
import { service as apiGateway } from '@wallet/api-gateway';
import { startEmbeddedPostgres } from './postgres.ts';
import { devJwks, loadOrCreateSecrets } from './secrets.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** A service as the host sees it: its database, its migrations and how to start it. */
interface HostedService {
  appId: AppId;
  database: string;
  migrate(url: string, logger: Logger): Promise<unknown>;
  start(options: StartOptions): Promise<{ appId: AppId; url: string; stop(): Promise<void> }>;
}

function hosted<DB, C extends RuntimeEnv>(module: ServiceModule<DB, C>, database: string): HostedService {
  return {
    appId: module.appId,
    database,
    migrate: (url, logger) => runMigrationsFor(module, url, logger),
    async start(options) {
      const running = await startService(module, options);
      return { appId: module.appId, url: running.url, stop: () => running.stop() };
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
  dataDir?: string;
  postgresPort?: number;
  httpsPort?: number;
  httpPort?: number;
  logLevel?: string;
  /** Extra environment per service (tests point providers at local fakes). */
  serviceEnv?: Partial<Record<AppId, Record<string, string>>>;
}

export interface EmbeddedPlatform {
  dataDir: string;
  gatewayUrl: string;
  redirectUrl: string;
  certificateFile: string;
  certificate: string;
  serviceUrls: Record<string, string>;
  databases: Record<string, ServiceDatabase>;
  adminUrl: string;
  stop(): Promise<void>;
}

/** Where a running embedded platform says how to reach its databases (read by CLIs such as `npm run identity`). */
export const runtimeFileName = 'runtime.json';

export async function startEmbeddedPlatform(options: EmbeddedPlatformOptions = {}): Promise<EmbeddedPlatform> {
  const dataDir = resolve(options.dataDir ?? process.env['WALLET_DATA_DIR'] ?? join(REPO_ROOT, '.data/embedded'));
  const postgresPort = options.postgresPort ?? Number(process.env['EMBEDDED_PG_PORT'] ?? 55400);
  const httpsPort = options.httpsPort ?? Number(process.env['GATEWAY_HTTPS_PORT'] ?? 8443);
  const httpPort = options.httpPort ?? Number(process.env['GATEWAY_HTTP_PORT'] ?? 8080);
  const logLevel = options.logLevel ?? process.env['LOG_LEVEL'] ?? 'warn';
  const hostLogger: Logger = createLogger('embedded-host', { level: logLevel === 'warn' ? 'info' : logLevel });
  await mkdir(dataDir, { recursive: true, mode: 0o755 });

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
    await writeFile(
      join(dataDir, runtimeFileName),
      JSON.stringify({ pid: process.pid, databases }, null, 2),
      { mode: 0o600 },
    );
    await Promise.all(
      SERVICES.map((service) => service.migrate(databases[service.appId]!.ownerUrl, hostLogger.child({ app: service.appId }))),
    );

    const jwks = devJwks(secrets.internalKeys);
    for (const service of SERVICES) {
      const isGateway = service.appId === 'api-gateway';
      const env: NodeJS.ProcessEnv = {
        APP_ENV: 'development',
        LOG_LEVEL: logLevel,
        HOST: '127.0.0.1',
        PORT: isGateway ? String(httpsPort) : '0',
        DATABASE_URL: databases[service.appId]!.appUrl,
        EMBEDDED_DATABASE: 'true',
        PLATFORM_TRANSPORT: 'embedded',
        INTERNAL_JWT_JWKS: jwks,
        INTERNAL_JWT_PRIVATE_JWK: JSON.stringify(secrets.internalKeys[service.appId].privateJwk),
        PUBLIC_BASE_URL: `https://localhost:${httpsPort}`,
        ...options.serviceEnv?.[service.appId],
      };
      running.push(
        await service.start({
          env,
          bus,
          ...(isGateway ? { tls: { key: secrets.tls.key, cert: secrets.tls.cert } } : {}),
        }),
      );
    }

    bus.start();

    redirect = createServer((req, res) => {
      res.writeHead(308, { Location: `https://localhost:${httpsPort}${req.url ?? '/'}` }).end();
    });
    await new Promise<void>((ok, fail) => {
      redirect!.once('error', fail).listen(httpPort, '127.0.0.1', ok);
    });

    const serviceUrls = Object.fromEntries(running.filter((r) => r.appId !== 'api-gateway').map((r) => [r.appId, r.url]));
    const redirectServer = redirect;
    return {
      dataDir,
      gatewayUrl: `https://localhost:${httpsPort}`,
      redirectUrl: `http://localhost:${httpPort}`,
      certificateFile,
      certificate: secrets.tls.cert,
      serviceUrls,
      databases,
      adminUrl: postgres.adminUrl,
      async stop() {
        await closeServer(redirectServer, 2_000);
        for (const service of [...running].reverse()) await service.stop();
        await bus.close();
        await postgres.stop();
      },
    };
  } catch (error) {
    if (redirect) await closeServer(redirect, 1_000);
    for (const service of running.reverse()) await service.stop().catch(() => undefined);
    await postgres.stop();
    throw error;
  }
}
