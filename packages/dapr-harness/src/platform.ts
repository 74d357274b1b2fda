// Longer than 400 lines: starts and stops the whole Dapr-mode platform (sentry, five daprd, five apps) as one ordered procedure.
/**
 * The wallet platform in "dapr (local)" mode, as a library: `npm run start:dapr` (fixed ports) and the
 * system tests (free ports) start it with the very same code.
 *
 *  1. infrastructure (optional): `infra/local.sh up postgres redis <broker> sentry` (idempotent)
 *  2. migrations of each service as its database's owner role (PG_<SVC>_OWNER_URL)
 *  3. development keys for the internal tokens and the gateway's TLS certificate, kept in a secrets file
 *     (0600; default .data/dapr/dev-secrets.json) and made by the caller's generator on first use
 *  4. each service as its own process (runtime role, PLATFORM_TRANSPORT=dapr) beside its own daprd:
 *     mTLS through sentry, the service's Configuration (access policies), DAPR_API_TOKEN and
 *     APP_API_TOKEN fresh for this run
 *  5. waits for every service's /readyz (which includes its sidecar).
 *
 * Two platforms on one machine (a developer's `start:dapr` and a test run) use the same app ids, so
 * mDNS, the brokers' consumer groups and the Redis key prefixes make them replicas of ONE platform:
 * that is why they share the databases of `infra/local.sh` and the secrets file (a gateway of one may
 * call an identity of the other, which must accept its internal token).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { APP_IDS, type AppId } from '@wallet/contracts';
import { daprModePorts } from '@wallet/contracts/local-ports';
import { startDaprd } from './daprd.ts';
import type { Daprd } from './daprd.ts';
import { waitForHttp } from './http.ts';
import { REPO_ROOT, componentsFolder, readInfraEnv } from './infra.ts';
import type { PubsubKind } from './infra.ts';
import { freePorts, portInUse } from './ports.ts';
import { describeExit, startProcess } from './process.ts';
import type { ExitInfo, ManagedProcess } from './process.ts';

export interface DaprPlatformServiceSpec {
  appId: AppId;
  /** Suffix of PG_<SVC>_URL / PG_<SVC>_OWNER_URL in `infra/local.sh env`. */
  db: string;
  /** The service's port with `ports: 'fixed'`. */
  port: number;
  /** The sidecar's HTTP port with `ports: 'fixed'` (so developers can curl it). */
  daprHttpPort: number;
  /** The sidecar's gRPC API port with `ports: 'fixed'`. */
  daprGrpcPort: number;
  /** The sidecar's internal gRPC port (sidecar to sidecar, advertised by mDNS) with `ports: 'fixed'`. */
  daprInternalGrpcPort: number;
}

const withFixedPorts = (appId: AppId, db: string): DaprPlatformServiceSpec => {
  const ports = daprModePorts(appId);
  return {
    appId,
    db,
    port: ports.app,
    daprHttpPort: ports.daprHttp,
    daprGrpcPort: ports.daprGrpc,
    daprInternalGrpcPort: ports.daprInternalGrpc,
  };
};

/**
 * The services and `start:dapr`'s fixed ports (infra/ports.env: apps 3100-3104, sidecars' HTTP
 * 3500-3504, gRPC 3510-3514, internal gRPC 3520-3524). The gateway last: it is the only public entry
 * and calls the others.
 */
export const DAPR_PLATFORM_SERVICES: readonly DaprPlatformServiceSpec[] = [
  withFixedPorts('identity', 'IDENTITY'),
  withFixedPorts('wallet-ledger', 'LEDGER'),
  withFixedPorts('risk', 'RISK'),
  withFixedPorts('notification', 'NOTIFICATION'),
  withFixedPorts('api-gateway', 'GATEWAY'),
];
const GATEWAY: AppId = 'api-gateway';

/** What the services need besides the infrastructure: made once, kept in the secrets file. */
export interface DaprDevSecrets {
  /** One key pair per app for the internal tokens (JWKs; the private ones marked dev-only). */
  internalKeys: Record<AppId, { privateJwk: object; publicJwk: object }>;
  /** The gateway's certificate for https://localhost (PEM). */
  tls: { key: string; cert: string };
}

