/**
 * Bounded work in flight and the request's time budget, on a real service app over HTTP: beyond
 * `maxInFlight` + `maxQueued` requests are refused at once with 503 `overloaded` + Retry-After, a
 * queued request waits no longer than its bound, the service serves normally again as soon as the
 * load is gone, and the handlers see the budget their caller handed down in `x-deadline-ms`.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ProblemType } from '@wallet/contracts';
import { remainingBudgetMs } from '@wallet/platform';
import { createServiceApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** An app whose /slow requests are held until released, plus /budget reporting what a handler sees. */
async function start(options: {
  loadShed: { maxInFlight: number; maxQueued: number; maxQueueWaitMs: number };
  trustCallerDeadline?: boolean;
}) {
  const held: (() => void)[] = [];
  const metrics = createMetrics('shed-test', { defaultMetrics: false });
  const app = createServiceApp({
    service: 'shed-test',
    logger: createLogger('shed-test', { level: 'silent' }),
    metrics,
    readiness: [],
    loadShed: options.loadShed,
    requestBudget: { budgetMs: 5_000, trustCallerDeadline: options.trustCallerDeadline ?? true },
    routes(app) {
      app.get('/slow', async (_req, res) => {
        await new Promise<void>((resolve) => held.push(resolve));
        res.json({ ok: true });
      });
      app.get('/budget', (_req, res) => {
        res.json({ remaining: remainingBudgetMs() });
      });
    },
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, held, metrics };
}

const until = async (condition: () => boolean): Promise<void> => {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 2 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('load shedding', () => {
  it('serves maxInFlight, queues maxQueued, refuses the rest at once with 503 overloaded and Retry-After', async () => {
    const { base, held, metrics } = await start({
      loadShed: { maxInFlight: 2, maxQueued: 2, maxQueueWaitMs: 3_000 },
    });
    const admitted = [1, 2, 3, 4].map(() => fetch(`${base}/slow`));
    await until(() => held.length === 2);
    const started = Date.now();
    const refused = await fetch(`${base}/slow`);
    expect(Date.now() - started).toBeLessThan(500);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { type: string }).type).toBe(ProblemType.overloaded);
    // Health is never shed.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    // Releasing the two in flight admits the two queued ones, in order.
    held.splice(0).forEach((release) => release());
    await until(() => held.length === 2);
    held.splice(0).forEach((release) => release());
    expect((await Promise.all(admitted)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const shed = await metrics.httpShed.get();
    expect(shed.values.find((v) => v.labels.reason === 'queue-full')?.value).toBe(1);

    // Load gone: served at once.
    const again = fetch(`${base}/slow`);
    await until(() => held.length === 1);
    held.splice(0).forEach((release) => release());
    expect((await again).status).toBe(200);
  });

  it('lets a queued request wait no longer than maxQueueWaitMs nor half its budget', async () => {
    const { base, held } = await start({ loadShed: { maxInFlight: 1, maxQueued: 5, maxQueueWaitMs: 200 } });
    const first = fetch(`${base}/slow`);
    await until(() => held.length === 1);
    let started = Date.now();
    const waited = await fetch(`${base}/slow`);
    expect(waited.status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(Date.now() - started).toBeLessThan(1_000);
    // A caller with 100 ms left waits at most 50 ms.
    started = Date.now();
    const short = await fetch(`${base}/slow`, { headers: { 'x-deadline-ms': '100' } });
    expect(short.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(150);
    held.splice(0).forEach((release) => release());
    expect((await first).status).toBe(200);
  });
});

describe('request budget', () => {
  it('hands the caller-given x-deadline-ms to the handlers, capped by REQUEST_BUDGET_MS', async () => {
    const { base } = await start({ loadShed: { maxInFlight: 4, maxQueued: 4, maxQueueWaitMs: 100 } });
    const given = (await (await fetch(`${base}/budget`, { headers: { 'x-deadline-ms': '800' } })).json()) as {
      remaining: number;
    };
    expect(given.remaining).toBeGreaterThan(700);
    expect(given.remaining).toBeLessThanOrEqual(800);
    const capped = (await (
      await fetch(`${base}/budget`, { headers: { 'x-deadline-ms': '90000' } })
    ).json()) as {
      remaining: number;
    };
    expect(capped.remaining).toBeLessThanOrEqual(5_000);
    expect(capped.remaining).toBeGreaterThan(4_500);
  });

  it('at the edge, ignores x-deadline-ms: the gateway decides the budget', async () => {
    const { base } = await start({
      loadShed: { maxInFlight: 4, maxQueued: 4, maxQueueWaitMs: 100 },
      trustCallerDeadline: false,
    });
    const seen = (await (await fetch(`${base}/budget`, { headers: { 'x-deadline-ms': '10' } })).json()) as {
      remaining: number;
    };
    expect(seen.remaining).toBeGreaterThan(4_500);
  });
});
