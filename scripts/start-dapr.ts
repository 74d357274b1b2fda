/**
 * `npm run start:dapr` (PUBSUB=rabbitmq|kafka, default rabbitmq): the platform in "dapr (local)" mode.
 *
 *  1. infrastructure: `infra/local.sh up postgres redis <broker> sentry` (idempotent)
 *  2. migrations of each service as its database's owner role (PG_<SVC>_OWNER_URL)
 *  3. development keys for the internal tokens and the gateway's TLS certificate, kept in
 *     .data/dapr/dev-secrets.json (0600), made like the embedded mode's
 *  4. each service as its own process (runtime role, PLATFORM_TRANSPORT=dapr) beside its own daprd:
 *     mTLS through sentry, the service's Configuration (access policies), DAPR_API_TOKEN and
 *     APP_API_TOKEN fresh for this run
 *  5. waits for every service's /readyz (which includes its sidecar) and prints the URLs.
 *
 * Ctrl-C (or SIGTERM) stops the services first, then their sidecars; a second Ctrl-C kills them.
 * The infrastructure keeps running (`infra/local.sh down` stops it). Logs: .data/dapr/logs/.
 * START_DAPR_LOGS=1 also echoes every process's output here, prefixed with its name.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_IDS, type AppId } from '@wallet/contracts';
import {
  REPO_ROOT,
  componentsFolder,
  describeExit,
  parsePubsub,
  portInUse,
  readInfraEnv,
  startDaprd,
  startProcess,
  waitForHttp,
} from '@wallet/dapr-harness';
import type { Daprd, ManagedProcess } from '@wallet/dapr-harness';
import {
  devJwks,
  generateDevInternalKeys,
  generateDevTlsCertificate,
  type EmbeddedSecrets,
} from '@wallet/embedded-host/secrets';

interface ServiceSpec {
  appId: AppId;
  /** Suffix of PG_<SVC>_URL / PG_<SVC>_OWNER_URL in `infra/local.sh env`. */
  db: string;
  port: number;
  /** The sidecar's HTTP port (fixed, so developers can curl it). */
  daprHttpPort: number;
}

// The gateway last: it is the only public entry and calls the others.
const SERVICES: readonly ServiceSpec[] = [
  { appId: 'identity', db: 'IDENTITY', port: 3101, daprHttpPort: 3501 },
  { appId: 'wallet-ledger', db: 'LEDGER', port: 3102, daprHttpPort: 3502 },
  { appId: 'risk', db: 'RISK', port: 3103, daprHttpPort: 3503 },
  { appId: 'notification', db: 'NOTIFICATION', port: 3104, daprHttpPort: 3504 },
  { appId: 'api-gateway', db: 'GATEWAY', port: 3100, daprHttpPort: 3500 },
];
const GATEWAY: AppId = 'api-gateway';

const READY_TIMEOUT_MS = Number(process.env['START_DAPR_READY_TIMEOUT_MS'] ?? 90_000);
const ECHO_LOGS = process.env['START_DAPR_LOGS'] === '1';
const DATA_DIR = join(REPO_ROOT, '.data', 'dapr');
const LOG_DIR = join(DATA_DIR, 'logs');

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const echo =
  (name: string) =>
  (line: string): void => {
    if (ECHO_LOGS) process.stdout.write(`[${name}] ${line}\n`);
  };

function run(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): ManagedProcess {
  return startProcess({ name, command, args, env, cwd: REPO_ROOT, onLine: echo(name) });
}

async function mustSucceed(child: ManagedProcess): Promise<void> {
  const exit = await child.exited;
  if (exit.code !== 0) throw new Error(`${child.name} ${describeExit(exit)}:\n${child.tail(30)}`);
}

interface DevSecrets {
  internalKeys: EmbeddedSecrets['internalKeys'];
  tls: EmbeddedSecrets['tls'];
}

/** Kept across runs so tokens and sessions minted before a restart stay valid. */
async function loadOrCreateDevSecrets(file: string): Promise<DevSecrets> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  const secrets: DevSecrets = {
    internalKeys: await generateDevInternalKeys(),
    tls: await generateDevTlsCertificate(),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

function required(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`infra/local.sh env printed no ${name}`);
  return value;
}