export interface DaprPlatformOptions {
  pubsub: PubsubKind;
  /**
   * Makes the secrets when `secretsFile` does not exist yet (`generateDaprDevSecrets` of
   * `@wallet/embedded-host/secrets`: injected, as that package depends on this one through the platform).
   */
  generateSecrets: () => Promise<DaprDevSecrets>;
  /** Default `.data/dapr/dev-secrets.json`, shared by every run (see the module comment). */
  secretsFile?: string;
  /** Logs (`logs/<app>.log`, `logs/daprd-<app>.log`, rewritten each run) and the certificate files. Default `.data/dapr`. */
  dataDir?: string;
  /**
   * `fixed`: `DAPR_PLATFORM_SERVICES`' ports from infra/ports.env (start:dapr; refused when one is
   * taken). `free`: ports picked now from the harness block of infra/ports.env (tests: no clash
   * with a running start:dapr; see infra/ports.md). Default `fixed`.
   */
  ports?: 'fixed' | 'free';
  /** Run `infra/local.sh up postgres redis <broker> sentry` first. Default false (it must be up). */
  startInfrastructure?: boolean;
  /** `infra/local.sh env`'s variables; default: read now. */
  infra?: Record<string, string>;
  /** Readiness deadline per service. Default 90 s. */
  readyTimeoutMs?: number;
  /** The services' LOG_LEVEL (their log files). Default: LOG_LEVEL, else info. */
  logLevel?: string;
  /** Progress lines (`==> migrations`...). */
  log?: (line: string) => void;
  /** Every output line of every child process (infrastructure, migrations, services, sidecars). */
  onOutput?: (name: string, line: string) => void;
  /** Base environment of the children. Default: ours. */
  env?: NodeJS.ProcessEnv;
  /** Extra environment per service, set last. */
  serviceEnv?: Partial<Record<AppId, Record<string, string>>>;
  /** Aborting during start-up stops what was started and rejects. */
  signal?: AbortSignal;
}

export interface DaprPlatformService {
  appId: AppId;
  /** The service's own base URL (the gateway's is https://localhost:<port>). */
  url: string;
  sidecarUrl: string;
  /** The service's own process (tests stop and continue it to play a frozen service). */
  pid: number;
  logFile: string;
  daprdLogFile: string;
  /** The environment the service process was given (start:dapr's runtime file takes identity's settings from it). */
  env: NodeJS.ProcessEnv;
}

export interface StoppedProcess {
  name: string;
  exit: ExitInfo;
}

export interface DaprPlatform {
  pubsub: PubsubKind;
  /** https://localhost:<port> */
  gatewayUrl: string;
  /** The gateway's self-signed certificate (PEM), to trust as a CA. */
  certificate: string;
  certificateFile: string;
  logDir: string;
  services: readonly DaprPlatformService[];
  serviceUrls: Record<AppId, string>;
  /** Resolves if a service or sidecar exits before `stop()` (a half-running platform misleads); never after. */
  unexpectedExit: Promise<StoppedProcess & { tail: string }>;
  /** Services first (they drain while their sidecars still publish), then sidecars; SIGKILL at the deadlines. Idempotent. */
  stop(): Promise<StoppedProcess[]>;
  /** SIGKILL to everything, at once. */
  kill(): void;
  /**
   * Kills one service process or one sidecar (SIGKILL by default: `kill -9`) and starts it again with
   * the same ports, tokens and environment, as Kubernetes restarts a crashed container; resolves once it
   * is ready again (the service's /readyz, or the sidecar's health). Its exit is expected: it does not
   * resolve `unexpectedExit`, but a replacement that dies later does.
   */
  restart(appId: AppId, part: 'service' | 'sidecar', options?: RestartOptions): Promise<RestartTimings>;
  /** The current pid of a service process or sidecar (it changes with `restart`). */
  pidOf(appId: AppId, part: 'service' | 'sidecar'): number;
}

