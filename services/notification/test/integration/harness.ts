/** Starts notification on real PostgreSQL with a shared embedded bus, and publishes domain events into it. */
import { randomUUID } from 'node:crypto';
import { Events, type CloudEvent, type EventInput, type EventName } from '@wallet/contracts';
import { createEmbeddedPlatform, EmbeddedBus, silentLogger, type Platform } from '@wallet/platform';
import { startTestService, type TestService } from '@wallet/service-testing';
import { service } from '../../src/service.ts';
import type { Config } from '../../src/config.ts';
import type { NotificationDatabase } from '../../src/db/schema.ts';

export interface Harness {
  svc: TestService<NotificationDatabase, Config>;
  /** delivery.failed events the service published (through its outbox relay). */
  deliveryFailures: CloudEvent[];
  /** Publishes a domain event as its owning app would; returns the event id. */
  publish<N extends EventName>(name: N, data: EventInput<N>, id?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Fast worker settings so retries and dead letters happen within a test's time. */
export const FAST_WORKER_ENV: Record<string, string> = {
  DELIVERY_MAX_ATTEMPTS: '3',
  DELIVERY_RETRY_BASE_MS: '20',
  DELIVERY_RETRY_MAX_MS: '80',
  DELIVERY_POLL_INTERVAL_MS: '40',
  OUTBOX_POLL_INTERVAL_MS: '40',
  PROVIDER_TIMEOUT_MS: '400',
};

export async function startHarness(adminUrl: string, env: Record<string, string> = {}): Promise<Harness> {
  const bus = new EmbeddedBus();
  const deliveryFailures: CloudEvent[] = [];
  const observer = createEmbeddedPlatform({ appId: 'risk', bus, logger: silentLogger });
  observer.subscribe(Events.deliveryFailed.topic, (event) => {
    deliveryFailures.push(event);
    return Promise.resolve('SUCCESS');
  });
  const svc = await startTestService(service, { adminUrl, bus, env: { ...FAST_WORKER_ENV, ...env } });
  const publishers = new Map<string, Platform>();
  const publisherFor = (appId: string): Platform => {
    let p = publishers.get(appId);
    if (!p) {
      p = createEmbeddedPlatform({ appId, bus, logger: silentLogger });
      publishers.set(appId, p);
    }
    return p;
  };
  return {
    svc,
    deliveryFailures,
    async publish(name, data, id = randomUUID()) {
      const def = Events[name];
      const parsed: unknown = def.schema.parse(data);
      await publisherFor(def.source).publish(
        def.topic,
        { type: def.type, source: def.source, data: parsed },
        { id },
      );
      return id;
    },
    async stop() {
      await svc.stop();
      for (const p of publishers.values()) await p.close();
      await observer.close();
      await bus.close();
    },
  };
}

export function newUser(): { userId: string; email: string } {
  const userId = randomUUID();
  return { userId, email: `u-${userId.slice(0, 8)}@example.test` };
}

export function registered(
  user: { userId: string; email: string },
  code = '123456',
  extra: Partial<EventInput<'userRegistered'>> = {},
): EventInput<'userRegistered'> {
  return {
    userId: user.userId,
    email: user.email,
    displayName: null,
    locale: 'en',
    verificationCode: code,
    verificationExpiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    ...extra,
  };
}

export function transfer(from: string, to: string, amount = '1050'): EventInput<'transferCompleted'> {
  return {
    transferId: randomUUID(),
    fromWalletId: randomUUID(),
    toWalletId: randomUUID(),
    fromUserId: from,
    toUserId: to,
    amount,
    currency: 'EUR',
    occurredAt: new Date().toISOString(),
  };
}
