/**
 * Outbox relay and inbox through real sidecars: the relay runs in a child process publishing through
 * platform-contract-a's daprd; platform-contract-b consumes through its daprd with `consumeOnce` on
 * real PostgreSQL. The relay is SIGKILLed while a batch is in flight (some of its events already
 * delivered, the batch not committed), then restarted: every event must arrive and every effect must
 * be applied exactly once, although the in-flight events are delivered twice.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { startProcess } from '@wallet/dapr-harness';
import type { ManagedProcess } from '@wallet/dapr-harness';
import { infraEnv, waitFor } from '@wallet/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeOnce } from '../../src/messaging/index.ts';
import { createMessagingTestDb } from '../helpers/pg.ts';
import type { MessagingTestDb, TestDatabaseSchema } from '../helpers/pg.ts';
import { APP_A, APP_B } from './sidecars.ts';
import type { RunningPair, SidecarPair } from './sidecars.ts';

const EVENTS = 600;
const BATCH_SIZE = 150;

export function relayThroughSidecars(pair: SidecarPair): void {
  const topic = `contract.${pair.run}.outbox`;
  const consumer = APP_B;
  const seen = {
    db: undefined as Kysely<TestDatabaseSchema> | undefined,
    deliveries: [] as string[],
    applied: 0,
    duplicates: 0,
  };
  pair.addSubscriptions((platforms) => {
    platforms[APP_B].subscribe(topic, async (event) => {
      seen.deliveries.push(event.id);
      if (!seen.db) return 'RETRY';
      const outcome = await consumeOnce(seen.db, consumer, event, async (trx) => {
        await trx
          .insertInto('effects')
          .values({ consumer, event_id: event.id, note: JSON.stringify(event.data) })
          .execute();
      });
      if (outcome === 'applied') seen.applied += 1;
      else seen.duplicates += 1;
      return 'SUCCESS';
    });
  });

  const adminUrl = infraEnv('TEST_PG_ADMIN_URL');
  describe.skipIf(!adminUrl)(`outbox relay + inbox through daprd + ${pair.pubsub}`, () => {
    let mdb: MessagingTestDb;
    let running: RunningPair;
    const relays: ManagedProcess[] = [];

    const startRelay = (): ManagedProcess => {
      const child = startProcess({
        name: 'relay-child',
        command: process.execPath,
        args: [join(import.meta.dirname, 'relay-child.ts')],
        env: {
          ...process.env,
          DATABASE_URL: mdb.database.url,
          DAPR_HTTP_PORT: String(running.sidecars[APP_A].httpPort),
          DAPR_API_TOKEN: running.daprApiTokens[APP_A],
          RELAY_APP_ID: APP_A,
          RELAY_BATCH_SIZE: String(BATCH_SIZE),
        },
      });
      relays.push(child);
      return child;
    };
    const count = async (query: Promise<{ n: string | number | bigint } | undefined>): Promise<number> =>
      Number((await query)?.n ?? 0);
    const publishedCount = (): Promise<number> =>
      count(
        mdb.db
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('status', '=', 'published')
          .executeTakeFirst(),
      );

    beforeAll(async () => {
      mdb = await createMessagingTestDb(adminUrl!, 'dapr_relay');
      seen.db = mdb.db;
      running = await pair.start();
    }, 120_000);

    afterAll(async () => {
      await Promise.all(relays.map((r) => r.stop({ timeoutMs: 5_000 })));
      seen.db = undefined;
      await mdb?.close();
    });

    it('kill -9 mid-batch, restart: every event delivered, every effect applied once', async () => {
      const ids = Array.from({ length: EVENTS }, () => randomUUID());
      await mdb.db
        .insertInto('outbox')
        .values(
          ids.map((id, n) => ({
            id,
            topic,
            event_type: 'wallet.contract.outbox.v1',
            source: APP_A,
            payload: JSON.stringify({ n }),
            partition_key: `acct-${n % 7}`,
          })),
        )
        .execute();

      const first = startRelay();
      // In flight: more distinct events reached the consumer than the relay has committed as published.
      await waitFor(
        async () => {
          if (first.exitInfo()) throw new Error(`relay exited early:\n${first.tail(20)}`);
          const delivered = new Set(seen.deliveries).size;
          return delivered >= 20 && delivered > (await publishedCount());
        },
        { timeoutMs: 60_000, intervalMs: 5, what: 'the relay to be in the middle of a batch' },
      );
      first.kill('SIGKILL');
      const exit = await first.exited;
      expect(exit.signal).toBe('SIGKILL');

      const deliveredBeforeRestart = new Set(seen.deliveries);
      const stillPending = await mdb.db
        .selectFrom('outbox')
        .select('id')
        .where('status', '=', 'pending')
        .execute();
      const inFlight = stillPending.map((r) => r.id).filter((id) => deliveredBeforeRestart.has(id));
      // The crash really hit a batch whose events were out but not yet marked published.
      expect(inFlight.length).toBeGreaterThan(0);
      expect(await publishedCount()).toBeLessThan(EVENTS);

      startRelay();
      const effectsCount = (): Promise<number> =>
        count(
          mdb.db
            .selectFrom('effects')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirst(),
        );
      await waitFor(async () => (await publishedCount()) === EVENTS && (await effectsCount()) === EVENTS, {
        timeoutMs: 90_000,
        intervalMs: 100,
        what: 'every event to be published and applied',
      });
      // The in-flight events were published again and reached the consumer a second time.
      await waitFor(() => inFlight.every((id) => seen.deliveries.filter((d) => d === id).length >= 2), {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: 'the in-flight events to be redelivered',
      });

      const doubled = await mdb.db
        .selectFrom('effects')
        .select(['event_id', (eb) => eb.fn.countAll().as('n')])
        .groupBy('event_id')
        .having(sql`count(*)`, '>', 1)
        .execute();
      expect(doubled).toEqual([]);
      const missing = await sql<{ id: string }>`
        select o.id from outbox o where not exists (select 1 from effects e where e.event_id = o.id::text)
      `.execute(mdb.db);
      expect(missing.rows).toEqual([]);
      expect(await effectsCount()).toBe(EVENTS);
      expect(new Set(seen.deliveries).size).toBe(EVENTS);
      expect(seen.applied).toBe(EVENTS);
      expect(seen.duplicates).toBeGreaterThanOrEqual(inFlight.length);
    }, 180_000);
  });
}