export interface RestartOptions {
  /** Default SIGKILL. */
  signal?: NodeJS.Signals;
  /** Readiness deadline of the replacement. Default: the platform's `readyTimeoutMs`. */
  readyTimeoutMs?: number;
}

export interface RestartTimings {
  /** From the signal until the old process had exited. */
  exitedMs: number;
  /** From the signal until the replacement was ready. */
  readyMs: number;
}

function required(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`infra/local.sh env printed no ${name}`);
  return value;
}

const token = (): string => randomBytes(32).toString('base64url');

async function loadOrCreateSecrets(
  file: string,
  generate: () => Promise<DaprDevSecrets>,
): Promise<DaprDevSecrets> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DaprDevSecrets;
  const secrets = await generate();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

interface Layout extends DaprPlatformServiceSpec {
  url: string;
}

async function layout(ports: 'fixed' | 'free'): Promise<Layout[]> {
  if (ports === 'fixed') {
    const busy: string[] = [];
    for (const s of DAPR_PLATFORM_SERVICES) {
      for (const port of [s.port, s.daprHttpPort, s.daprGrpcPort, s.daprInternalGrpcPort]) {
        if (await portInUse(port)) busy.push(String(port));
      }
    }
    if (busy.length > 0) {
      throw new Error(`ports ${busy.join(', ')} are taken on 127.0.0.1 (another start:dapr running?)`);
    }
  }
  const perService = 4;
  const picked = ports === 'free' ? await freePorts(DAPR_PLATFORM_SERVICES.length * perService) : [];
  return DAPR_PLATFORM_SERVICES.map((s, i) => {
    const free = picked.slice(perService * i, perService * (i + 1));
    const [port, daprHttpPort, daprGrpcPort, daprInternalGrpcPort] =
      ports === 'free'
        ? (free as [number, number, number, number])
        : [s.port, s.daprHttpPort, s.daprGrpcPort, s.daprInternalGrpcPort];
    const url = s.appId === GATEWAY ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
    return { ...s, port, daprHttpPort, daprGrpcPort, daprInternalGrpcPort, url };
  });
}

