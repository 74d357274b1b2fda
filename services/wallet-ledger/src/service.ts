/** wallet-ledger as a ServiceModule: what the runtime needs to start it in any mode. */
import { createOutboxRelay } from '@wallet/platform';
import type { BackgroundWorker, ServiceModule } from '@wallet/service-kit';
import { Counter } from 'prom-client';
import { configSchema, type Config } from './config.ts';
import type { LedgerDatabase } from './db/schema.ts';
import { migrations } from './db/migrations/index.ts';
import { createIdempotencyStore } from './db/idempotency-store.ts';
import { createSystemAccounts } from './db/system-accounts.ts';
import { subscribeUserRegistered } from './events/user-registered.ts';
import { mountRoutes } from './http/routes.ts';
import type { LedgerDeps } from './operations/deps.ts';
import { expireAdjustmentRequests } from './operations/adjustment-requests.ts';
import { expireHolds } from './operations/provider-events.ts';
import { createRiskClient } from './risk-client.ts';

/** Runs `tick` every `intervalMs` until stopped; a failing tick is logged and retried next time. */
function intervalWorker(
  name: string,
  intervalMs: number,
  tick: () => Promise<unknown>,
  onError: (e: unknown) => void,
): BackgroundWorker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().catch(onError).finally(schedule);
    }, intervalMs);
  };
  return {
    name,
    start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

export const service: ServiceModule<LedgerDatabase, Config> = {
  appId: 'wallet-ledger',
  configSchema,
  migrations,
  allowedCallers: ['api-gateway'],
  create(ctx) {
    const { db, reader } = ctx.database;
    const ledger: LedgerDeps = {
      db,
      reader,
      systemAccounts: createSystemAccounts(db, ctx.config.SYSTEM_ACCOUNT_SHARDS),
      config: ctx.config,
    };
    const failOpen = new Counter({
      name: 'ledger_risk_fail_open_total',
      help: 'Movements that proceeded although risk did not answer (below the fail-open amount).',
      registers: [ctx.metrics.registry],
    });
    subscribeUserRegistered({
      platform: ctx.platform,
      db,
      logger: ctx.logger,
      platformCurrency: ctx.config.PLATFORM_CURRENCY,
    });
    const relay = createOutboxRelay({
      db,
      platform: ctx.platform,
      logger: ctx.logger,
      pollIntervalMs: ctx.config.OUTBOX_POLL_INTERVAL_MS,
      metrics: ctx.metrics.registry,
    });
    const workers: BackgroundWorker[] = [
      { name: 'outbox-relay', start: () => relay.start(), stop: () => relay.stop() },
      intervalWorker(
        'hold-expiry',
        ctx.config.HOLD_EXPIRY_INTERVAL_MS,
        async () => {
          const expired = await expireHolds(ledger);
          if (expired > 0) ctx.logger.info({ expired }, 'withdrawal holds expired');
          // Approval checks the expiry itself; this only makes the stored status say so.
          const requests = await expireAdjustmentRequests(db);
          if (requests > 0) ctx.logger.info({ expired: requests }, 'adjustment requests expired');
        },
        (err) => ctx.logger.error({ err }, 'hold expiry failed'),
      ),
    ];
    return Promise.resolve({
      routes: (app) =>
        mountRoutes(app, {
          verifier: ctx.verifier,
          ledger,
          idempotency: createIdempotencyStore(db, ctx.config.IDEMPOTENCY_LEASE_SECONDS),
          risk: createRiskClient({
            platform: ctx.platform,
            signer: ctx.signer,
            timeoutMs: ctx.config.RISK_TIMEOUT_MS,
          }),
          platform: ctx.platform,
          logger: ctx.logger,
          riskPolicy: {
            platformCurrency: ctx.config.PLATFORM_CURRENCY,
            failOpenBelow: ctx.config.RISK_FAIL_OPEN_BELOW,
          },
          onRiskFailOpen: () => failOpen.inc(),
          adjustments: {
            ceilings: ctx.config.ADJUSTMENT_CEILINGS,
            requestTtlSeconds: ctx.config.ADJUSTMENT_REQUEST_TTL_SECONDS,
          },
        }),
      workers,
      bodyLimit: '16kb',
    });
  },
};
