/**
 * The delivery worker on its own (no HTTP, no bus): several replicas share one table and never send
 * a delivery twice (SKIP LOCKED claims), a crashed replica's claim is taken over once its lease runs
 * out, and the per-provider rate cap bounds the send rate.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { infraEnv, waitFor } from '@wallet/testing';
import {
  createDatabase,
  createLogger,
  createMetrics,
  dropServiceDatabase,
  provisionServiceDatabase,
  runMigrationsFor,
  type DatabaseHandles,
} from '@wallet/service-kit';
import { service } from '../../src/service.ts';
import type { NotificationDatabase } from '../../src/db/schema.ts';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/delivery/worker.ts';
import type { DeliveryProvider } from '../../src/providers/types.ts';
import type { OneTimeCodeSource } from '../../src/delivery/one-time-codes.ts';
import { createTemplateRenderer } from '../../src/templates/renderer.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');
const logger = createLogger('notification', { level: 'silent' });
const renderer = createTemplateRenderer();
/** These deliveries carry no one-time code (code messages are covered with the real identity elsewhere). */
const noCodes: OneTimeCodeSource = {
  issue: () => Promise.reject(new Error('no code message in this suite')),
};

/** A provider that records every send and takes a few ms, so concurrent replicas overlap. */
function countingProvider(sends: Map<string, number>): DeliveryProvider {
  return {
    name: 'counting',
    channel: 'email',
    async send(message) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      sends.set(message.deliveryId, (sends.get(message.deliveryId) ?? 0) + 1);
      return { providerMessageId: `c-${message.deliveryId}` };
    },
  };
}

function worker(
  db: Kysely<NotificationDatabase>,
  provider: DeliveryProvider,
  overrides: { rate?: number; leaseMs?: number } = {},
): DeliveryWorker {
  return createDeliveryWorker({
    db,
    providers: { email: provider },
    renderer,
    codes: noCodes,
    phoneCodes: noCodes,
    logger,
    metrics: createMetrics('notification', { defaultMetrics: false }),
    devOutbox: false,
    batchSize: 10,
    pollIntervalMs: 20,
    leaseMs: overrides.leaseMs ?? 30_000,
    timeoutMs: 1_000,
    retryBaseMs: 10,
    retryMaxMs: 50,
    ratePerSecond: { email: overrides.rate ?? 10_000, sms: 1, push: 1 },
  });
}

async function insertDeliveries(
  db: Kysely<NotificationDatabase>,
  count: number,
  extra: Partial<{ status: 'sending'; lease_until: Date; attempts: number }> = {},
) {
  const ids = Array.from({ length: count }, () => randomUUID());
  await db
    .insertInto('deliveries')
    .values(
      ids.map((id) => ({
        id,
        user_id: 'u1',
        event_id: randomUUID(),
        event_type: 'test',
        template: 'email-verified',
        category: 'account',
        channel: 'email' as const,
        recipient: 'a@example.test',
        locale: 'en',
        subject: 's',
        body_text: 'b',
        body_html: null,
        sensitive: false,
        max_attempts: 3,
        ...extra,
      })),
    )
    .execute();
  return ids;
}

describe.skipIf(!adminUrl)('delivery worker', () => {
  const name = `t_notification_worker_${randomBytes(4).toString('hex')}`;
  let handles: DatabaseHandles<NotificationDatabase>;

  beforeAll(async () => {
    const database = await provisionServiceDatabase(adminUrl!, name, {
      owner: randomBytes(12).toString('hex'),
      app: randomBytes(12).toString('hex'),
    });
    await runMigrationsFor(service, database.ownerUrl, logger);
    handles = createDatabase<NotificationDatabase>({ url: database.appUrl, poolMax: 12 });
  });
  afterAll(async () => {
    await handles?.close();
    await dropServiceDatabase(adminUrl!, name);
  });

  it('three replicas working one table send every delivery exactly once', async () => {
    const ids = await insertDeliveries(handles.db, 150);
    const sends = new Map<string, number>();
    const replicas = [1, 2, 3].map(() => worker(handles.db, countingProvider(sends)));
    replicas.forEach((r) => r.start());
    try {
      // The provider has a message a moment before its outcome commits: wait for the rows.
      const statuses = await waitFor(
        async () => {
          const rows = await handles.db
            .selectFrom('deliveries')
            .select(['status', 'attempts'])
            .where('id', 'in', ids)
            .execute();
          return rows.every((r) => r.status === 'sent') ? rows : undefined;
        },
        { what: 'every delivery recorded as sent', timeoutMs: 20_000 },
      );
      expect(statuses.every((s) => s.attempts === 1)).toBe(true);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
    expect([...sends.values()].filter((n) => n !== 1)).toEqual([]);
    expect(sends.size).toBe(150);
  });

  it("a crashed replica's claim is taken over once its lease runs out, and not before", async () => {
    const [expired] = await insertDeliveries(handles.db, 1, {
      status: 'sending',
      lease_until: new Date(Date.now() - 1_000),
      attempts: 1,
    });
    const [held] = await insertDeliveries(handles.db, 1, {
      status: 'sending',
      lease_until: new Date(Date.now() + 60_000),
      attempts: 1,
    });
    const sends = new Map<string, number>();
    const w = worker(handles.db, countingProvider(sends));
    await w.runOnce();
    expect(sends.get(expired!)).toBe(1);
    expect(sends.has(held!)).toBe(false);
    const row = await handles.db
      .selectFrom('deliveries')
      .select(['status', 'attempts'])
      .where('id', '=', expired!)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'sent', attempts: 2 });
  });

  it('the per-provider rate cap bounds how many sends one pass makes', async () => {
    await handles.db
      .updateTable('deliveries')
      .set({ status: 'failed' })
      .where('status', 'in', ['pending', 'sending'])
      .execute();
    await insertDeliveries(handles.db, 30);
    const sends = new Map<string, number>();
    const w = worker(handles.db, countingProvider(sends), { rate: 2 });
    expect(await w.runOnce()).toBe(2);
    // The bucket refills at 2 per second: a pass right after the first finds no token.
    expect(await w.runOnce()).toBe(0);
    expect(sends.size).toBe(2);
  });
});