const token = (): string => randomBytes(32).toString('base64url');

async function main(): Promise<void> {
  const started = Date.now();
  const pubsub = parsePubsub(process.env['PUBSUB']);
  mkdirSync(LOG_DIR, { recursive: true });

  const busy: string[] = [];
  for (const s of SERVICES) {
    for (const port of [s.port, s.daprHttpPort]) if (await portInUse(port)) busy.push(String(port));
  }
  if (busy.length > 0) {
    throw new Error(`ports ${busy.join(', ')} are taken on 127.0.0.1 (another start:dapr running?)`);
  }

  say(`==> infrastructure: postgres redis ${pubsub} sentry`);
  const up = startProcess({
    name: 'infra/local.sh up',
    command: 'bash',
    args: [join(REPO_ROOT, 'infra', 'local.sh'), 'up', 'postgres', 'redis', pubsub, 'sentry'],
    cwd: REPO_ROOT,
    onLine: (line) => say(`    ${line}`),
  });
  await mustSucceed(up);
  const infra = readInfraEnv();

  say('==> migrations (owner roles)');
  await Promise.all(
    SERVICES.map((s) =>
      mustSucceed(
        run(`migrate ${s.appId}`, process.execPath, [join('services', s.appId, 'src', 'migrate.ts')], {
          ...process.env,
          DATABASE_URL: required(infra, `PG_${s.db}_OWNER_URL`),
          LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
        }),
      ),
    ),
  );

  const secrets = await loadOrCreateDevSecrets(join(DATA_DIR, 'dev-secrets.json'));
  const certFile = join(DATA_DIR, 'localhost.crt');
  const keyFile = join(DATA_DIR, 'localhost.key');
  writeFileSync(certFile, secrets.tls.cert);
  writeFileSync(keyFile, secrets.tls.key, { mode: 0o600 });
  const jwks = devJwks(secrets.internalKeys);

  const services = new Map<AppId, ManagedProcess>();
  const sidecars = new Map<AppId, Daprd>();
  let stopping = false;

  const stopAll = async (): Promise<void> => {
    // Services first (they drain and stop their workers while the sidecar still publishes), then sidecars.
    await Promise.all([...services.values()].map((p) => p.stop({ timeoutMs: 15_000 })));
    await Promise.all([...sidecars.values()].map((d) => d.stop(10_000)));
  };

  let firstSignalAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) {
        // npm forwards the terminal's Ctrl-C to us, which the terminal also sent: one press, two signals.
        if (Date.now() - firstSignalAt < 1_000) return;
        say('\nstopping now (SIGKILL)');
        for (const p of services.values()) p.kill('SIGKILL');
        for (const d of sidecars.values()) d.process.kill('SIGKILL');
        process.exit(130);
      }
      stopping = true;
      firstSignalAt = Date.now();
      say(`\n${signal}: stopping services, then sidecars...`);
      stopAll().then(
        () => {
          const all = [...services.values(), ...[...sidecars.values()].map((d) => d.process)];
          say(
            all
              .map((p) => `  ${p.name}: ${describeExit(p.exitInfo() ?? { code: null, signal: null })}`)
              .join('\n'),
          );
          process.exit(0);
        },
        (error: unknown) => {
          process.stderr.write(`error while stopping: ${String(error)}\n`);
          process.exit(1);
        },
      );
    });
  }

  say(
    `==> services beside their sidecars (pubsub: ${pubsub}, mTLS via sentry ${required(infra, 'SENTRY_ADDRESS')})`,
  );
  const launch = async (spec: ServiceSpec): Promise<void> => {
    const isGateway = spec.appId === GATEWAY;
    const daprApiToken = token();
    // The gateway's sidecar has no app channel: nobody invokes the gateway (dapr/config.api-gateway.yaml)
    // and its port is the public HTTPS entry, which must not demand a sidecar token.
    const appApiToken = isGateway ? undefined : token();
    const serviceLog = join(LOG_DIR, `${spec.appId}.log`);
    const daprdLog = join(LOG_DIR, `daprd-${spec.appId}.log`);
    rmSync(serviceLog, { force: true });
    rmSync(daprdLog, { force: true });

    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of [
      'APP_API_TOKEN',
      'DAPR_API_TOKEN',
      'DATABASE_READ_URL',
      'DAPR_HTTP_PORT',
      'DAPR_GRPC_PORT',
    ]) {
      delete env[name];
    }
    const sidecar = await startDaprd({
      appId: spec.appId,
      ...(isGateway ? {} : { appPort: spec.port }),
      components: componentsFolder(pubsub),
      daprApiToken,
      ...(appApiToken ? { appApiToken } : {}),
      ports: { http: spec.daprHttpPort },
      daprdBin: required(infra, 'DAPRD_BIN'),
      sentryAddress: required(infra, 'SENTRY_ADDRESS'),
      trustAnchorsFile: required(infra, 'DAPR_TRUST_ANCHORS_FILE'),
      logFile: daprdLog,
      onLine: echo(`daprd ${spec.appId}`),
      // The service is started next; daprd's full health needs its app, readiness below waits for both.
      waitFor: 'none',
    });
    sidecars.set(spec.appId, sidecar);

    Object.assign(env, {
      APP_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(spec.port),
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
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
    if (isGateway) {
      Object.assign(env, {
        GATEWAY_TLS_CERT_FILE: certFile,
        GATEWAY_TLS_KEY_FILE: keyFile,
        PUBLIC_BASE_URL: `https://localhost:${spec.port}`,
        REDIS_URL: required(infra, 'REDIS_URL'),
      });
    }
    const service = startProcess({
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
      onLine: echo(spec.appId),
    });
    services.set(spec.appId, service);

    // /readyz answers 200 only when the database, the migrations and the sidecar are ready.
    const base = `${isGateway ? 'https://localhost' : 'http://127.0.0.1'}:${spec.port}`;
    await waitForHttp(`${base}/readyz`, {
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 200,
      what: `${spec.appId} /readyz`,
      process: service,
      ...(isGateway ? { ca: secrets.tls.cert } : {}),
    });
    await sidecar.waitReady(isGateway ? 'outbound' : 'healthz', READY_TIMEOUT_MS);
  };

  try {
    // The four backends at once, then the gateway, which calls them.
    const backends = SERVICES.filter((s) => s.appId !== GATEWAY);
    await Promise.all(backends.map((s) => launch(s)));
    await launch(SERVICES.find((s) => s.appId === GATEWAY)!);
  } catch (error) {
    say('start-up failed; stopping what was started');
    await stopAll();
    throw error;
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const row = (s: ServiceSpec): string => {
    const url = s.appId === GATEWAY ? `https://localhost:${s.port}` : `http://127.0.0.1:${s.port}`;
    return `  ${s.appId.padEnd(14)}${url.padEnd(26)}sidecar http://127.0.0.1:${s.daprHttpPort}`;
  };
  say(
    [
      '',
      `wallet platform ready in ${seconds} s (dapr mode: ${pubsub} + redis, mTLS, development only)`,
      `  gateway       https://localhost:3100   (self-signed certificate: ${certFile})`,
      ...SERVICES.map(row),
      `  logs          ${LOG_DIR}`,
      '  Ctrl-C stops the services and their sidecars (infrastructure keeps running: infra/local.sh down).',
      '',
    ].join('\n'),
  );

  // A process that dies on its own takes the platform down: a half-running platform misleads.
  const watched = [...services.values(), ...[...sidecars.values()].map((d) => d.process)];
  const first = await Promise.race(watched.map((p) => p.exited.then((exit) => ({ p, exit }))));
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\n${first.p.name} ${describeExit(first.exit)}; last output:\n${first.p.tail(30)}\n`);
  await stopAll();
  process.exit(1);
}

// Every app id has a slot above; fail loudly if the contracts grow a service this script does not know.
const missing = APP_IDS.filter((id) => !SERVICES.some((s) => s.appId === id));
if (missing.length > 0) throw new Error(`start-dapr: no settings for ${missing.join(', ')}`);

main().catch((error: unknown) => {
  process.stderr.write(`start:dapr failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
