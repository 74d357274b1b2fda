/**
 * Two real apps, each an Express app beside its own daprd, as the services run:
 * `platform-contract-a` and `platform-contract-b` (the app ids `components/local/*` and
 * `dapr/config.contract.yaml` scope for tests), mTLS through the local sentry, API tokens in both
 * directions (DAPR_API_TOKEN app -> sidecar, APP_API_TOKEN sidecar -> app, checked on every route of
 * the app), pub/sub on RabbitMQ or Kafka, state on Redis.
 *
 * daprd reads `GET /dapr/subscribe` once when it starts, so every subscription of every suite that
 * shares the pair is registered before `start()`: the contract's through its setup, the others
 * through `addSubscriptions`.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { REPO_ROOT, componentsFolder, freePorts, startDaprd } from '@wallet/dapr-harness';
import type { Daprd, PubsubKind } from '@wallet/dapr-harness';
import { infraEnv, waitFor } from '@wallet/testing';
import { createDaprPlatform, daprSubscriptionRouter, requireAppApiToken } from '../../src/dapr/index.ts';
import type { DaprPlatform } from '../../src/dapr/index.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Platform } from '../../src/port.ts';
import type { ContractEnvironment, ContractSetup } from '../contract/platform-contract.ts';

export const APP_A = 'platform-contract-a';
export const APP_B = 'platform-contract-b';
export const APP_IDS = [APP_A, APP_B] as const;
export type PairAppId = (typeof APP_IDS)[number];

/** Deliveries of one message before it is dead-lettered: 1 + `deliveryRetry.maxRetries` (4) of dapr/resiliency.contract.yaml. */
export const DAPR_MAX_DELIVERY_ATTEMPTS = 5;

/** The local infrastructure the suites need; undefined (skip) on a laptop without it, a failure in CI. */
export interface DaprInfra {
  daprdBin: string;
  sentryAddress: string;
  trustAnchorsFile: string;
  /** Only checked for presence: the component files carry the addresses. */
  broker: string;
  redis: string;
}

export function daprInfra(pubsub: PubsubKind): DaprInfra | undefined {
  const daprdBin = infraEnv('DAPRD_BIN');
  const sentryAddress = infraEnv('SENTRY_ADDRESS');
  const trustAnchorsFile = infraEnv('DAPR_TRUST_ANCHORS_FILE');
  const broker = infraEnv(pubsub === 'kafka' ? 'KAFKA_BROKERS' : 'RABBITMQ_URL');
  const redis = infraEnv('REDIS_URL');
  if (!daprdBin || !sentryAddress || !trustAnchorsFile || !broker || !redis) return undefined;
  return { daprdBin, sentryAddress, trustAnchorsFile, broker, redis };
}

export interface RunningPair {
  platforms: Record<PairAppId, DaprPlatform>;
  sidecars: Record<PairAppId, Daprd>;
  /** The apps' own base URLs (what daprd calls). */
  appUrls: Record<PairAppId, string>;
  daprApiTokens: Record<PairAppId, string>;
  appApiTokens: Record<PairAppId, string>;
  /** Requests that reached each app's own routes (after the token check), path + query. */
  appRequests: Record<PairAppId, string[]>;
}

type SubscribeAll = (platforms: Readonly<Record<PairAppId, Platform>>) => void;

const token = (): string => randomBytes(24).toString('base64url');

export class SidecarPair {
  readonly pubsub: PubsubKind;
  readonly infra: DaprInfra;
  readonly run = randomBytes(3).toString('hex');
  private readonly extraSubscriptions: SubscribeAll[] = [];
  private readonly extraRoutes: Partial<Record<PairAppId, (RequestListener | express.Router)[]>> = {};
  private started: Promise<RunningPair> | undefined;
  private readonly servers: Server[] = [];
  private readonly daprds: Daprd[] = [];
  private readonly platformsMade: DaprPlatform[] = [];

  constructor(pubsub: PubsubKind, infra: DaprInfra) {
    this.pubsub = pubsub;
    this.infra = infra;
  }

  /** Registers subscriptions to make before the sidecars start. */
  addSubscriptions(subscribe: SubscribeAll): void {
    if (this.started) throw new Error('addSubscriptions after start: daprd would never see them');
    this.extraSubscriptions.push(subscribe);
  }

  /** Serves `listener` on `appId`'s app (behind the token check), after the contract's routes. */
  addRoutes(appId: PairAppId, listener: RequestListener | express.Router): void {
    if (this.started) throw new Error('addRoutes after start');
    (this.extraRoutes[appId] ??= []).push(listener);
  }

  /** Starts the pair once; later calls get the same pair. The contract's setup must come with the first call. */
  start(contract?: ContractSetup): Promise<RunningPair> {
    if (contract && this.started) throw new Error('the contract setup must be given to the first start()');
    this.started ??= this.launch(contract);
    return this.started;
  }

