/**
 * One self-hosted daprd, started through `infra/run-daprd.sh` (so tests, scripts and developers run
 * the sidecar with the very same flags: loopback, mTLS through our sentry, no placement/scheduler,
 * the Configuration chosen by app id) and awaited through its health endpoint with a deadline.
 */
import { join } from 'node:path';
import { REPO_ROOT } from './infra.ts';
import { waitForHttp } from './http.ts';
import { startProcess } from './process.ts';
import type { ExitInfo, ManagedProcess } from './process.ts';
import { freePorts } from './ports.ts';

export interface DaprdOptions {
  appId: string;
  /** The app's port on 127.0.0.1; omit for a sidecar without an app (publish, state, outbound invoke only). */
  appPort?: number;
  /** Components folder (`componentsFolder('rabbitmq' | 'kafka')`). */
  components: string;
  /** Configuration file; default: run-daprd.sh's choice by app id (dapr/config.<app-id>.yaml, ...). */
  config?: string;
  /** daprd demands it from the app in `dapr-api-token` (DAPR_API_TOKEN). */
  daprApiToken?: string;
  /** daprd sends it to the app in `dapr-api-token` (APP_API_TOKEN). */
  appApiToken?: string;
  /**
   * Fixed ports (below 32768: infra/ports.env); the missing ones are picked now from the harness
   * block of infra/ports.env and released for daprd to bind (`freePorts`, see infra/ports.md).
   */
  ports?: { http?: number; grpc?: number; internalGrpc?: number };
  /** mTLS through sentry. Default true. */
  mtls?: boolean;
  /** Defaults: the environment's DAPRD_BIN, SENTRY_ADDRESS, DAPR_TRUST_ANCHORS_FILE, else run-daprd.sh's. */
  daprdBin?: string;
  sentryAddress?: string;
  trustAnchorsFile?: string;
  /** daprd --log-level. Default info. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Append daprd's output to this file. */
  logFile?: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Base environment (default: ours); the Dapr variables above are set on top. */
  env?: NodeJS.ProcessEnv;
  /**
   * What "ready" means: `healthz` (everything, the app channel included: the app must listen),
   * `outbound` (components and API up; what an app's readiness checks), `none` (return at once).
   * Default: `healthz` with an app, `outbound` without.
   */
  waitFor?: 'healthz' | 'outbound' | 'none';
  /** Deadline for readiness. Default 30 s. */
  readyTimeoutMs?: number;
  /** Extra daprd flags. */
  extraArgs?: readonly string[];
}

export interface Daprd {
  readonly appId: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly internalGrpcPort: number;
  /** http://127.0.0.1:<httpPort> */
  readonly httpUrl: string;
  readonly process: ManagedProcess;
  /** Waits for `/v1.0/healthz` (or `/outbound`) to answer 204, failing early if daprd exits. */
  waitReady(kind?: 'healthz' | 'outbound', timeoutMs?: number): Promise<void>;
  /** Graceful stop (SIGTERM, daprd drains in about a second), SIGKILL at the deadline. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
}

const RUN_DAPRD = join(REPO_ROOT, 'infra', 'run-daprd.sh');

export async function startDaprd(options: DaprdOptions): Promise<Daprd> {
  const given = options.ports ?? {};
  const missing = [given.http, given.grpc, given.internalGrpc].filter((p) => p === undefined).length;
  const picked = missing > 0 ? await freePorts(missing) : [];
  const httpPort = given.http ?? picked.shift()!;
  const grpcPort = given.grpc ?? picked.shift()!;
  const internalGrpcPort = given.internalGrpc ?? picked.shift()!;

  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  // Never inherit another sidecar's tokens or ports by accident.
  for (const name of [
    'DAPR_API_TOKEN',
    'APP_API_TOKEN',
    'DAPR_CONFIG',
    'DAPRD_PORTS_FILE',
    'DAPR_METRICS_PORT',
  ]) {
    delete env[name];
  }
  Object.assign(env, {
    DAPR_HTTP_PORT: String(httpPort),
    DAPR_GRPC_PORT: String(grpcPort),
    DAPR_INTERNAL_GRPC_PORT: String(internalGrpcPort),
    DAPR_MTLS: options.mtls === false ? '0' : '1',
    DAPR_LOG_LEVEL: options.logLevel ?? 'info',
  });
  if (options.daprApiToken) env['DAPR_API_TOKEN'] = options.daprApiToken;
  if (options.appApiToken) env['APP_API_TOKEN'] = options.appApiToken;
  if (options.config) env['DAPR_CONFIG'] = options.config;
  if (options.daprdBin) env['DAPRD_BIN'] = options.daprdBin;
  if (options.sentryAddress) env['SENTRY_ADDRESS'] = options.sentryAddress;
  if (options.trustAnchorsFile) env['DAPR_TRUST_ANCHORS_FILE'] = options.trustAnchorsFile;

  const child = startProcess({
    name: `daprd ${options.appId}`,
    command: 'bash',
    args: [
      RUN_DAPRD,
      options.appId,
      String(options.appPort ?? 0),
      options.components,
      ...(options.extraArgs ?? []),
    ],
    env,
    cwd: REPO_ROOT,
    ...(options.logFile ? { logFile: options.logFile } : {}),
    ...(options.onLine ? { onLine: options.onLine } : {}),
  });

  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const sidecar: Daprd = {
    appId: options.appId,
    httpPort,
    grpcPort,
    internalGrpcPort,
    httpUrl,
    process: child,
    async waitReady(kind = options.appPort === undefined ? 'outbound' : 'healthz', timeoutMs = 30_000) {
      const path = kind === 'healthz' ? '/v1.0/healthz' : '/v1.0/healthz/outbound';
      await waitForHttp(`${httpUrl}${path}`, {
        timeoutMs,
        intervalMs: 50,
        what: `daprd ${options.appId} ${path}`,
        process: child,
      });
    },
    stop: (timeoutMs = 10_000) => child.stop({ signal: 'SIGTERM', timeoutMs }),
  };

  const waitFor = options.waitFor ?? (options.appPort === undefined ? 'outbound' : 'healthz');
  if (waitFor !== 'none') {
    try {
      await sidecar.waitReady(waitFor, options.readyTimeoutMs ?? 30_000);
    } catch (error) {
      await child.stop({ timeoutMs: 3_000 });
      throw error;
    }
  }
  return sidecar;
}
