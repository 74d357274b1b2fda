// Longer than 400 lines: the one contract both transports must pass; kept in one file so the embedded and Dapr suites run the same text.
/**
 * The platform contract, written once and run against every transport: embedded now, daprd with
 * RabbitMQ and with Kafka later. It only talks to the `Platform` port and plain HTTP, asserts with
 * deadlines (never sleeps), and uses topic and key names unique to the run so it can share a broker.
 *
 * A harness (`makePlatforms`) gets the app ids, the HTTP apps to serve and a callback registering every
 * subscription. It must create the platforms, call `subscribe` before the transport delivers anything
 * (daprd reads /dapr/subscribe once at start), serve the HTTP apps so `invoke` reaches them by app id,
 * and report how its consumers are configured.
 */
import { randomBytes } from 'node:crypto';
import type { RequestListener } from 'node:http';
import express from 'express';
import type { CloudEvent } from '@wallet/contracts';
import { waitFor } from '@wallet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtagMismatchError, InvocationError } from '../../src/port.ts';
import type { EventHandler, Platform, SubscriptionStatus } from '../../src/port.ts';

export const CONTRACT_APPS = {
  publisher: 'contract-publisher',
  consumerA: 'contract-consumer-a',
  consumerB: 'contract-consumer-b',
  callee: 'contract-callee',
} as const;

export interface ContractSetup {
  /** Every app the suite needs a platform for. */
  appIds: readonly string[];
  /** HTTP apps to serve under these app ids (invocation targets), next to whatever the transport needs. */
  httpApps: Readonly<Record<string, RequestListener>>;
  /** Registers all subscriptions of the suite; call it after creating the platforms, before delivering. */
  subscribe(platforms: Readonly<Record<string, Platform>>): void;
}

export interface ContractEnvironment {
  platforms: Readonly<Record<string, Platform>>;
  /** Deliveries of one message before it is dead-lettered (first delivery included), as the harness configured it. */
  maxDeliveryAttempts: number;
  /** True when the transport delivers exactly as often as the policy says (no broker-side redeliveries). */
  exactDeliveryCounts: boolean;
  /** Deadline for anything asynchronous; generous enough for the broker. */
  timeoutMs: number;
  close(): Promise<void>;
}

export type MakeContractPlatforms = (setup: ContractSetup) => Promise<ContractEnvironment>;

/** Deliveries seen by one subscription. */
class Deliveries {
  readonly events: CloudEvent<unknown>[] = [];
  count(id: string): number {
    return this.events.filter((e) => e.id === id).length;
  }
  first(id: string): CloudEvent<unknown> | undefined {
    return this.events.find((e) => e.id === id);
  }
}

function recorder(
  deliveries: Deliveries,
  decide: (event: CloudEvent<unknown>, attempt: number) => SubscriptionStatus,
): EventHandler {
  return (event) => {
    deliveries.events.push(event);
    return Promise.resolve(decide(event, deliveries.count(event.id)));
  };
}

function calleeApp(): express.Express {
  const app = express();
  app.use(express.json());
  app.post('/echo', (req, res) => {
    res
      .status(201)
      .set('x-echo', 'yes')
      .json({
        method: req.method,
        path: req.path,
        query: req.query,
        body: req.body as unknown,
        requestId: req.get('x-request-id') ?? null,
        traceparent: req.get('traceparent') ?? null,
        contentType: req.get('content-type') ?? null,
      });
  });
  app.get('/problem', (_req, res) => {
    res
      .status(422)
      .set('x-problem-id', 'p-1')
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: 'https://wallet.dev/problems/validation',
          title: 'Validation failed',
          status: 422,
          errors: [{ field: 'body.amount', message: 'must be a decimal string' }],
        }),
      );
  });
  app.get('/text', (_req, res) => {
    res.status(200).type('text/plain').send('plain words');
  });
  app.delete('/empty', (_req, res) => {
    res.status(204).end();
  });
  app.get('/slow', (_req, res) => {
    const timer = setTimeout(() => res.status(200).json({ late: true }), 3_000);
    res.on('close', () => clearTimeout(timer));
  });
  return app;
}

