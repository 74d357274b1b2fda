// Longer than 400 lines: the dead-letter contract in one suite over one database: storing, bounding, filing, listing, replaying and pruning.
/** Subscription dead letters end to end (embedded transport + real PostgreSQL): store, list, replay. */
import type { CloudEvent } from '@wallet/contracts';
import { deadLetterTopicFor } from '@wallet/contracts';
import { infraEnv } from '@wallet/testing';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBus, createEmbeddedPlatform } from '../../src/embedded/index.ts';
import { silentLogger } from '../../src/logger.ts';
import {
  consumeOnce,
  listDeadLetters,
  pruneMessaging,
  replayDeadLetters,
  storeDeadLetter,
  subscribeWithDeadLetters,
} from '../../src/messaging/index.ts';
import type { Platform, SubscriptionStatus } from '../../src/port.ts';
import { createMessagingTestDb } from '../helpers/pg.ts';
import type { MessagingTestDb } from '../helpers/pg.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');
const TOPIC = 'ledger.transfer.completed';
const MAX_ATTEMPTS = 3;

function transfer(id: string): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id,
    source: 'wallet-ledger',
    type: 'wallet.ledger.transfer.completed.v1',
    datacontenttype: 'application/json',
    data: { transferId: `t-${id}`, amount: '100' },
  };
}

