/** risk as a ServiceModule: what the runtime needs to start it in any mode. */
import { outboxRelayWorker, type ServiceModule } from '@wallet/service-kit';
import { createAssessmentMetrics } from './application/assess.ts';
import { createRuleCache } from './application/rule-cache.ts';
import { configSchema, type Config } from './config.ts';
import type { RiskDatabase } from './db/schema.ts';
import { migrations } from './db/migrations/index.ts';
import { DEFAULT_RULES } from './domain/rules.default.ts';
import { subscribeProfileConsumers } from './events/profile-consumers.ts';
import { mountRoutes } from './http/routes.ts';

export const service: ServiceModule<RiskDatabase, Config> = {
  appId: 'risk',
  configSchema,
  migrations,
  // The ledger asks before money moves; the gateway asks at login and routes the admin API here.
  allowedCallers: ['wallet-ledger', 'api-gateway'],
  create(ctx) {
    const { db } = ctx.database;
    const rules = createRuleCache({
      db,
      defaults: DEFAULT_RULES,
      ttlMs: ctx.config.RISK_RULES_CACHE_MS,
      logger: ctx.logger,
    });
    const metrics = createAssessmentMetrics(ctx.metrics.registry);
    subscribeProfileConsumers({ platform: ctx.platform, db, logger: ctx.logger });
    return Promise.resolve({
      routes: (app) =>
        mountRoutes(app, {
          verifier: ctx.verifier,
          db,
          platform: ctx.platform,
          rules,
          budgetMs: ctx.config.RISK_ASSESSMENT_BUDGET_MS,
          assessment: { db, state: ctx.platform.state, rules, logger: ctx.logger, metrics },
        }),
      readiness: [{ name: 'rules', check: async () => void (await rules.current()) }],
      workers: [
        outboxRelayWorker({ db, platform: ctx.platform, logger: ctx.logger, metrics: ctx.metrics.registry }),
      ],
    });
  },
};
