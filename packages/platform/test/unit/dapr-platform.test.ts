/**
 * The Dapr transport's outbound calls, checked against a scripted fake of daprd's HTTP API: the right
 * endpoints, the API token, publish metadata, and faithful mapping of answers and failures. Real daprd
 * runs in the integration suites.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDaprPlatform, daprEnvironment } from '../../src/dapr/index.ts';
import type { DaprPlatform } from '../../src/dapr/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { EtagMismatchError, InvocationError } from '../../src/port.ts';
import { fakeSidecar, listen } from '../helpers/http.ts';

type Sidecar = Awaited<ReturnType<typeof fakeSidecar>>;
let sidecar: Sidecar | undefined;
let platform: DaprPlatform | undefined;

afterEach(async () => {
  await platform?.close();
  await sidecar?.close();
  platform = undefined;
  sidecar = undefined;
});

async function withSidecar(
  timeoutMs = 2_000,
  daprApiToken: string | undefined = 'sidecar-token',
): Promise<Sidecar> {
  sidecar = await fakeSidecar();
  platform = createDaprPlatform({
    appId: 'wallet-ledger',
    daprHttpPort: sidecar.port,
    ...(daprApiToken === undefined ? {} : { daprApiToken }),
    logger: silentLogger,
    timeoutMs,
  });
  return sidecar;
}

describe('daprEnvironment', () => {
  it('reads the ports and tokens daprd sets, with Dapr defaults and blanks as unset', () => {
    expect(daprEnvironment({})).toEqual({
      daprHttpPort: 3500,
      daprGrpcPort: undefined,
      daprApiToken: undefined,
      appApiToken: undefined,
    });
    expect(
      daprEnvironment({
        DAPR_HTTP_PORT: '3601',
        DAPR_GRPC_PORT: '3511',
        DAPR_API_TOKEN: 'a',
        APP_API_TOKEN: '',
      }),
    ).toEqual({ daprHttpPort: 3601, daprGrpcPort: 3511, daprApiToken: 'a', appApiToken: undefined });
  });

  it('refuses a malformed port with a message naming the variable', () => {
    expect(() => daprEnvironment({ DAPR_HTTP_PORT: 'http' })).toThrow(/DAPR_HTTP_PORT/);
    expect(() => daprEnvironment({ DAPR_GRPC_PORT: '70000' })).toThrow(/DAPR_GRPC_PORT/);
  });
});

describe('construction', () => {
  it('needs a gRPC port when publishing over gRPC', () => {
    expect(() =>
      createDaprPlatform({ appId: 'x', daprHttpPort: 3500, publishProtocol: 'grpc', logger: silentLogger }),
    ).toThrow(/daprGrpcPort/);
  });
});

describe('publish', () => {
  it('publishes the data through the SDK with CloudEvent overrides, partition key and the API token', async () => {
    const fake = await withSidecar();
    await platform!.publish(
      'ledger.transfer.completed',
      {
        type: 'wallet.ledger.transfer.completed.v1',
        source: 'wallet-ledger',
        data: { transferId: 't-1', amount: '5' },
      },
      {
        id: 'row-1',
        partitionKey: 'wallet-9',
        traceparent: '00-aaaabbbbccccddddeeeeffff00001111-0123456789abcdef-01',
      },
    );
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    const url = new URL(request!.url, 'http://sidecar');
    expect(request!.method).toBe('POST');
    expect(url.pathname).toBe('/v1.0/publish/pubsub/ledger.transfer.completed');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      'metadata.cloudevent.id': 'row-1',
      'metadata.cloudevent.type': 'wallet.ledger.transfer.completed.v1',
      'metadata.cloudevent.source': 'wallet-ledger',
      'metadata.cloudevent.traceparent': '00-aaaabbbbccccddddeeeeffff00001111-0123456789abcdef-01',
      'metadata.partitionKey': 'wallet-9',
    });
    expect(request!.headers['dapr-api-token']).toBe('sidecar-token');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({ transferId: 't-1', amount: '5' });
  });

  it('rejects when the sidecar refuses the publish (the SDK only returns {error})', async () => {
    const fake = await withSidecar();
    fake.answerWith((_req, res) =>
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE","message":"broker down"}'),
    );
    await expect(
      platform!.publish('t', { type: 'x.v1', source: 'wallet-ledger', data: { a: 1 } }, { id: 'row-2' }),
    ).rejects.toThrow(/publish to t failed/);
  });

  it('rejects when the sidecar does not answer in time', async () => {
    const fake = await withSidecar(300);
    fake.answerWith(() => {
      /* never answers */
    });
    const started = Date.now();
    await expect(
      platform!.publish('t', { type: 'x.v1', source: 'wallet-ledger', data: { a: 1 } }),
    ).rejects.toThrow(/within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('invoke', () => {
  it('calls /v1.0/invoke/<app>/method/<path> with our headers and the token, and passes the answer through', async () => {
    const fake = await withSidecar();
    fake.answerWith((_req, res) =>
      res
        .writeHead(422, {
          'content-type': 'application/problem+json',
          'x-request-id': 'r-1',
          'retry-after': '3',
        })
        .end('{"type":"https://wallet.dev/problems/validation","title":"Validation failed","status":422}'),
    );
    const answer = await platform!.invoke({
      appId: 'risk',
      method: 'POST',
      path: '/assessments?dryRun=true',
      headers: { 'x-request-id': 'r-1', 'dapr-api-token': 'caller-must-not-choose-this' },
      body: { userId: 'u-1' },
    });
    expect(answer).toEqual({
      status: 422,
      headers: expect.objectContaining({
        'x-request-id': 'r-1',
        'retry-after': '3',
        'content-type': 'application/problem+json',
      }) as unknown,
      body: { type: 'https://wallet.dev/problems/validation', title: 'Validation failed', status: 422 },
    });
    const [request] = fake.requests;
    expect(request!.url).toBe('/v1.0/invoke/risk/method/assessments?dryRun=true');
    expect(request!.method).toBe('POST');
    expect(request!.headers['dapr-api-token']).toBe('sidecar-token');
    expect(request!.headers['x-request-id']).toBe('r-1');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({ userId: 'u-1' });
  });

  it("passes the callee's own 500 through, but throws InvocationError when daprd could not reach the callee", async () => {
    const fake = await withSidecar();
    fake.answerWith((_req, res) =>
      res
        .writeHead(500, { 'content-type': 'application/problem+json' })
        .end('{"type":"about:blank","status":500}'),
    );
    expect((await platform!.invoke({ appId: 'risk', method: 'GET', path: '/x' })).status).toBe(500);

    fake.answerWith((_req, res) =>
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(
          '{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: risk, err: connection refused"}',
        ),
    );
    const refused = platform!.invoke({ appId: 'risk', method: 'GET', path: '/x' });
    await expect(refused).rejects.toBeInstanceOf(InvocationError);
    await expect(refused).rejects.toMatchObject({ reason: 'unreachable', appId: 'risk' });

    fake.answerWith((_req, res) =>
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"errorCode":"ERR_DIRECT_INVOKE","message":"context deadline exceeded"}'),
    );
    await expect(platform!.invoke({ appId: 'risk', method: 'GET', path: '/x' })).rejects.toMatchObject({
      reason: 'timeout',
    });
  });

  it('throws InvocationError(timeout) when no answer comes in time, and (unreachable) when the sidecar is down', async () => {
    const fake = await withSidecar();
    fake.answerWith(() => {
      /* never answers */
    });
    await expect(
      platform!.invoke({ appId: 'risk', method: 'GET', path: '/x', timeoutMs: 200 }),
    ).rejects.toMatchObject({
      name: 'InvocationError',
      reason: 'timeout',
    });
    const dead = await listen(() => {});
    await dead.close();
    const orphan = createDaprPlatform({
      appId: 'gw',
      daprHttpPort: dead.port,
      logger: silentLogger,
      timeoutMs: 500,
    });
    try {
      await expect(orphan.invoke({ appId: 'risk', method: 'GET', path: '/x' })).rejects.toMatchObject({
        name: 'InvocationError',
        reason: 'unreachable',
      });
    } finally {
      await orphan.close();
    }
  });
});

