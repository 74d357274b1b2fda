import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { upstreamHeaderFilter, withPublicInstance } from '../../src/http/public-face.ts';

let server: Server | undefined;

async function stop() {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
}

async function serve(filter: express.RequestHandler, answer: { status: number; body: unknown }) {
  const app = express();
  app.use(filter);
  app.use('/v1', (_req, res) => {
    res.setHeader('X-Upstream-App', 'wallet-ledger');
    res.set('X-Other', 'kept');
    res.status(answer.status).json(withPublicInstance(answer, res));
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(stop);

const problem = { type: 'https://wallet.dev/problems/x', title: 'X', status: 422, instance: '/transfers' };

describe('public face', () => {
  it('drops X-Upstream-App unless exposed outside production, and keeps other headers', async () => {
    for (const [expose, appEnv, shown] of [
      [false, 'development', null],
      [true, 'development', 'wallet-ledger'],
      [true, 'production', null],
    ] as const) {
      const base = await serve(upstreamHeaderFilter({ expose, appEnv }), { status: 200, body: {} });
      const res = await fetch(`${base}/v1/transfers`);
      expect(res.headers.get('x-upstream-app'), `${expose} ${appEnv}`).toBe(shown);
      expect(res.headers.get('x-other')).toBe('kept');
      await stop();
    }
  });

  it('rewrites a relayed problem instance to the public path, without the query', async () => {
    const base = await serve(upstreamHeaderFilter({ expose: false, appEnv: 'test' }), {
      status: 422,
      body: problem,
    });
    const res = await fetch(`${base}/v1/transfers?x=1`);
    expect(await res.json()).toEqual({ ...problem, instance: '/v1/transfers' });
  });

  it('leaves success bodies and non-problem error bodies alone', async () => {
    const ok = { type: 'transfer', status: 201, instance: '/kept' };
    const base = await serve(upstreamHeaderFilter({ expose: false, appEnv: 'test' }), {
      status: 201,
      body: ok,
    });
    expect(await (await fetch(`${base}/v1/transfers`)).json()).toEqual(ok);
  });
});