  /** The environment runPlatformContract wants; closing it leaves the pair to `stop()`. */
  async contractEnvironment(setup: ContractSetup): Promise<ContractEnvironment> {
    const running = await this.start(setup);
    return {
      platforms: running.platforms,
      maxDeliveryAttempts: DAPR_MAX_DELIVERY_ATTEMPTS,
      exactDeliveryCounts: true,
      timeoutMs: 30_000,
      close: () => Promise.resolve(),
    };
  }

  private async launch(contract: ContractSetup | undefined): Promise<RunningPair> {
    if (contract) {
      const unknown = contract.appIds.filter((id) => !(APP_IDS as readonly string[]).includes(id));
      if (unknown.length > 0) throw new Error(`the pair has no app for ${unknown.join(', ')}`);
    }
    const daprApiTokens = { [APP_A]: token(), [APP_B]: token() } as Record<PairAppId, string>;
    const appApiTokens = { [APP_A]: token(), [APP_B]: token() } as Record<PairAppId, string>;
    const ports = await freePorts(6);
    const daprPorts = {
      [APP_A]: { http: ports[0]!, grpc: ports[1]!, internalGrpc: ports[2]! },
      [APP_B]: { http: ports[3]!, grpc: ports[4]!, internalGrpc: ports[5]! },
    };
    const platforms = {} as Record<PairAppId, DaprPlatform>;
    for (const appId of APP_IDS) {
      platforms[appId] = createDaprPlatform({
        appId,
        daprHttpPort: daprPorts[appId].http,
        daprApiToken: daprApiTokens[appId],
        logger: silentLogger,
        timeoutMs: 10_000,
      });
      this.platformsMade.push(platforms[appId]);
    }

    // Every subscription before daprd starts; the warm-up topic last, so that once it is delivered
    // the subscriptions before it are in place too (RabbitMQ binds queues in this order).
    contract?.subscribe(platforms);
    for (const subscribe of this.extraSubscriptions) subscribe(platforms);
    const warmupTopic = `contract.${this.run}.warmup`;
    const warmedUp = new Set<string>();
    for (const appId of APP_IDS) {
      platforms[appId].subscribe(warmupTopic, () => {
        warmedUp.add(appId);
        return Promise.resolve('SUCCESS');
      });
    }

    const appRequests = { [APP_A]: [], [APP_B]: [] } as Record<PairAppId, string[]>;
    const appUrls = {} as Record<PairAppId, string>;
    for (const appId of APP_IDS) {
      const app = express();
      // Only the sidecar may call the app: every route, its own included, needs APP_API_TOKEN.
      app.use(requireAppApiToken(appApiTokens[appId]));
      app.use(daprSubscriptionRouter(platforms[appId], { appApiToken: appApiTokens[appId] }));
      app.use((req, _res, next) => {
        appRequests[appId].push(req.originalUrl);
        next();
      });
      const own = contract?.httpApps[appId];
      if (own) app.use(own);
      for (const listener of this.extraRoutes[appId] ?? []) app.use(listener);
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.servers.push(server);
      appUrls[appId] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    const sidecars = {} as Record<PairAppId, Daprd>;
    await Promise.all(
      APP_IDS.map(async (appId) => {
        const logFile = join(REPO_ROOT, '.data', 'test-logs', `daprd-${this.pubsub}-${appId}.log`);
        rmSync(logFile, { force: true });
        const sidecar = await startDaprd({
          appId,
          appPort: Number(new URL(appUrls[appId]).port),
          components: componentsFolder(this.pubsub),
          daprApiToken: daprApiTokens[appId],
          appApiToken: appApiTokens[appId],
          ports: daprPorts[appId],
          daprdBin: this.infra.daprdBin,
          sentryAddress: this.infra.sentryAddress,
          trustAnchorsFile: this.infra.trustAnchorsFile,
          logFile,
          readyTimeoutMs: 60_000,
        });
        this.daprds.push(sidecar);
        sidecars[appId] = sidecar;
      }),
    );

    // Subscriptions are live once a message published now reaches both apps. Published again every
    // second: a copy sent before a queue was bound is simply gone.
    const publishWarmup = (): Promise<void> =>
      platforms[APP_A].publish(warmupTopic, { type: 'wallet.contract.warmup.v1', source: APP_A, data: {} });
    await publishWarmup();
    let lastPublish = Date.now();
    await waitFor(
      async () => {
        if (warmedUp.size === APP_IDS.length) return true;
        if (Date.now() - lastPublish > 1_000) {
          lastPublish = Date.now();
          await publishWarmup();
        }
        return false;
      },
      { timeoutMs: 60_000, intervalMs: 25, what: `both apps to receive a warm-up event over ${this.pubsub}` },
    );
    return { platforms, sidecars, appUrls, daprApiTokens, appApiTokens, appRequests };
  }

  async stop(): Promise<void> {
    // Sidecars first (they stop calling the apps), then the apps and the platforms' clients.
    await Promise.all(this.daprds.map((d) => d.stop()));
    for (const server of this.servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await Promise.all(this.platformsMade.map((p) => p.close()));
  }
}