export async function startDaprPlatform(options: DaprPlatformOptions): Promise<DaprPlatform> {
  // Every app id needs a slot; fail loudly if the contracts grow a service this module does not know.
  const missing = APP_IDS.filter((id) => !DAPR_PLATFORM_SERVICES.some((s) => s.appId === id));
  if (missing.length > 0) throw new Error(`startDaprPlatform: no settings for ${missing.join(', ')}`);

  const { pubsub, signal } = options;
  const log = options.log ?? (() => undefined);
  const output = options.onOutput;
  const baseEnv = options.env ?? process.env;
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const logLevel = options.logLevel ?? baseEnv['LOG_LEVEL'] ?? 'info';
  const dataDir = options.dataDir ?? join(REPO_ROOT, '.data', 'dapr');
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });

  // Everything started, in order; `services` and `sidecars` are what stop() stops (migrations finish on their own).
  const all: ManagedProcess[] = [];
  const services = new Map<AppId, ManagedProcess>();
  const serviceEnvs = new Map<AppId, NodeJS.ProcessEnv>();
  const sidecars = new Map<AppId, Daprd>();
  /** How to start one app's service or sidecar again (filled in by start-up). */
  const relaunchers = new Map<
    AppId,
    { service: (timeoutMs: number) => Promise<void>; sidecar: (timeoutMs: number) => Promise<void> }
  >();
  /** Processes killed on purpose by `restart`: their exit is not "unexpected". */
  const expectedExits = new Set<ManagedProcess>();
  let reportExit: (exit: StoppedProcess & { tail: string }) => void = () => undefined;
  const unexpectedExit = new Promise<StoppedProcess & { tail: string }>((resolve) => {
    reportExit = resolve;
  });
  const watch = (p: ManagedProcess): void => {
    void p.exited.then((exit) => {
      if (!stopping && !expectedExits.has(p)) reportExit({ name: p.name, exit, tail: p.tail(30) });
    });
  };
  let stopping = false;

  const run = (name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ManagedProcess => {
    if (stopping) throw new Error(`${name}: the platform is stopping`);
    const child = startProcess({
      name,
      command,
      args,
      env,
      cwd: REPO_ROOT,
      ...(output ? { onLine: (line: string) => output(name, line) } : {}),
    });
    all.push(child);
    return child;
  };
  const mustSucceed = async (child: ManagedProcess): Promise<void> => {
    const exit = await child.exited;
    if (exit.code !== 0) throw new Error(`${child.name} ${describeExit(exit)}:\n${child.tail(30)}`);
  };

  let stopped: Promise<StoppedProcess[]> | undefined;
  const stop = (): Promise<StoppedProcess[]> => {
    stopping = true;
    stopped ??= (async () => {
      // Services first (they drain and stop their workers while the sidecar still publishes), then sidecars.
      await Promise.all([...services.values()].map((p) => p.stop({ timeoutMs: 15_000 })));
      await Promise.all([...sidecars.values()].map((d) => d.stop(10_000)));
      // Whatever else is still running (a migration when start-up was aborted).
      await Promise.all(all.map((p) => p.stop({ timeoutMs: 5_000 })));
      return [...services.values(), ...[...sidecars.values()].map((d) => d.process)].map((p) => ({
        name: p.name,
        exit: p.exitInfo() ?? { code: null, signal: null },
      }));
    })();
    return stopped;
  };
  const kill = (): void => {
    stopping = true;
    for (const p of all) p.kill('SIGKILL');
  };

  const startUp = async (): Promise<Layout[]> => {
    const specs = await layout(options.ports ?? 'fixed');

    if (options.startInfrastructure) {
      log(`==> infrastructure: postgres redis ${pubsub} sentry`);
      const up = startProcess({
        name: 'infra/local.sh up',
        command: 'bash',
        args: [join(REPO_ROOT, 'infra', 'local.sh'), 'up', 'postgres', 'redis', pubsub, 'sentry'],
        cwd: REPO_ROOT,
        onLine: (line) => log(`    ${line}`),
      });
      all.push(up);
      await mustSucceed(up);
    }
    const infra = options.infra ?? readInfraEnv();

    log('==> migrations (owner roles)');
    await Promise.all(
      specs.map((s) =>
        mustSucceed(
          run(`migrate ${s.appId}`, process.execPath, [join('services', s.appId, 'src', 'migrate.ts')], {
            ...baseEnv,
            DATABASE_URL: required(infra, `PG_${s.db}_OWNER_URL`),
            LOG_LEVEL: baseEnv['LOG_LEVEL'] ?? 'warn',
          }),
        ),
      ),
    );

    const secrets = await loadOrCreateSecrets(
      options.secretsFile ?? join(REPO_ROOT, '.data', 'dapr', 'dev-secrets.json'),
      options.generateSecrets,
    );
    writeFileSync(certificateFile, secrets.tls.cert);
    writeFileSync(keyFile, secrets.tls.key, { mode: 0o600 });
    certificate = secrets.tls.cert;
    const jwks = JSON.stringify({ keys: APP_IDS.map((id) => secrets.internalKeys[id].publicJwk) });

    log(
      `==> services beside their sidecars (pubsub: ${pubsub}, mTLS via sentry ${required(infra, 'SENTRY_ADDRESS')})`,
    );
    const launch = async (spec: Layout): Promise<void> => {
      const isGateway = spec.appId === GATEWAY;
      const daprApiToken = token();
      // The gateway's sidecar has no app channel: nobody invokes the gateway (dapr/config.api-gateway.yaml)
      // and its port is the public HTTPS entry, which must not demand a sidecar token.
      const appApiToken = isGateway ? undefined : token();
      const serviceLog = join(logDir, `${spec.appId}.log`);
      const daprdLog = join(logDir, `daprd-${spec.appId}.log`);
      rmSync(serviceLog, { force: true });
      rmSync(daprdLog, { force: true });

      const env: NodeJS.ProcessEnv = { ...baseEnv };
      for (const name of [
        'APP_API_TOKEN',
        'DAPR_API_TOKEN',
        'DATABASE_READ_URL',
        'DAPR_HTTP_PORT',
        'DAPR_GRPC_PORT',
      ]) {
        delete env[name];
      }
      if (stopping) throw new Error(`${spec.appId}: the platform is stopping`);
      const startSidecar = (): Promise<Daprd> =>
        startDaprd({
          appId: spec.appId,
          ...(isGateway ? {} : { appPort: spec.port }),
          components: componentsFolder(pubsub),
          daprApiToken,
          ...(appApiToken ? { appApiToken } : {}),
          ports: {
            http: spec.daprHttpPort,
            grpc: spec.daprGrpcPort,
            internalGrpc: spec.daprInternalGrpcPort,
          },
          daprdBin: required(infra, 'DAPRD_BIN'),
          sentryAddress: required(infra, 'SENTRY_ADDRESS'),
          trustAnchorsFile: required(infra, 'DAPR_TRUST_ANCHORS_FILE'),
          logFile: daprdLog,
          env: baseEnv,
          ...(output ? { onLine: (line: string) => output(`daprd ${spec.appId}`, line) } : {}),
          // The service is started next; daprd's full health needs its app, readiness below waits for both.
          waitFor: 'none',
        });
      const sidecar = await startSidecar();
      sidecars.set(spec.appId, sidecar);
      all.push(sidecar.process);
      if (stopping) {
        // stop() began while this sidecar was being spawned: it did not see it.
        await sidecar.stop(5_000);
        throw new Error(`${spec.appId}: the platform is stopping`);
      }

      Object.assign(env, {
        APP_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: String(spec.port),
        LOG_LEVEL: logLevel,
        OTEL_SERVICE_NAME: spec.appId,
        DATABASE_URL: required(infra, `PG_${spec.db}_URL`),
        PLATFORM_TRANSPORT: 'dapr',
        DAPR_HTTP_PORT: String(sidecar.httpPort),
        DAPR_GRPC_PORT: String(sidecar.grpcPort),
        DAPR_API_TOKEN: daprApiToken,
        INTERNAL_JWT_JWKS: jwks,
        INTERNAL_JWT_PRIVATE_JWK: JSON.stringify(secrets.internalKeys[spec.appId].privateJwk),
      });
      if (appApiToken) env['APP_API_TOKEN'] = appApiToken;
      // identity checks passkey ceremonies against the public origin (WEBAUTHN_ORIGINS defaults to it).
      const gatewayUrl = specs.find((s) => s.appId === GATEWAY)?.url;
      if (spec.appId === 'identity' && gatewayUrl) env['PUBLIC_BASE_URL'] = gatewayUrl;
      if (isGateway) {
        Object.assign(env, {
          GATEWAY_TLS_CERT_FILE: certificateFile,
          GATEWAY_TLS_KEY_FILE: keyFile,
          PUBLIC_BASE_URL: spec.url,
          REDIS_URL: required(infra, 'REDIS_URL'),
        });
      }
      Object.assign(env, options.serviceEnv?.[spec.appId]);
      serviceEnvs.set(spec.appId, env);
      if (stopping) throw new Error(`${spec.appId}: the platform is stopping`);
      const startService = (): ManagedProcess =>
        startProcess({
          name: spec.appId,
          command: process.execPath,
          args: [
            '--import',
            '@wallet/service-kit/telemetry-preload',
            join('services', spec.appId, 'src', 'main.ts'),
          ],
          env,
          cwd: REPO_ROOT,
          logFile: serviceLog,
          ...(output ? { onLine: (line: string) => output(spec.appId, line) } : {}),
        });
      const service = startService();
      services.set(spec.appId, service);
      all.push(service);

      // /readyz answers 200 only when the database, the migrations and the sidecar are ready.
      const serviceReady = (child: ManagedProcess, timeoutMs: number) =>
        waitForHttp(`${spec.url}/readyz`, {
          timeoutMs,
          intervalMs: 200,
          what: `${spec.appId} /readyz`,
          process: child,
          ...(isGateway ? { ca: secrets.tls.cert } : {}),
        });
      await serviceReady(service, readyTimeoutMs);
      await sidecar.waitReady(isGateway ? 'outbound' : 'healthz', readyTimeoutMs);
      relaunchers.set(spec.appId, {
        service: async (timeoutMs) => {
          const next = startService();
          services.set(spec.appId, next);
          all.push(next);
          watch(next);
          await serviceReady(next, timeoutMs);
        },
        sidecar: async (timeoutMs) => {
          const next = await startSidecar();
          sidecars.set(spec.appId, next);
          all.push(next.process);
          watch(next.process);
          await next.waitReady(isGateway ? 'outbound' : 'healthz', timeoutMs);
          // The service's own readiness includes its sidecar: wait for both, as start-up does.
          await serviceReady(services.get(spec.appId)!, timeoutMs);
        },
      });
    };

    // The four backends at once, then the gateway, which calls them.
    await Promise.all(specs.filter((s) => s.appId !== GATEWAY).map((s) => launch(s)));
    await launch(specs.find((s) => s.appId === GATEWAY)!);
    return specs;
  };

  const certificateFile = join(dataDir, 'localhost.crt');
  const keyFile = join(dataDir, 'localhost.key');
  let certificate = '';
  let specs: Layout[];
  try {
    signal?.throwIfAborted();
    const starting = startUp();
    // On abort: stop at once (the start-up then fails on its own, as its processes exit).
    const onAbort = (): void => void stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      specs = await starting;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    signal?.throwIfAborted();
  } catch (error) {
    const aborted = signal?.aborted === true;
    log(`start-up ${aborted ? 'aborted' : 'failed'}; stopping what was started`);
    await stop();
    throw aborted ? new Error('start-up aborted', { cause: error }) : error;
  }

  for (const p of [...services.values(), ...[...sidecars.values()].map((d) => d.process)]) watch(p);

  const current = (appId: AppId, part: 'service' | 'sidecar'): ManagedProcess => {
    const p = part === 'service' ? services.get(appId) : sidecars.get(appId)?.process;
    if (!p) throw new Error(`no ${part} ${appId}`);
    return p;
  };
  const restart = async (
    appId: AppId,
    part: 'service' | 'sidecar',
    restartOptions: RestartOptions = {},
  ): Promise<RestartTimings> => {
    if (stopping) throw new Error('the platform is stopping');
    const old = current(appId, part);
    const relaunch = relaunchers.get(appId)!;
    expectedExits.add(old);
    const t0 = performance.now();
    old.kill(restartOptions.signal ?? 'SIGKILL');
    await old.exited;
    const exitedMs = performance.now() - t0;
    await relaunch[part](restartOptions.readyTimeoutMs ?? readyTimeoutMs);
    return { exitedMs, readyMs: performance.now() - t0 };
  };

  const byApp = new Map(specs.map((s) => [s.appId, s]));
  const described = DAPR_PLATFORM_SERVICES.map((s): DaprPlatformService => {
    const spec = byApp.get(s.appId)!;
    return {
      appId: s.appId,
      url: spec.url,
      sidecarUrl: sidecars.get(s.appId)!.httpUrl,
      pid: services.get(s.appId)!.pid,
      logFile: join(logDir, `${s.appId}.log`),
      daprdLogFile: join(logDir, `daprd-${s.appId}.log`),
      env: serviceEnvs.get(s.appId)!,
    };
  });
  return {
    pubsub,
    gatewayUrl: byApp.get(GATEWAY)!.url,
    certificate,
    certificateFile,
    logDir,
    services: described,
    serviceUrls: Object.fromEntries(described.map((s) => [s.appId, s.url])) as Record<AppId, string>,
    unexpectedExit,
    stop,
    kill,
    restart,
    pidOf: (appId, part) => current(appId, part).pid,
  };
}
