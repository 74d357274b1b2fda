import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProblemType } from '@wallet/contracts';
import { createServiceApp } from '../../src/app.ts';
import { HttpProblem, parseOrThrow } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';

let server: Server;
let base: string;
let ready = true;

beforeAll(async () => {
  const app = createServiceApp({
    service: 'test-service',
    logger: createLogger('test-service', { level: 'silent' }),
    metrics: createMetrics('test-service', { defaultMetrics: false }),
    readiness: [{ name: 'flag', check: () => Promise.resolve(ready) }],
    appApiToken: 'sidecar-token-123',
    routes(app) {
      app.post('/echo', (req, res) => {
        const body = parseOrThrow(z.object({ amount: z.string().regex(/^[0-9]+$/) }), req.body, 'body');
        res.status(201).json(body);
      });
      app.get('/teapot', () => {
        throw new HttpProblem({ status: 418, type: ProblemType.conflict, title: 'Teapot', detail: 'short and stout' });
      });
      app.get('/boom', () => {
        throw new Error('database password is hunter2');
      });
    },
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const withToken = { 'dapr-api-token': 'sidecar-token-123' };

describe('service app', () => {
  it('answers health without the sidecar token and refuses other calls without it', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const refused = await fetch(`${base}/echo`, { method: 'POST' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const wrong = await fetch(`${base}/echo`, { method: 'POST', headers: { 'dapr-api-token': 'sidecar-token-124' } });
    expect(wrong.status).toBe(401);
  });

  it('reports readiness from its checks', async () => {
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    ready = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { type: string }).type).toBe(ProblemType.notReady);
    ready = true;
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

  it('exposes Prometheus metrics labelled by route template', async () => {
    await fetch(`${base}/healthz`);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('http_requests_total');
    expect(text).toMatch(/route="\/echo"/);
  });
});