/** Which app id plays each role; a transport may map roles onto fewer apps (daprd: two sidecars). */
export type ContractApps = Record<keyof typeof CONTRACT_APPS, string>;

export function runPlatformContract(
  makePlatforms: MakeContractPlatforms,
  options: { label?: string; apps?: Partial<ContractApps> } = {},
): void {
  const apps: ContractApps = { ...CONTRACT_APPS, ...options.apps };
  if (apps.consumerA === apps.consumerB) {
    throw new Error('runPlatformContract: consumerA and consumerB must be different apps (fan-out)');
  }
  const run = randomBytes(4).toString('hex');
  const topic = (name: string): string => `contract.${run}.${name}`;
  const T = {
    fanOut: topic('fan-out'),
    retry: topic('retry'),
    exhaust: topic('exhaust'),
    exhaustDlq: topic('exhaust.dead-letter'),
    drop: topic('drop'),
    dropDlq: topic('drop.dead-letter'),
    thrown: topic('thrown'),
  };
  const seen = {
    fanOutA: new Deliveries(),
    fanOutB: new Deliveries(),
    retry: new Deliveries(),
    exhaust: new Deliveries(),
    exhaustDlq: new Deliveries(),
    drop: new Deliveries(),
    dropDlq: new Deliveries(),
    thrown: new Deliveries(),
  };
  const thrownAttempts = new Map<string, number>();

  const setup: ContractSetup = {
    appIds: [...new Set(Object.values(apps))],
    httpApps: { [apps.callee]: calleeApp() },
    subscribe(platforms) {
      const a = platforms[apps.consumerA]!;
      const b = platforms[apps.consumerB]!;
      a.subscribe(
        T.fanOut,
        recorder(seen.fanOutA, () => 'SUCCESS'),
      );
      b.subscribe(
        T.fanOut,
        recorder(seen.fanOutB, () => 'SUCCESS'),
      );
      a.subscribe(
        T.retry,
        recorder(seen.retry, (_e, attempt) => (attempt === 1 ? 'RETRY' : 'SUCCESS')),
      );
      a.subscribe(
        T.exhaust,
        recorder(seen.exhaust, () => 'RETRY'),
        { deadLetterTopic: T.exhaustDlq },
      );
      a.subscribe(
        T.exhaustDlq,
        recorder(seen.exhaustDlq, () => 'SUCCESS'),
      );
      a.subscribe(
        T.drop,
        recorder(seen.drop, () => 'DROP'),
        { deadLetterTopic: T.dropDlq },
      );
      a.subscribe(
        T.dropDlq,
        recorder(seen.dropDlq, () => 'SUCCESS'),
      );
      a.subscribe(T.thrown, (event) => {
        seen.thrown.events.push(event);
        const attempt = (thrownAttempts.get(event.id) ?? 0) + 1;
        thrownAttempts.set(event.id, attempt);
        if (attempt === 1) return Promise.reject(new Error('handler crashed on first delivery'));
        return Promise.resolve('SUCCESS');
      });
    },
  };

  describe(options.label ?? 'platform contract', () => {
    let env: ContractEnvironment;
    const platform = (appId: string): Platform => {
      const p = env.platforms[appId];
      if (!p) throw new Error(`harness gave no platform for ${appId}`);
      return p;
    };
    const publisher = (): Platform => platform(apps.publisher);
    const eventId = (name: string): string => `${run}-${name}-${randomBytes(3).toString('hex')}`;
    const publishTo = async (
      to: string,
      id: string,
      data: Record<string, unknown> = { n: 1 },
    ): Promise<void> => {
      await publisher().publish(
        to,
        { type: 'wallet.contract.probe.v1', source: apps.publisher, data },
        { id },
      );
    };
    const until = <V>(
      what: string,
      check: () => Promise<V | undefined | false> | V | undefined | false,
    ): Promise<V> => waitFor(check, { timeoutMs: env.timeoutMs, intervalMs: 20, what });

    beforeAll(async () => {
      env = await makePlatforms(setup);
    }, 180_000);

    afterAll(async () => {
      await env?.close();
    });

    describe('pub/sub', () => {
      it('delivers a CloudEvents 1.0 envelope with our id, type, source, trace and data to every subscribing app once', async () => {
        const id = eventId('envelope');
        const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
        const data = {
          walletId: 'w-1',
          amount: '12345678901234567890',
          currency: 'EUR',
          nested: { tags: ['a', 'b'] },
        };
        const before = Date.now();
        await publisher().publish(
          T.fanOut,
          { type: 'wallet.contract.envelope.v1', source: apps.publisher, data },
          { id, traceparent, partitionKey: 'w-1' },
        );
        const atA = await until('consumer A to receive the event', () => seen.fanOutA.first(id));
        await until('consumer B to receive the event', () => seen.fanOutB.first(id));
        expect(atA).toMatchObject({
          specversion: '1.0',
          id,
          type: 'wallet.contract.envelope.v1',
          source: apps.publisher,
          data,
          traceparent,
          topic: T.fanOut,
          pubsubname: 'pubsub',
        });
        expect(atA.datacontenttype).toMatch(/^application\/json/);
        const time = Date.parse(atA.time ?? '');
        expect(time).toBeGreaterThanOrEqual(before - 60_000);
        expect(time).toBeLessThanOrEqual(Date.now() + 60_000);
        expect(seen.fanOutA.count(id)).toBe(1);
        expect(seen.fanOutB.count(id)).toBe(1);
      });

      it('redelivers a message whose handler answered RETRY', async () => {
        const id = eventId('retry');
        await publishTo(T.retry, id, { step: 'retry' });
        await until('the redelivery', () => seen.retry.count(id) >= 2);
        const [first, second] = seen.retry.events.filter((e) => e.id === id);
        expect(second?.data).toEqual(first?.data);
        expect(second?.type).toBe(first?.type);
        if (env.exactDeliveryCounts) expect(seen.retry.count(id)).toBe(2);
      });

      it('sends a message to the dead-letter topic after the configured number of failed deliveries', async () => {
        const id = eventId('exhaust');
        await publishTo(T.exhaust, id, { step: 'exhaust' });
        const dead = await until('the dead-letter topic to receive it', () => seen.exhaustDlq.first(id));
        expect(dead).toMatchObject({
          id,
          type: 'wallet.contract.probe.v1',
          source: apps.publisher,
          data: { step: 'exhaust' },
        });
        if (env.exactDeliveryCounts) {
          expect(seen.exhaust.count(id)).toBe(env.maxDeliveryAttempts);
        } else {
          expect(seen.exhaust.count(id)).toBeGreaterThanOrEqual(2);
        }
      });

      it('sends a DROPped message straight to the dead-letter topic', async () => {
        const id = eventId('drop');
        await publishTo(T.drop, id, { step: 'drop' });
        const dead = await until('the dead-letter topic to receive it', () => seen.dropDlq.first(id));
        expect(dead).toMatchObject({ id, data: { step: 'drop' } });
        if (env.exactDeliveryCounts) expect(seen.drop.count(id)).toBe(1);
      });

      it('never loses a message whose handler threw: it comes back', async () => {
        const id = eventId('thrown');
        await publishTo(T.thrown, id, { step: 'thrown' });
        await until('the delivery after the crash', () => (thrownAttempts.get(id) ?? 0) >= 2);
        expect(seen.thrown.count(id)).toBeGreaterThanOrEqual(2);
        if (env.exactDeliveryCounts) expect(seen.thrown.count(id)).toBe(2);
      });

      it('refuses to publish data that is not a JSON object', async () => {
        await expect(
          publisher().publish(T.fanOut, {
            type: 'wallet.contract.probe.v1',
            source: apps.publisher,
            data: 'text',
          }),
        ).rejects.toThrow(TypeError);
      });
    });

    describe('service invocation', () => {
      it('passes method, path, query, headers and a JSON body, and returns status, headers and JSON intact', async () => {
        const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
        const answer = await publisher().invoke({
          appId: apps.callee,
          method: 'POST',
          path: '/echo?currency=EUR&limit=2',
          headers: { 'x-request-id': 'req-1', traceparent },
          body: { amount: '100', currency: 'EUR', tags: ['x'] },
        });
        expect(answer.status).toBe(201);
        expect(answer.headers['x-echo']).toBe('yes');
        expect(answer.headers['content-type']).toMatch(/^application\/json/);
        expect(answer.body).toEqual({
          method: 'POST',
          path: '/echo',
          query: { currency: 'EUR', limit: '2' },
          body: { amount: '100', currency: 'EUR', tags: ['x'] },
          requestId: 'req-1',
          traceparent: expect.any(String) as unknown,
          contentType: expect.stringMatching(/^application\/json/) as unknown,
        });
      });

      it('passes a problem+json 422 through intact instead of throwing', async () => {
        const answer = await publisher().invoke({
          appId: apps.callee,
          method: 'GET',
          path: '/problem',
        });
        expect(answer.status).toBe(422);
        expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(answer.headers['x-problem-id']).toBe('p-1');
        expect(answer.body).toEqual({
          type: 'https://wallet.dev/problems/validation',
          title: 'Validation failed',
          status: 422,
          errors: [{ field: 'body.amount', message: 'must be a decimal string' }],
        });
      });

      it('returns text bodies as text and empty bodies as undefined', async () => {
        const text = await publisher().invoke({ appId: apps.callee, method: 'GET', path: '/text' });
        expect(text).toMatchObject({ status: 200, body: 'plain words' });
        const empty = await publisher().invoke({
          appId: apps.callee,
          method: 'DELETE',
          path: '/empty',
        });
        expect(empty.status).toBe(204);
        expect(empty.body).toBeUndefined();
      });

      it('throws InvocationError(timeout) when the callee does not answer in time', async () => {
        const call = publisher().invoke({
          appId: apps.callee,
          method: 'GET',
          path: '/slow',
          timeoutMs: 300,
        });
        await expect(call).rejects.toBeInstanceOf(InvocationError);
        await expect(call).rejects.toMatchObject({ reason: 'timeout', appId: apps.callee });
      });

      it('throws InvocationError when the app does not exist', async () => {
        const call = publisher().invoke({
          appId: `contract-missing-${run}`,
          method: 'GET',
          path: '/x',
          timeoutMs: 10_000,
        });
        await expect(call).rejects.toBeInstanceOf(InvocationError);
      }, 30_000);
    });

    describe('state', () => {
      const key = (name: string): string => `contract-${run}-${name}`;
      const store = () => platform(apps.consumerA).state;

      it('sets, gets and deletes a JSON value', async () => {
        const k = key('roundtrip');
        expect(await store().get(k)).toBeUndefined();
        await store().set(k, { count: 3, labels: ['a'] });
        const item = await store().get<{ count: number; labels: string[] }>(k);
        expect(item?.value).toEqual({ count: 3, labels: ['a'] });
        expect(typeof item?.etag).toBe('string');
        await store().delete(k);
        expect(await store().get(k)).toBeUndefined();
      });

      it('enforces ETags: a stale ETag is refused on set and delete, the current one wins', async () => {
        const k = key('etag');
        await store().set(k, { v: 1 });
        const first = await store().get(k);
        await store().set(k, { v: 2 }, { etag: first!.etag });
        await expect(store().set(k, { v: 3 }, { etag: first!.etag })).rejects.toBeInstanceOf(
          EtagMismatchError,
        );
        const second = await store().get(k);
        expect(second?.value).toEqual({ v: 2 });
        expect(second?.etag).not.toBe(first?.etag);
        await expect(store().delete(k, { etag: first!.etag })).rejects.toBeInstanceOf(EtagMismatchError);
        await store().delete(k, { etag: second!.etag });
        expect(await store().get(k)).toBeUndefined();
      });

      it('writes with etag null only when the key is absent (first write wins)', async () => {
        const k = key('first-write');
        await store().set(k, { owner: 'first' }, { etag: null });
        await expect(store().set(k, { owner: 'second' }, { etag: null })).rejects.toBeInstanceOf(
          EtagMismatchError,
        );
        expect((await store().get(k))?.value).toEqual({ owner: 'first' });
      });

      it('expires a value after its TTL', async () => {
        const k = key('ttl');
        await store().set(k, { short: true }, { ttlSeconds: 1 });
        expect((await store().get(k))?.value).toEqual({ short: true });
        await until('the value to expire', async () => (await store().get(k)) === undefined);
      }, 30_000);
    });
  });
}
