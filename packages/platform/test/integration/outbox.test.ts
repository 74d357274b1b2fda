// Longer than 400 lines: the outbox and relay contract in one suite over one database: ordering, retries, dead letters and replicas.
/** Outbox, relay and inbox on a real PostgreSQL (TEST_PG_ADMIN_URL). */
import { randomUUID } from 'node:crypto';
import { Events } from '@wallet/contracts';
import { infraEnv, waitFor } from '@wallet/testing';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBus, createEmbeddedPlatform } from '../../src/embedded/index.ts';
import { silentLogger } from '../../src/logger.ts';
import {
  consumeOnce,
  createOutboxRelay,
  enqueueEvent,
  InvalidEventError,
  listDeadLetters,
  replayDeadLetters,
} from '../../src/messaging/index.ts';
import type { OutboxRelay } from '../../src/messaging/index.ts';
import { createMessagingTestDb, terminateIdleInTransaction } from '../helpers/pg.ts';
import type { MessagingTestDb } from '../helpers/pg.ts';
import { createRecordingPlatform } from '../helpers/recording-platform.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

function walletOpened(n: number) {
  return { walletId: `w-${n}`, userId: `u-${n}`, currency: 'EUR' };
}

describe.skipIf(!adminUrl)('outbox and relay on PostgreSQL', () => {
  let t: MessagingTestDb;
  const relays: OutboxRelay[] = [];

  beforeAll(async () => {
    t = await createMessagingTestDb(adminUrl!, 'platform_outbox');
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    await sql`truncate outbox, inbox, dead_letters, consumer_failures, effects`.execute(t.db);
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  });

  const enqueue = (count: number, partitionKey?: (i: number) => string | undefined) =>
    t.db.transaction().execute(async (trx) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const key = partitionKey?.(i);
        ids.push(
          await enqueueEvent(trx, {
            name: 'walletOpened',
            data: walletOpened(i),
            ...(key ? { partitionKey: key } : {}),
          }),
        );
      }
      return ids;
    });

  const statusCounts = async () => {
    const rows = await t.db
      .selectFrom('outbox')
      .select(['status', sql<string>`count(*)`.as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  };

  describe('enqueueEvent', () => {
    it('writes a validated row in the caller transaction and returns its id', async () => {
      const id = await t.db.transaction().execute((trx) =>
        enqueueEvent(trx, {
          name: 'userRegistered',
          data: {
            userId: 'u-1',
            email: 'ada@example.com',
            displayName: null,
            verificationCodeRef: '6f1d2c1e-0a4b-4d7e-9a57-3c1f1b2a9e10',
            verificationExpiresAt: new Date().toISOString(),
          },
          partitionKey: 'u-1',
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        }),
      );
      const row = await t.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        topic: Events.userRegistered.topic,
        event_type: Events.userRegistered.type,
        source: 'identity',
        partition_key: 'u-1',
        status: 'pending',
        attempts: 0,
        published_at: null,
      });
      // The schema's defaults are applied before storing: consumers get what the contract promises.
      expect(row.payload).toMatchObject({ userId: 'u-1', locale: 'en' });
    });

    it('refuses data that breaks the contract, failing the whole transaction', async () => {
      const attempt = t.db.transaction().execute(async (trx) => {
        await enqueueEvent(trx, { name: 'walletOpened', data: walletOpened(1) });
        await enqueueEvent(trx, {
          name: 'walletOpened',
          data: { walletId: 'w', userId: 'u', currency: 'euro' },
        });
      });
      await expect(attempt).rejects.toBeInstanceOf(InvalidEventError);
      await expect(attempt).rejects.toMatchObject({ eventName: 'walletOpened' });
      expect(await statusCounts()).toEqual({});
    });

    it('disappears with a rolled-back domain change', async () => {
      await expect(
        t.db.transaction().execute(async (trx) => {
          await enqueueEvent(trx, { name: 'walletOpened', data: walletOpened(1) });
          throw new Error('domain rule failed');
        }),
      ).rejects.toThrow('domain rule failed');
      expect(await statusCounts()).toEqual({});
    });
  });

  describe('relay', () => {
    it('publishes each row with its id as the event id, its partition key and trace, and marks it published', async () => {
      const platform = createRecordingPlatform('wallet-ledger');
      const [id] = await t.db.transaction().execute(async (trx) => [
        await enqueueEvent(trx, {
          name: 'walletOpened',
          data: walletOpened(7),
          partitionKey: 'w-7',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        }),
      ]);
      const relay = createOutboxRelay({ db: t.db, platform, logger: silentLogger });
      expect(await relay.runOnce()).toEqual({ claimed: 1, published: 1, retried: 0, dead: 0, skipped: 0 });
      expect(platform.published).toEqual([
        {
          topic: 'ledger.wallet.opened',
          event: { type: 'wallet.ledger.wallet.opened.v1', source: 'wallet-ledger', data: walletOpened(7) },
          options: {
            id,
            partitionKey: 'w-7',
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          },
        },
      ]);
      const row = await t.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.status).toBe('published');
      expect(row.attempts).toBe(1);
      expect(row.published_at).toBeInstanceOf(Date);
      expect(await relay.runOnce()).toMatchObject({ claimed: 0 });
    });

    it('two relays racing over 1,000 rows publish every event exactly once and leave nothing pending', async () => {
      const ids = await enqueue(1_000, (i) => (i % 3 === 0 ? undefined : `wallet-${i % 40}`));
      const platform = createRecordingPlatform('wallet-ledger', { delayMs: 0 });
      const batches = { a: 0, b: 0 };
      const replicaA = createOutboxRelay({ db: t.connect(), platform, logger: silentLogger, batchSize: 25 });
      const replicaB = createOutboxRelay({ db: t.connect(), platform, logger: silentLogger, batchSize: 25 });
      const drain = async (relay: OutboxRelay, who: 'a' | 'b') => {
        for (;;) {
          const { claimed } = await relay.runOnce();
          if (claimed === 0) return;
          batches[who] += 1;
        }
      };
      await Promise.all([drain(replicaA, 'a'), drain(replicaB, 'b')]);
      const publishedIds = platform.published.map((c) => c.options.id);
      expect(new Set(publishedIds).size).toBe(1_000);
      expect(publishedIds).toHaveLength(1_000);
      expect(new Set(publishedIds)).toEqual(new Set(ids));
      expect(await statusCounts()).toEqual({ published: 1_000 });
      // Both replicas really worked concurrently (SKIP LOCKED shared the rows out).
      expect(batches.a).toBeGreaterThan(0);
      expect(batches.b).toBeGreaterThan(0);
    });

    it('backs off while the broker refuses, then publishes, keeping each key in order', async () => {
      await enqueue(6, (i) => `wallet-${i % 2}`);
      const platform = createRecordingPlatform('wallet-ledger');
      // The broker refuses the first four publishes (two attempts of each key's head row), then recovers.
      platform.failWith = () => (platform.calls.length <= 4 ? new Error('broker unavailable') : undefined);
      const relay = createOutboxRelay({
        db: t.db,
        platform,
        logger: silentLogger,
        baseBackoffMs: 20,
        maxBackoffMs: 40,
        maxAttempts: 10,
      });
      const failedAt = new Date();
      const first = await relay.runOnce();
      // The first publish failed and the batch stopped there: one attempt spent, the rest untouched.
      expect(first).toMatchObject({ claimed: 6, published: 0, retried: 1, skipped: 5 });
      // Pin the failed row's backoff far out: its key must wait behind it, the other key goes ahead.
      await t.db
        .updateTable('outbox')
        .set({ next_attempt_at: sql<Date>`now() + interval '1 hour'` })
        .where('attempts', '=', 1)
        .execute();
      const second = await relay.runOnce();
      expect(second).toMatchObject({ claimed: 3, published: 0, retried: 1, skipped: 2 });
      const claimedKeys = platform.calls.map((c) => c.options.partitionKey);
      expect(claimedKeys).toEqual(['wallet-0', 'wallet-1']);
      const heads = await t.db.selectFrom('outbox').selectAll().where('attempts', '=', 1).execute();
      expect(heads.map((h) => h.partition_key).sort()).toEqual(['wallet-0', 'wallet-1']);
      for (const head of heads) {
        expect(head.status).toBe('pending');
        expect(head.last_error).toBe('broker unavailable');
        expect(head.next_attempt_at.getTime()).toBeGreaterThanOrEqual(failedAt.getTime() - 1_000);
      }
      await t.db
        .updateTable('outbox')
        .set({ next_attempt_at: sql<Date>`now()` })
        .execute();
      await waitFor(
        async () => {
          await relay.runOnce();
          return (await statusCounts())['published'] === 6;
        },
        { what: 'every row to be published after the broker recovers', timeoutMs: 10_000 },
      );
      const rows = await t.db.selectFrom('outbox').selectAll().orderBy('seq').execute();
      // Only the two head rows ever failed: four refused attempts between them, then one success each.
      expect(rows.slice(2).map((r) => r.attempts)).toEqual([1, 1, 1, 1]);
      expect(rows[0]!.attempts + rows[1]!.attempts).toBe(6);
      expect(Math.min(rows[0]!.attempts, rows[1]!.attempts)).toBeGreaterThanOrEqual(2);
      for (const key of ['wallet-0', 'wallet-1']) {
        const order = rows.filter((r) => r.partition_key === key).map((r) => r.id);
        const published = platform.published
          .filter((c) => c.options.partitionKey === key)
          .map((c) => c.options.id);
        expect(published).toEqual(order);
      }
    });

    it('marks a row dead after maxAttempts with a dead letter and metrics; replay puts it back to pending', async () => {
      const [id] = await enqueue(1);
      const platform = createRecordingPlatform('wallet-ledger');
      platform.failWith = () => new Error('topic does not exist');
      const registry = new Registry();
      const relay = createOutboxRelay({
        db: t.db,
        platform,
        logger: silentLogger,
        maxAttempts: 3,
        baseBackoffMs: 1,
        maxBackoffMs: 5,
        metrics: registry,
      });
      await waitFor(
        async () => {
          await relay.runOnce();
          return (await statusCounts())['dead'] === 1;
        },
        { what: 'the row to die', timeoutMs: 10_000 },
      );
      expect(platform.calls).toHaveLength(3);
      const row = await t.db.selectFrom('outbox').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'dead', attempts: 3, last_error: 'topic does not exist' });

      const { items } = await listDeadLetters(t.db, { origin: 'outbox' });
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({
        origin: 'outbox',
        consumer: 'wallet-ledger',
        topic: 'ledger.wallet.opened',
        eventId: id,
        attempts: 3,
        lastError: 'topic does not exist',
        replayedAt: null,
        event: {
          specversion: '1.0',
          id,
          type: 'wallet.ledger.wallet.opened.v1',
          source: 'wallet-ledger',
          data: walletOpened(0),
        },
      });

      const text = await registry.metrics();
      expect(text).toMatch(/outbox_publish_failures_total\{app="wallet-ledger"\} 3/);
      expect(text).toMatch(/outbox_dead_total\{app="wallet-ledger"\} 1/);

      platform.failWith = undefined;
      expect(await replayDeadLetters(t.db, platform, { ids: [items[0]!.id] })).toEqual({
        replayed: [items[0]!.id],
        failed: [],
      });
      const reset = await t.db
        .selectFrom('outbox')
        .selectAll()
        .where('id', '=', id!)
        .executeTakeFirstOrThrow();
      expect(reset).toMatchObject({ status: 'pending', attempts: 0, last_error: null });
      expect((await listDeadLetters(t.db, { state: 'replayed' })).items[0]).toMatchObject({ replayCount: 1 });
      expect(await relay.runOnce()).toMatchObject({ published: 1 });
      expect(platform.published.map((c) => c.options.id)).toEqual([id]);
      expect(await registry.metrics()).toMatch(/outbox_published_total\{app="wallet-ledger"\} 1/);
    });

    it('reports the age of the oldest pending row as outbox lag', async () => {
      await enqueue(2);
      await t.db
        .updateTable('outbox')
        .set({ created_at: sql<Date>`now() - interval '90 seconds'` })
        .execute();
      const registry = new Registry();
      createOutboxRelay({
        db: t.db,
        platform: createRecordingPlatform('wallet-ledger'),
        logger: silentLogger,
        metrics: registry,
      });
      const lag = (await registry.getSingleMetric('outbox_lag_seconds')!.get()).values.find(
        (v) => v.labels['app'] === 'wallet-ledger',
      );
      expect(lag?.value).toBeGreaterThanOrEqual(90);
      expect(lag?.value).toBeLessThan(120);
    });

    it('runs in the background until stopped, and stop waits for the batch in flight', async () => {
      await enqueue(30);
      const platform = createRecordingPlatform('wallet-ledger', { delayMs: 2 });
      const relay = createOutboxRelay({
        db: t.db,
        platform,
        logger: silentLogger,
        batchSize: 10,
        pollIntervalMs: 20,
      });
      relays.push(relay);
      relay.start();
      relay.start(); // idempotent: still one loop
      await waitFor(async () => (await statusCounts())['published'] === 30, {
        what: 'the loop to publish everything',
      });
      expect(platform.published).toHaveLength(30);

      await enqueue(30);
      await waitFor(() => platform.calls.length > 30, { what: 'the next batch to start' });
      await relay.stop();
      // Whatever batch was in flight has committed as a whole: published rows come in full batches.
      const counts = await statusCounts();
      expect((counts['published'] ?? 0) % 10).toBe(0);
      expect(counts['published']).toBe(platform.published.length);
      const callsAtStop = platform.calls.length;
      // Absence can only be shown over time: a relay still polling every 20 ms would publish within this.
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(platform.calls.length).toBe(callsAtStop);
    });
  });

  describe('crash between publish and mark', () => {
    it('re-publishes the row, and the inbox makes the second delivery a no-op', async () => {
      const [id] = await enqueue(1);
      const bus = new EmbeddedBus();
      const consumer = createEmbeddedPlatform({
        appId: 'risk',
        bus,
        logger: silentLogger,
        retry: { initialBackoffMs: 1, maxBackoffMs: 5 },
      });
      const outcomes: string[] = [];
      consumer.subscribe('ledger.wallet.opened', async (event) => {
        outcomes.push(
          await consumeOnce(t.db, 'risk', event, async (trx) => {
            await trx
              .insertInto('effects')
              .values({ consumer: 'risk', event_id: event.id, note: 'velocity+1' })
              .execute();
          }),
        );
        return 'SUCCESS';
      });
      const producer = createEmbeddedPlatform({ appId: 'wallet-ledger', bus, logger: silentLogger });
      let crashes = 1;
      const crashingAfterPublish = {
        ...producer,
        async publish(...args: Parameters<typeof producer.publish>) {
          await producer.publish(...args);
          if (crashes > 0) {
            crashes -= 1;
            // The broker has the message; now the relay's connection dies before it can mark the row.
            expect(await terminateIdleInTransaction(adminUrl!, t.database.name, 'relay-under-test')).toBe(1);
          }
        },
      };
      const relayDb = t.connect('relay-under-test');
      const relay = createOutboxRelay({ db: relayDb, platform: crashingAfterPublish, logger: silentLogger });
      await expect(relay.runOnce()).rejects.toThrow();
      expect(await statusCounts()).toEqual({ pending: 1 });

      expect(await relay.runOnce()).toMatchObject({ published: 1 });
      await bus.drain();
      expect(outcomes).toEqual(['applied', 'duplicate']);
      const effects = await t.db.selectFrom('effects').selectAll().execute();
      expect(effects).toEqual([expect.objectContaining({ consumer: 'risk', event_id: id })]);
      await consumer.close();
      await producer.close();
      await bus.close();
    });
  });

  describe('consumeOnce', () => {
    it('applies an event once even when two deliveries race', async () => {
      const event = { id: randomUUID() };
      let effects = 0;
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          consumeOnce(t.db, 'notification', event, async (trx) => {
            effects += 1;
            await trx
              .insertInto('effects')
              .values({ consumer: 'notification', event_id: event.id, note: 'sent' })
              .execute();
          }),
        ),
      );
      expect(results.sort()).toEqual(['applied', 'duplicate', 'duplicate']);
      expect(effects).toBe(1);
    });

    it('rolls back the inbox record with a failed effect, so the redelivery applies it', async () => {
      const event = { id: randomUUID() };
      await expect(
        consumeOnce(t.db, 'notification', event, async (trx) => {
          await trx
            .insertInto('effects')
            .values({ consumer: 'notification', event_id: event.id, note: 'half' })
            .execute();
          throw new Error('smtp down');
        }),
      ).rejects.toThrow('smtp down');
      expect(await t.db.selectFrom('inbox').selectAll().execute()).toEqual([]);
      expect(
        await consumeOnce(t.db, 'notification', event, async (trx) => {
          await trx
            .insertInto('effects')
            .values({ consumer: 'notification', event_id: event.id, note: 'sent' })
            .execute();
        }),
      ).toBe('applied');
      expect((await t.db.selectFrom('effects').select('note').execute()).map((r) => r.note)).toEqual([
        'sent',
      ]);
    });

    it('keeps consumers apart: the same event id is applied once per consumer', async () => {
      const event = { id: randomUUID() };
      expect(await consumeOnce(t.db, 'risk', event, () => Promise.resolve())).toBe('applied');
      expect(await consumeOnce(t.db, 'notification', event, () => Promise.resolve())).toBe('applied');
      expect(await consumeOnce(t.db, 'risk', event, () => Promise.resolve())).toBe('duplicate');
    });
  });
});