describe.skipIf(!adminUrl)('dead letters on PostgreSQL', () => {
  let t: MessagingTestDb;
  let bus: EmbeddedBus;
  let consumer: Platform;
  let publisher: Platform;

  beforeAll(async () => {
    t = await createMessagingTestDb(adminUrl!, 'platform_dead_letters');
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    await sql`truncate outbox, inbox, dead_letters, consumer_failures, effects`.execute(t.db);
    bus = new EmbeddedBus();
    consumer = createEmbeddedPlatform({
      appId: 'notification',
      bus,
      logger: silentLogger,
      retry: { maxAttempts: MAX_ATTEMPTS, initialBackoffMs: 1, maxBackoffMs: 5 },
    });
    publisher = createEmbeddedPlatform({ appId: 'wallet-ledger', bus, logger: silentLogger });
  });
  afterEach(async () => {
    await consumer.close();
    await publisher.close();
    await bus.close();
  });

  const publish = (id: string) =>
    publisher.publish(
      TOPIC,
      {
        type: 'wallet.ledger.transfer.completed.v1',
        source: 'wallet-ledger',
        data: { transferId: `t-${id}`, amount: '100' },
      },
      { id },
    );

  it('stores a message whose handler kept throwing, with the attempt count and the last error', async () => {
    let calls = 0;
    subscribeWithDeadLetters(consumer, t.db, 'notification', TOPIC, () => {
      calls += 1;
      return Promise.reject(new Error(`smtp refused (attempt ${calls})`));
    });
    await publish('evt-1');
    await bus.drain();
    expect(calls).toBe(MAX_ATTEMPTS);
    const { items } = await listDeadLetters(t.db, { consumer: 'notification' });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      origin: 'subscription',
      consumer: 'notification',
      topic: TOPIC,
      eventId: 'evt-1',
      attempts: MAX_ATTEMPTS,
      lastError: `smtp refused (attempt ${MAX_ATTEMPTS})`,
      replayedAt: null,
      replayCount: 0,
      event: {
        id: 'evt-1',
        type: 'wallet.ledger.transfer.completed.v1',
        source: 'wallet-ledger',
        data: { transferId: 't-evt-1', amount: '100' },
      },
    });
    // The failure notes moved into the dead letter.
    expect(await t.db.selectFrom('consumer_failures').selectAll().execute()).toEqual([]);
  });

  it('stores a message after the attempts its handler saw, however long the transport would retry', async () => {
    // The Dapr sidecars retry deliveries without end (an app that is down must be waited for); the
    // app bounds a poison message by the failures it saw itself.
    const patient = createEmbeddedPlatform({
      appId: 'notification',
      bus,
      logger: silentLogger,
      retry: { maxAttempts: 50, initialBackoffMs: 1, maxBackoffMs: 2 },
    });
    let calls = 0;
    subscribeWithDeadLetters(
      patient,
      t.db,
      'notification',
      TOPIC,
      () => {
        calls += 1;
        return Promise.reject(new Error(`provider down (attempt ${calls})`));
      },
      { maxAttempts: 4 },
    );
    try {
      await publish('evt-cap');
      await bus.drain();
      expect(calls).toBe(4);
      const { items } = await listDeadLetters(t.db, { consumer: 'notification' });
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({
        eventId: 'evt-cap',
        attempts: 4,
        lastError: 'provider down (attempt 4)',
      });
      expect(await t.db.selectFrom('consumer_failures').selectAll().execute()).toEqual([]);
    } finally {
      await patient.close();
    }
  });

  it('files a message delivered on the wrong subscription under its own topic, so a replay sends it home', async () => {
    // A broker that mixed up its consumers once gave notification's handler of one topic the events of
    // another; the handler drops what is not its type.
    subscribeWithDeadLetters(
      consumer,
      t.db,
      'notification',
      'identity.email.verification.requested',
      (event) =>
        Promise.resolve(
          event.type === 'wallet.identity.email.verification.requested.v1' ? 'SUCCESS' : 'DROP',
        ),
    );
    await publisher.publish(
      'identity.email.verification.requested',
      {
        type: 'wallet.ledger.transfer.completed.v1',
        source: 'wallet-ledger',
        data: { transferId: 't-lost' },
      },
      { id: 'evt-astray' },
    );
    await bus.drain();
    const { items } = await listDeadLetters(t.db, { consumer: 'notification' });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ eventId: 'evt-astray', topic: TOPIC });
    expect(items[0]!.lastError).toContain(
      'delivered on the subscription of identity.email.verification.requested',
    );
  });

  it('stores a DROPped message at once, saying the handler dropped it', async () => {
    let calls = 0;
    subscribeWithDeadLetters(consumer, t.db, 'notification', TOPIC, () =>
      Promise.resolve(((calls += 1), 'DROP')),
    );
    await publish('evt-drop');
    await bus.drain();
    expect(calls).toBe(1);
    const { items } = await listDeadLetters(t.db);
    expect(items[0]).toMatchObject({ eventId: 'evt-drop', attempts: 1, lastError: 'handler answered DROP' });
  });

  it('leaves no failure note behind when a retried message finally succeeds', async () => {
    let calls = 0;
    subscribeWithDeadLetters(consumer, t.db, 'notification', TOPIC, () => {
      calls += 1;
      return Promise.resolve(calls === 1 ? 'RETRY' : 'SUCCESS');
    });
    await publish('evt-ok');
    await bus.drain();
    expect(calls).toBe(2);
    expect(await t.db.selectFrom('consumer_failures').selectAll().execute()).toEqual([]);
    expect((await listDeadLetters(t.db, { state: 'all' })).items).toEqual([]);
  });

  it('replays with the same event id, so the fixed idempotent handler applies it once and ignores the repeat', async () => {
    let broken = true;
    const outcomes: string[] = [];
    subscribeWithDeadLetters(
      consumer,
      t.db,
      'notification',
      TOPIC,
      async (event): Promise<SubscriptionStatus> => {
        if (broken) throw new Error('template missing');
        outcomes.push(
          await consumeOnce(t.db, 'notification', event, async (trx) => {
            await trx
              .insertInto('effects')
              .values({ consumer: 'notification', event_id: event.id, note: 'email sent' })
              .execute();
          }),
        );
        return 'SUCCESS';
      },
    );
    await publish('evt-replay');
    await bus.drain();
    const [letter] = (await listDeadLetters(t.db)).items;
    expect(letter?.eventId).toBe('evt-replay');

    broken = false;
    expect(await replayDeadLetters(t.db, publisher, { topic: TOPIC, consumer: 'notification' })).toEqual({
      replayed: [letter!.id],
      failed: [],
    });
    await bus.drain();
    expect(outcomes).toEqual(['applied']);
    const [replayed] = (await listDeadLetters(t.db, { state: 'replayed' })).items;
    expect(replayed).toMatchObject({ id: letter!.id, replayCount: 1 });
    expect(replayed!.replayedAt).toBeInstanceOf(Date);
    expect((await listDeadLetters(t.db)).items).toEqual([]);

    // An operator replaying it again by id changes nothing for an idempotent consumer.
    await replayDeadLetters(t.db, publisher, { ids: [letter!.id] });
    await bus.drain();
    expect(outcomes).toEqual(['applied', 'duplicate']);
    expect(await t.db.selectFrom('effects').select('event_id').execute()).toEqual([
      { event_id: 'evt-replay' },
    ]);
    expect((await listDeadLetters(t.db, { state: 'replayed' })).items[0]).toMatchObject({ replayCount: 2 });
  });

  it('makes a replayed message pending again when it fails again, in the same row', async () => {
    subscribeWithDeadLetters(consumer, t.db, 'notification', TOPIC, () =>
      Promise.reject(new Error('still broken')),
    );
    await publish('evt-again');
    await bus.drain();
    const [letter] = (await listDeadLetters(t.db)).items;
    await replayDeadLetters(t.db, publisher, { ids: [letter!.id] });
    await bus.drain();
    const all = (await listDeadLetters(t.db, { state: 'all' })).items;
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      id: letter!.id,
      replayedAt: null,
      replayCount: 1,
      attempts: MAX_ATTEMPTS,
    });
  });

  it('subscribes the consumer-specific dead-letter topic', async () => {
    const seen: string[] = [];
    subscribeWithDeadLetters(consumer, t.db, 'notification', TOPIC, () => Promise.resolve('DROP'));
    const operator = createEmbeddedPlatform({ appId: 'observer', bus, logger: silentLogger });
    operator.subscribe(deadLetterTopicFor('notification', TOPIC), (e) =>
      Promise.resolve((seen.push(e.id), 'SUCCESS')),
    );
    await publish('evt-topic');
    await bus.drain();
    expect(seen).toEqual(['evt-topic']);
    await operator.close();
  });

  it('reports replays it could not do and carries on with the rest', async () => {
    const good = await storeDeadLetter(t.db, {
      origin: 'subscription',
      consumer: 'notification',
      topic: TOPIC,
      event: transfer('a'),
    });
    const bad = await storeDeadLetter(t.db, {
      origin: 'subscription',
      consumer: 'notification',
      topic: '',
      event: transfer('b'),
    });
    const result = await replayDeadLetters(t.db, publisher, { ids: [bad, good] });
    expect(result.replayed).toEqual([good]);
    expect(result.failed).toEqual([{ id: bad, error: expect.stringMatching(/topic/) as unknown }]);
    expect((await listDeadLetters(t.db)).items.map((l) => l.id)).toEqual([bad]);
  });

  describe('listDeadLetters', () => {
    it('pages newest first with an opaque cursor and filters by topic, consumer, origin and state', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        ids.push(
          await storeDeadLetter(t.db, {
            origin: 'subscription',
            consumer: 'notification',
            topic: TOPIC,
            event: transfer(`p-${i}`),
          }),
        );
      }
      await storeDeadLetter(t.db, {
        origin: 'subscription',
        consumer: 'risk',
        topic: TOPIC,
        event: transfer('r-1'),
      });
      await storeDeadLetter(t.db, {
        origin: 'outbox',
        consumer: 'notification',
        topic: 'notification.delivery.failed',
        event: transfer('o-1'),
      });

      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof listDeadLetters>> = await listDeadLetters(t.db, {
          topic: TOPIC,
          consumer: 'notification',
          limit: 2,
          cursor,
        });
        pages.push(page.items.map((l) => l.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(pages).toEqual([[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]);

      expect((await listDeadLetters(t.db, { consumer: 'risk' })).items.map((l) => l.eventId)).toEqual([
        'r-1',
      ]);
      expect((await listDeadLetters(t.db, { origin: 'outbox' })).items.map((l) => l.eventId)).toEqual([
        'o-1',
      ]);
      expect((await listDeadLetters(t.db, { state: 'replayed' })).items).toEqual([]);
      await expect(listDeadLetters(t.db, { cursor: '1; drop table outbox' })).rejects.toThrow(/cursor/);
      await expect(listDeadLetters(t.db, { limit: 0 })).rejects.toThrow(RangeError);
    });

    it('keeps one row per message when the same dead letter arrives twice', async () => {
      const first = await storeDeadLetter(t.db, {
        origin: 'subscription',
        consumer: 'notification',
        topic: TOPIC,
        event: transfer('dup'),
        attempts: 3,
        lastError: 'one',
      });
      const second = await storeDeadLetter(t.db, {
        origin: 'subscription',
        consumer: 'notification',
        topic: TOPIC,
        event: transfer('dup'),
        attempts: 4,
        lastError: 'two',
      });
      expect(second).toBe(first);
      const { items } = await listDeadLetters(t.db, { state: 'all' });
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ attempts: 4, lastError: 'two' });
    });
  });

  it('prunes published outbox rows, old inbox rows and stale failure notes only', async () => {
    await sql`insert into outbox (id, topic, event_type, source, payload, status, published_at)
              values (gen_random_uuid(), 't', 'x', 'wallet-ledger', '{}', 'published', now() - interval '10 days'),
                     (gen_random_uuid(), 't', 'x', 'wallet-ledger', '{}', 'pending', null),
                     (gen_random_uuid(), 't', 'x', 'wallet-ledger', '{}', 'dead', null)`.execute(t.db);
    await sql`insert into inbox (consumer, event_id, processed_at) values ('risk', 'old', now() - interval '40 days'), ('risk', 'new', now())`.execute(
      t.db,
    );
    await sql`insert into consumer_failures (consumer, event_id, topic, last_failed_at) values ('risk', 'e', 't', now() - interval '2 days')`.execute(
      t.db,
    );
    const dayAgo = new Date(Date.now() - 86_400_000);
    expect(
      await pruneMessaging(t.db, {
        publishedOutboxBefore: dayAgo,
        inboxBefore: new Date(Date.now() - 30 * 86_400_000),
        consumerFailuresBefore: dayAgo,
      }),
    ).toEqual({ outbox: 1, inbox: 1, consumerFailures: 1 });
    expect(
      (await t.db.selectFrom('outbox').select('status').orderBy('status').execute()).map((r) => r.status),
    ).toEqual(['dead', 'pending']);
    expect((await t.db.selectFrom('inbox').select('event_id').execute()).map((r) => r.event_id)).toEqual([
      'new',
    ]);
  });
});
