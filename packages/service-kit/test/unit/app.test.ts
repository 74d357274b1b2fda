import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProblemType } from '@wallet/contracts';
import { createServiceApp } from '../../src/app.ts';
import { createInternalApp } from '../../src/internal-app.ts';
import { HttpProblem, parseOrThrow } from '../../src/errors.ts';
import { PlatformUnavailableError } from '@wallet/platform';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';

let server: Server;
let internalServer: Server;
let base: string;
let internalBase: string;
let ready = true;

async function serve(app: Parameters<typeof createServer>[1]): Promise<[Server, string]> {
  const s = createServer(app);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return [s, `http://127.0.0.1:${(s.address() as AddressInfo).port}`];
}

beforeAll(async () => {
  const metrics = createMetrics('test-service', { defaultMetrics: false });
  const readiness = [{ name: 'flag', check: () => Promise.resolve(ready) }];
  const app = createServiceApp({
    service: 'test-service',
    logger: createLogger('test-service', { level: 'silent' }),
    metrics,
    readiness,
    appApiToken: 'sidecar-token-123',
    routes(app) {
      app.post('/echo', (req, res) => {
        const body = parseOrThrow(z.object({ amount: z.string().regex(/^[0-9]+$/) }), req.body, 'body');
        res.status(201).json(body);
      });
      app.get('/teapot', () => {
        throw new HttpProblem({
          status: 418,
          type: ProblemType.conflict,
          title: 'Teapot',
          detail: 'short and stout',
        });
      });
      app.get('/boom', () => {
        throw new Error('database password is hunter2');
      });
      // Dependencies down for a moment (soak finding 3): the sidecar restarting, PostgreSQL restarting.
      app.get('/outage/sidecar', () => {
        throw new PlatformUnavailableError('state.get revoked-session:x: Dapr sidecar unreachable');
      });
      app.get('/outage/database', () => {
        throw Object.assign(new Error('terminating connection due to administrator command'), {
          code: '57P01',
        });
      });
      app.get('/outage/connection', () => {
        throw new Error('Connection terminated unexpectedly');
      });
    },
  });
  [server, base] = await serve(app);
  [internalServer, internalBase] = await serve(
    createInternalApp({ service: 'test-service', metrics, readiness }),
  );
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => internalServer.close(resolve));
});

const withToken = { 'dapr-api-token': 'sidecar-token-123' };

describe('service app', () => {
  it('answers health without the sidecar token and refuses other calls without it', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const refused = await fetch(`${base}/echo`, { method: 'POST' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const wrong = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'dapr-api-token': 'sidecar-token-124' },
    });
    expect(wrong.status).toBe(401);
  });

  it('reports readiness from its checks: publicly ready or not, in detail only internally', async () => {
    ready = true;
    const publicReady = await fetch(`${base}/readyz`);
    expect(publicReady.status).toBe(200);
    expect(await publicReady.json()).toEqual({ status: 'ready' });
    ready = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    const text = await notReady.text();
    expect((JSON.parse(text) as { type: string }).type).toBe(ProblemType.notReady);
    expect(text).not.toContain('flag');
    expect(text).not.toContain('test-service');
    const detailed = await fetch(`${internalBase}/readyz`);
    expect(detailed.status).toBe(503);
    expect(await detailed.json()).toMatchObject({ service: 'test-service', checks: { flag: { ok: false } } });
    ready = true;
    expect(await (await fetch(`${internalBase}/readyz`)).json()).toMatchObject({
      checks: { flag: { ok: true } },
    });
  });

  it('answers validation errors as problem+json with field errors', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { ...withToken, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: '10.5' }),
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { type: string; errors: { field: string }[] };
    expect(problem.type).toBe(ProblemType.validation);
    expect(problem.errors[0]?.field).toBe('body.amount');
  });

  it('answers malformed JSON and oversized bodies with their own problem types, never 500', async () => {
    const malformed = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { ...withToken, 'content-type': 'application/json' },
      body: '{"amount": ',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { type: string }).type).toBe(ProblemType.malformedJson);
    const huge = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { ...withToken, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: '1'.repeat(100_000) }),
    });
    expect(huge.status).toBe(413);
  });

  it('renders thrown problems and hides internals of unknown errors', async () => {
    const teapot = await fetch(`${base}/teapot`, { headers: withToken });
    expect(teapot.status).toBe(418);
    expect(((await teapot.json()) as { detail: string }).detail).toBe('short and stout');
    const boom = await fetch(`${base}/boom`, { headers: { ...withToken, 'x-request-id': 'req-42' } });
    expect(boom.status).toBe(500);
    const text = await boom.text();
    expect(text).not.toContain('hunter2');
    expect(text).toContain('req-42');
  });

  it('answers unknown routes with a 404 problem and sets helmet headers and a request id', async () => {
    const res = await fetch(`${base}/nope`, { headers: withToken });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-request-id')).toMatch(/[0-9a-f-]{36}/);
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('exposes Prometheus metrics labelled by route template on the internal listener only', async () => {
    await fetch(`${base}/healthz`);
    const text = await (await fetch(`${internalBase}/metrics`)).text();
    expect(text).toContain('http_requests_total');
    expect(text).toMatch(/route="\/echo"/);
    const open = await fetch(`${base}/metrics`, { headers: withToken });
    expect(open.status).toBe(404);
    expect(await open.text()).not.toContain('http_requests_total');
  });

  it('answers a dependency that is down for a moment with 503 and Retry-After, not 500', async () => {
    for (const path of ['/outage/sidecar', '/outage/database', '/outage/connection']) {
      const res = await fetch(`${base}${path}`, { headers: withToken });
      expect(res.status, path).toBe(503);
      expect(res.headers.get('retry-after'), path).toBe('1');
      expect(((await res.json()) as { type: string }).type, path).toBe(ProblemType.dependencyUnavailable);
    }
    expect((await fetch(`${base}/boom`, { headers: withToken })).status).toBe(500);
  });
});
