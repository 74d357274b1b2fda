/**
 * Conformance fixes found by fuzzing the public API (tools/api-fuzz), each as the plain request that
 * showed it, against the real gateway (real PostgreSQL) in front of the stand-in services.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemType, type Role } from '@wallet/contracts';
import { infraEnv } from '@wallet/testing';
import { startGateway, type GatewayUnderTest } from '../helpers/gateway.ts';

const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { type?: string };
}

/** fetch refuses TRACE; a fuzzer (and an attacker) does not. */
function rawCall(
  baseUrl: string,
  method: string,
  path: string,
  accessToken?: string,
  body?: string,
): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path,
        method,
        headers: {
          ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: (text ? JSON.parse(text) : {}) as RawAnswer['body'],
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!adminUrl)('api-gateway conformance (found by schemathesis)', () => {
  let gw: GatewayUnderTest;
  const token = (sub: string, roles: Role[] = ['user'], acr: 'aal1' | 'aal2' = 'aal1') =>
    gw.fakes.issue({ sub, roles, acr });

  beforeAll(async () => {
    gw = await startGateway({ adminUrl: adminUrl! });
  });
  afterAll(async () => gw?.stop());

  it('answers a method outside the allow-list with 405 and the Allow header of the path', async () => {
    for (const method of ['TRACE', 'PATCH', 'PROPFIND']) {
      const res = await rawCall(gw.url, method, '/v1/wallets', await token('user-c1'));
      expect({ method, status: res.status }).toEqual({ method, status: 405 });
      expect(res.headers['allow']).toBe('GET, POST');
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.type).toBe(ProblemType.methodNotAllowed);
    }
    const withParam = await rawCall(gw.url, 'TRACE', '/v1/transfers/0b6f1c1e-7d3c-4a43-9a38-2f1b0c1d2e3f');
    expect(withParam.status).toBe(405);
    expect(withParam.headers['allow']).toBe('GET');
  });

  it('answers such a method on a path the API does not serve with 404, as any other method', async () => {
    const res = await rawCall(gw.url, 'TRACE', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers['allow']).toBeUndefined();
    expect(res.body.type).toBe(ProblemType.notFound);
  });

  it('answers a method the path does not serve with 405, even when it carries a body', async () => {
    // Before: `GET` with a JSON body on a POST-only route met the WAF's body rule first (400).
    const res = await rawCall(gw.url, 'GET', '/v1/transfers', await token('user-c3'), '{"a":1}');
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('POST');
    const options = await rawCall(gw.url, 'OPTIONS', '/v1/me', await token('user-c3'));
    expect(options.status).toBe(405);
    expect(options.headers['allow']).toBe('GET');
  });

  it('refuses a dead-letter id that no store could hold with 400, not 503', async () => {
    const admin = await token('admin-c2', ['user', 'admin'], 'aal2');
    const res = await gw.call('POST', '/v1/admin/dead-letters/replay', {
      token: admin,
      body: { ids: ['\u00f2K)'], service: 'api-gateway' },
    });
    expect(res.status).toBe(400);
    expect((res.body as { type: string }).type).toBe(ProblemType.validation);
  });

  it('refuses a NUL character in a JSON string at the door, where a service would have answered 500', async () => {
    const before = gw.fakes.received.length;
    const res = await gw.call('POST', '/v1/admin/adjustments', {
      token: await token('admin-c3', ['user', 'admin'], 'aal2'),
      headers: { 'idempotency-key': 'adj-nul-1' },
      body: {
        walletId: '0b6f1c1e-7d3c-4a43-9a38-2f1b0c1d2e3f',
        amount: '79',
        direction: 'debit',
        reason: 'T\u0000x',
      },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ type: ProblemType.requestBlocked, rule: 'json-006' });
    expect(gw.fakes.received.length).toBe(before);
  });

  it('refuses a query that violates the document: limit given twice, cursor over its length', async () => {
    const support = await token('support-c1', ['user', 'support'], 'aal2');
    for (const query of ['limit=1&limit=2', `cursor=${'1'.repeat(20)}`, 'outcome=maybe', 'limit=0']) {
      const res = await gw.call('GET', `/v1/admin/audit-log?${query}`, { token: support });
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect((res.body as { type: string }).type).toBe(ProblemType.validation);
    }
    const admin = await token('admin-c1', ['user', 'admin'], 'aal2');
    for (const query of ['limit=5&limit=6', `topic=${'t'.repeat(201)}`, 'service=nobody']) {
      const res = await gw.call('GET', `/v1/admin/dead-letters?${query}`, { token: admin });
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect((res.body as { type: string }).type).toBe(ProblemType.validation);
    }
    const fine = await gw.call('GET', '/v1/admin/audit-log?limit=2', { token: support });
    expect(fine.status).toBe(200);
  });

  it('documents in the merged document the 401 and 414 it answers', async () => {
    const doc = (await gw.call('GET', '/v1/openapi.json')).body as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const me = doc.paths['/v1/me']!['get']!;
    expect(Object.keys(me.responses)).toEqual(expect.arrayContaining(['200', '401', '414', '429', '503']));
    const unauthenticated = await gw.call('GET', '/v1/me');
    expect(unauthenticated.status).toBe(401);
    const tooLong = await gw.call('GET', `/v1/me?x=${'a'.repeat(3000)}`, { token: await token('user-c2') });
    expect(tooLong.status).toBe(414);
  });
});