describe('state', () => {
  it('reads a value with its ETag, and absent keys as undefined', async () => {
    const fake = await withSidecar();
    fake.answerWith((req, res) => {
      if (req.url.includes('/missing')) res.writeHead(204).end();
      else res.writeHead(200, { 'content-type': 'application/json', etag: '7' }).end('{"count":2}');
    });
    expect(await platform!.state.get('velocity:u 1')).toEqual({ value: { count: 2 }, etag: '7' });
    expect(await platform!.state.get('missing')).toBeUndefined();
    expect(fake.requests[0]!.url).toBe('/v1.0/state/statestore/velocity%3Au%201?consistency=strong');
    expect(fake.requests[0]!.headers['dapr-api-token']).toBe('sidecar-token');
  });

  it('saves with TTL metadata, ETag and first-write concurrency as the state API expects', async () => {
    const fake = await withSidecar();
    await platform!.state.set('a', { v: 1 }, { ttlSeconds: 30 });
    await platform!.state.set('b', { v: 2 }, { etag: '41' });
    await platform!.state.set('c', { v: 3 }, { etag: null });
    const bodies = fake.requests.map((r) => JSON.parse(r.body) as unknown);
    expect(fake.requests.every((r) => r.url === '/v1.0/state/statestore' && r.method === 'POST')).toBe(true);
    expect(bodies).toEqual([
      [{ key: 'a', value: { v: 1 }, metadata: { ttlInSeconds: '30' } }],
      [
        {
          key: 'b',
          value: { v: 2 },
          etag: '41',
          options: { concurrency: 'first-write', consistency: 'strong' },
        },
      ],
      [
        {
          key: 'c',
          value: { v: 3 },
          etag: '0',
          options: { concurrency: 'first-write', consistency: 'strong' },
        },
      ],
    ]);
  });

  it('maps ETag refusals (409, 412, invalid ETag) to EtagMismatchError and other failures to plain errors', async () => {
    const fake = await withSidecar();
    for (const [status, body] of [
      [409, '{"errorCode":"ERR_STATE_SAVE","message":"possible etag mismatch"}'],
      [412, ''],
      [400, '{"errorCode":"ERR_STATE_SAVE","message":"invalid etag value: strconv.Atoi"}'],
    ] as const) {
      fake.answerWith((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
      await expect(platform!.state.set('k', 1, { etag: 'x' })).rejects.toBeInstanceOf(EtagMismatchError);
    }
    fake.answerWith((_req, res) => res.writeHead(500).end('{"errorCode":"ERR_STATE_STORE_NOT_FOUND"}'));
    const failure = platform!.state.set('k', 1);
    await expect(failure).rejects.toThrow(/sidecar answered 500/);
    await expect(failure).rejects.not.toBeInstanceOf(EtagMismatchError);
  });

  it('deletes with If-Match and reports a stale ETag', async () => {
    const fake = await withSidecar();
    await platform!.state.delete('k', { etag: '3' });
    expect(fake.requests[0]).toMatchObject({
      method: 'DELETE',
      url: '/v1.0/state/statestore/k?concurrency=first-write&consistency=strong',
      headers: expect.objectContaining({ 'if-match': '3' }) as unknown,
    });
    fake.answerWith((_req, res) => res.writeHead(409).end());
    await expect(platform!.state.delete('k', { etag: '2' })).rejects.toBeInstanceOf(EtagMismatchError);
  });
});

describe('ready', () => {
  it('follows /v1.0/healthz/outbound', async () => {
    const fake = await withSidecar(500, undefined);
    expect(await platform!.ready()).toBe(true);
    expect(fake.requests.at(-1)?.url).toBe('/v1.0/healthz/outbound');
    fake.answerWith((_req, res) => res.writeHead(500).end());
    expect(await platform!.ready()).toBe(false);
    await fake.close();
    expect(await platform!.ready()).toBe(false);
    sidecar = undefined;
  });
});
