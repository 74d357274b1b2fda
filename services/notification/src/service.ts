/** notification as a ServiceModule: what the runtime needs to start it in any mode. */
import { outboxRelayWorker, type ServiceModule } from '@wallet/service-kit';
import { configSchema, devOutboxEnabled, notificationProductionGuard, type Config } from './config.ts';
import type { NotificationDatabase } from './db/schema.ts';
import { migrations } from './db/migrations/index.ts';
import { createIdentityCodeSource } from './delivery/one-time-codes.ts';
import { createDeliveryWorker } from './delivery/worker.ts';
import { createPhoneCodeSource } from './delivery/phone-code-source.ts';
import type { PhoneCodePolicy } from './db/phone-verifications.ts';
import { subscribeToDomainEvents } from './events/consumers.ts';
import { mountRoutes } from './http/routes.ts';
import { providersFromConfig } from './providers/index.ts';
import { createTemplateRenderer } from './templates/renderer.ts';

export const service: ServiceModule<NotificationDatabase, Config> = {
  appId: 'notification',
  configSchema,
  migrations,
  allowedCallers: ['api-gateway'],
  productionGuard: notificationProductionGuard,
  create(ctx) {
    const { config, logger, platform } = ctx;
    const { db, readDb } = ctx.database;
    const devOutbox = devOutboxEnabled(config);
    const renderer = createTemplateRenderer();
    const providers = providersFromConfig(config, logger);
    const phoneCodes: PhoneCodePolicy = {
      hashKey: config.PHONE_CODE_HASH_KEY,
      ttlSeconds: config.PHONE_CODE_TTL_SECONDS,
      maxGuesses: config.PHONE_CODE_MAX_GUESSES,
      maxPerUser: config.PHONE_CODE_MAX_PER_USER,
      maxPerNumber: config.PHONE_CODE_MAX_PER_NUMBER,
      windowSeconds: config.PHONE_CODE_WINDOW_SECONDS,
      maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
    };
    const worker = createDeliveryWorker({
      db,
      providers,
      renderer,
      codes: createIdentityCodeSource({ platform, signer: ctx.signer }),
      phoneCodes: createPhoneCodeSource(db, phoneCodes),
      logger: logger.child({ component: 'delivery-worker' }),
      metrics: ctx.metrics,
      devOutbox,
      batchSize: config.DELIVERY_BATCH_SIZE,
      pollIntervalMs: config.DELIVERY_POLL_INTERVAL_MS,
      leaseMs: config.DELIVERY_LEASE_MS,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      retryBaseMs: config.DELIVERY_RETRY_BASE_MS,
      retryMaxMs: config.DELIVERY_RETRY_MAX_MS,
      ratePerSecond: {
        email: config.EMAIL_RATE_PER_SECOND,
        sms: config.SMS_RATE_PER_SECOND,
        push: config.PUSH_RATE_PER_SECOND,
      },
    });
    const relay = outboxRelayWorker({
      db,
      platform,
      logger,
      metrics: ctx.metrics.registry,
      pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    });
    // Subscriptions before listening: daprd reads /dapr/subscribe once at start.
    subscribeToDomainEvents({
      platform,
      db,
      logger,
      renderer,
      providers,
      maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
      onDeliveriesCreated: () => worker.wake(),
    });
    return Promise.resolve({
      routes: (app) =>
        mountRoutes(app, {
          verifier: ctx.verifier,
          db,
          readDb,
          platform,
          logger,
          devOutbox,
          renderer,
          phoneCodes,
          smsAvailable: providers.sms !== undefined,
          wakeWorker: () => worker.wake(),
        }),
      workers: [worker, relay],
    });
  },
};
