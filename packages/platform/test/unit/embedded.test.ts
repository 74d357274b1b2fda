/** Embedded-transport behaviour beyond the shared contract: timing, consumer groups, lifecycle. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEvent } from '@wallet/contracts';
import { waitFor } from '@wallet/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedBus, createEmbeddedPlatform } from '../../src/embedded/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { InvocationError } from '../../src/port.ts';
import type { Platform } from '../../src/port.ts';
import { createCapturingLogger } from '../helpers/logger.ts';

const probe = { type: 'wallet.test.probe.v1', source: 'publisher', data: { n: 1 } };
const fast = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5 };

let bus: EmbeddedBus;
const open: Platform[] = [];
function platform(appId: string, logger = silentLogger, retry = fast): Platform {
  const p = createEmbeddedPlatform({ appId, bus, logger, retry });
  open.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  await bus?.close();
});

describe('embedded pub/sub', () => {
  it('never runs a handler inside publish: delivery happens after the publisher moves on', async () => {
    bus = new EmbeddedBus();
    const received: string[] = [];
    platform('consumer').subscribe('t', (e) => {
      received.push(e.id);
      return Promise.resolve('SUCCESS');
    });
    await platform('publisher').publish('t', probe, { id: 'e-1' });
    expect(received).toEqual([]);
    await bus.drain();
    expect(received).toEqual(['e-1']);
  });

  it('delivers each message to one replica of an app (consumer group) and to every other app', async () => {
    bus = new EmbeddedBus();
    const byReplica = { r1: 0, r2: 0, other: 0 };
    platform('ledger').subscribe('t', () => Promise.resolve(((byReplica.r1 += 1), 'SUCCESS')));
    platform('ledger').subscribe('t', () => Promise.resolve(((byReplica.r2 += 1), 'SUCCESS')));
    platform('risk').subscribe('t', () => Promise.resolve(((byReplica.other += 1), 'SUCCESS')));
    const publisher = platform('publisher');
    for (let i = 0; i < 10; i += 1) await publisher.publish('t', probe, { id: `e-${i}` });
    await bus.drain();
    expect(byReplica.r1 + byReplica.r2).toBe(10);
    expect(byReplica.r1).toBeGreaterThan(0);
    expect(byReplica.r2).toBeGreaterThan(0);
    expect(byReplica.other).toBe(10);
  });

  it('refuses a second handler for the same topic in the same platform', () => {
    bus = new EmbeddedBus();
    const p = platform('consumer');
    p.subscribe('t', () => Promise.resolve('SUCCESS'));
    expect(() => p.subscribe('t', () => Promise.resolve('SUCCESS'))).toThrow(/already subscribes/);
  });

  it('hands each delivery its own copy: a handler mutating the event cannot affect the redelivery', async () => {
    bus = new EmbeddedBus();
    const seen: unknown[] = [];
    platform('consumer').subscribe('t', (e: CloudEvent<unknown>) => {
      seen.push(structuredClone(e.data));
      (e.data as { n: number }).n = 99;
      return Promise.resolve(seen.length === 1 ? 'RETRY' : 'SUCCESS');
    });
    const data = { n: 1 };
    await platform('publisher').publish('t', { ...probe, data }, { id: 'e-1' });
    data.n = 2; // the publisher changing its object after publish changes nothing either
    await bus.drain();
    expect(seen).toEqual([{ n: 1 }, { n: 1 }]);
  });

  it('treats an answer that is not a status as RETRY', async () => {
    bus = new EmbeddedBus();
    let calls = 0;
    platform('consumer').subscribe('t', () => {
      calls += 1;
      return Promise.resolve((calls === 1 ? undefined : 'SUCCESS') as unknown as 'SUCCESS');
    });
    await platform('publisher').publish('t', probe);
    await bus.drain();
    expect(calls).toBe(2);
  });

  it('logs and drops an exhausted message when the subscription has no dead-letter topic', async () => {
    bus = new EmbeddedBus();
    const logger = createCapturingLogger();
    let calls = 0;
    platform('consumer', logger).subscribe('t', () => Promise.resolve(((calls += 1), 'RETRY')));
    await platform('publisher').publish('t', probe, { id: 'e-lost' });
    await bus.drain();
    expect(calls).toBe(fast.maxAttempts);
    expect(logger.lines.some((l) => l.level === 'error' && /no dead-letter topic/.test(l.msg ?? ''))).toBe(
      true,
    );
  });

  it('holds messages published before start() when created paused, then delivers them to late subscribers', async () => {
    bus = new EmbeddedBus({ startPaused: true });
    await platform('publisher').publish('t', probe, { id: 'early' });
    const received: string[] = [];
    platform('consumer').subscribe('t', (e) => Promise.resolve((received.push(e.id), 'SUCCESS')));
    await bus.drain();
    expect(received).toEqual([]);
    bus.start();
    await bus.drain();
    expect(received).toEqual(['early']);
  });

  it('stops redelivering when the bus closes, and refuses new work', async () => {
    bus = new EmbeddedBus();
    let calls = 0;
    platform('consumer', silentLogger, {
      maxAttempts: 5,
      initialBackoffMs: 60_000,
      maxBackoffMs: 60_000,
    }).subscribe('t', () => Promise.resolve(((calls += 1), 'RETRY')));
    const publisher = platform('publisher');
    await publisher.publish('t', probe);
    await waitFor(() => calls === 1, { what: 'the first delivery' });
    expect(bus.pendingDeliveries).toBeGreaterThan(0); // the redelivery waits on its one-minute backoff
    await bus.close();
    expect(bus.pendingDeliveries).toBe(0);
    await expect(publisher.publish('t', probe)).rejects.toThrow(/closed/);
    expect(calls).toBe(1);
  });

  it('rejects publishing after the platform closed and stops its deliveries', async () => {
    bus = new EmbeddedBus();
    let calls = 0;
    const consumer = platform('consumer');
    consumer.subscribe('t', () => Promise.resolve(((calls += 1), 'SUCCESS')));
    await consumer.close();
    await platform('publisher').publish('t', probe);
    await bus.drain();
    expect(calls).toBe(0);
    await expect(consumer.publish('t', probe)).rejects.toThrow(/closed/);
    expect(await consumer.ready()).toBe(false);
  });

  it('refuses data a broker could not carry', async () => {
    bus = new EmbeddedBus();
    const p = platform('publisher');
    await expect(p.publish('t', { ...probe, data: { big: 1n } })).rejects.toThrow(TypeError);
    await expect(p.publish('t', { ...probe, data: null })).rejects.toThrow(TypeError);
    await expect(p.publish('', probe)).rejects.toThrow(TypeError);
  });
});

describe('embedded invocation', () => {
  it('tells the callee the caller app id, as daprd does, and refuses unknown apps', async () => {
    bus = new EmbeddedBus();
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ caller: req.headers['dapr-caller-app-id'] ?? null }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      bus.registerApp('callee', `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const caller = platform('gateway');
      const answer = await caller.invoke({
        appId: 'callee',
        method: 'GET',
        path: '/who',
        headers: { 'dapr-caller-app-id': 'spoofed' },
      });
      expect(answer.body).toEqual({ caller: 'gateway' });
      await expect(caller.invoke({ appId: 'nobody', method: 'GET', path: '/' })).rejects.toMatchObject({
        name: 'InvocationError',
        reason: 'unreachable',
      });
      await expect(caller.invoke({ appId: 'callee', method: 'GET', path: 'no-slash' })).rejects.toThrow(
        TypeError,
      );
      await expect(
        caller.invoke({ appId: 'callee', method: 'GET', path: '//evil.example/x' }),
      ).rejects.toThrow(TypeError);
      await expect(
        caller.invoke({ appId: 'callee', method: 'GET', path: '/x', body: { a: 1 } }),
      ).rejects.toThrow(/GET request cannot carry a body/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reports a registered app that is not listening as unreachable', async () => {
    bus = new EmbeddedBus();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    bus.registerApp('gone', `http://127.0.0.1:${port}`);
    const call = platform('gateway').invoke({ appId: 'gone', method: 'GET', path: '/' });
    await expect(call).rejects.toBeInstanceOf(InvocationError);
    await expect(call).rejects.toMatchObject({ reason: 'unreachable' });
  });
});

describe('embedded state', () => {
  it('scopes keys per app id and shares them between replicas of one app', async () => {
    bus = new EmbeddedBus();
    const replica1 = platform('risk');
    const replica2 = platform('risk');
    const other = platform('ledger');
    await replica1.state.set('velocity:u1', { count: 1 });
    expect((await replica2.state.get('velocity:u1'))?.value).toEqual({ count: 1 });
    expect(await other.state.get('velocity:u1')).toBeUndefined();
  });

  it('treats an expired key as absent for first-write and ETag checks', async () => {
    bus = new EmbeddedBus();
    const p = platform('risk');
    await p.state.set('k', 1, { ttlSeconds: 1 });
    const item = await p.state.get('k');
    const realNow = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(realNow + 1_500);
    try {
      expect(await p.state.get('k')).toBeUndefined();
      await expect(p.state.set('k', 2, { etag: item!.etag })).rejects.toThrow(/ETag/);
      await p.state.set('k', 3, { etag: null });
      expect((await p.state.get('k'))?.value).toBe(3);
    } finally {
      clock.mockRestore();
    }
  });

  it('rejects values and TTLs the Dapr state API could not take', async () => {
    bus = new EmbeddedBus();
    const p = platform('risk');
    await expect(p.state.set('k', undefined)).rejects.toThrow(TypeError);
    await expect(p.state.set('k', 1, { ttlSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(p.state.set('k', 1, { ttlSeconds: 1.5 })).rejects.toThrow(RangeError);
  });
});
