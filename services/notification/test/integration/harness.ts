/**
 * Starts notification on real PostgreSQL with a shared embedded bus, beside the real identity service
 * (which publishes user.registered / recovery.requested and mints the one-time codes notification asks
 * for at send time), and publishes other domain events into the bus.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { service as identityService } from '@wallet/identity';
import { Events, type CloudEvent, type EventInput, type EventName } from '@wallet/contracts';
import { createEmbeddedPlatform, EmbeddedBus, silentLogger, type Platform } from '@wallet/platform';
import { startTestService, type TestService } from '@wallet/service-testing';
import { waitFor } from '@wallet/testing';
import { service } from '../../src/service.ts';
import type { Config } from '../../src/config.ts';
import type { NotificationDatabase } from '../../src/db/schema.ts';

type IdentityService = Awaited<ReturnType<typeof startIdentity>>;

export interface RegisteredUser {
  userId: string;
  email: string;
}

export interface Harness {
  svc: TestService<NotificationDatabase, Config>;
  /** The real identity service on the same bus. */
  identity: IdentityService;
  /** Registers through identity (its v2 event reaches notification through the bus). */
  register(options?: { email?: string; displayName?: string; locale?: string }): Promise<RegisteredUser>;
  /** Asks identity for an account recovery (its v2 event reaches notification). */
  requestRecovery(email: string): Promise<void>;
  /** The newest event of `type` identity published about `userId` (id = CloudEvent id, and its data). */
  identityEvent(type: string, userId: string): Promise<{ id: string; data: Record<string, unknown> }>;
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

/** Cheap argon2 for the identity beside notification: the flows under test, not the hashing cost. */
const IDENTITY_ENV: Record<string, string> = {
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_TIME_COST: '1',
  HOUSEKEEPING_INTERVAL_SECONDS: '0',
};

function startIdentity(adminUrl: string, bus: EmbeddedBus) {
  return startTestService(identityService, { adminUrl, bus, env: IDENTITY_ENV });
}

export const TEST_PASSWORD = 'violet-harbour-cactus-49-lantern';

export async function startHarness(adminUrl: string, env: Record<string, string> = {}): Promise<Harness> {
  const bus = new EmbeddedBus();
  const deliveryFailures: CloudEvent[] = [];
  const observer = createEmbeddedPlatform({ appId: 'risk', bus, logger: silentLogger });
  observer.subscribe(Events.deliveryFailed.topic, (event) => {
    deliveryFailures.push(event);
    return Promise.resolve('SUCCESS');
  });
  const svc = await startTestService(service, { adminUrl, bus, env: { ...FAST_WORKER_ENV, ...env } });
  const identity = await startIdentity(adminUrl, bus);
  const anonymous = () => identity.as({ sub: 'anonymous', ip: '203.0.113.7' });
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
    identity,
    deliveryFailures,
    async register(options = {}) {
      const email = options.email ?? newUser().email;
      const res = await anonymous().post('/auth/register', {
        email,
        password: TEST_PASSWORD,
        ...(options.displayName ? { displayName: options.displayName } : {}),
      });
      // 202 for every address (no enumeration); the account is made after the answer.
      if (res.status !== 202) throw new Error(`register answered ${res.status}: ${res.text}`);
      const account = await waitFor(
        () =>
          identity.ownerDb
            .selectFrom('users')
            .select('id')
            .where('email', '=', email.toLowerCase())
            .executeTakeFirst(),
        { timeoutMs: 5_000, intervalMs: 20, what: `the account of ${email}` },
      );
      return { userId: account.id, email: email.toLowerCase() };
    },
    async requestRecovery(email) {
      const res = await anonymous().post('/auth/recovery', { email });
      if (res.status !== 202) throw new Error(`recovery answered ${res.status}: ${res.text}`);
    },
    async identityEvent(type, userId) {
      const row = await identity.ownerDb
        .selectFrom('outbox')
        .select(['id', 'payload'])
        .where('event_type', '=', type)
        .where(sql<boolean>`payload->>'userId' = ${userId}`)
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow();
      return { id: String(row.id), data: row.payload as Record<string, unknown> };
    },
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
      await identity.stop();
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
