/** wallet-ledger as a ServiceModule: what the runtime needs to start it in any mode. */
import {
  outboxRelayWorker,
  periodicWorker,
  type BackgroundWorker,
  type ServiceModule,
} from '@wallet/service-kit';
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
    const workers: BackgroundWorker[] = [
      outboxRelayWorker({
        db,
        platform: ctx.platform,
        logger: ctx.logger,
        pollIntervalMs: ctx.config.OUTBOX_POLL_INTERVAL_MS,
        metrics: ctx.metrics.registry,
      }),
      periodicWorker({
        name: 'hold-expiry',
        intervalMs: ctx.config.HOLD_EXPIRY_INTERVAL_MS,
        tick: async () => {
          const expired = await expireHolds(ledger);
          if (expired > 0) ctx.logger.info({ expired }, 'withdrawal holds expired');
          // Approval checks the expiry itself; this only makes the stored status say so.
          const requests = await expireAdjustmentRequests(db);
          if (requests > 0) ctx.logger.info({ expired: requests }, 'adjustment requests expired');
        },
        onError: (err) => ctx.logger.error({ err }, 'hold expiry failed'),
      }),
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
