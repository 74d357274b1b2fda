/**
 * What the public port shows of the inside, on the real platform (embedded mode, default gateway
 * settings as `npm start` has them): the outside security test found `/metrics` served on the public
 * HTTPS port, a `/readyz` naming every internal service and its state, `X-Upstream-App` naming
 * internal apps, and problem `instance` fields with internal paths (`/auth/login` for `/v1/auth/login`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemType } from '@wallet/contracts';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@wallet/embedded-host';
import { publicClient, type PublicClient } from '../src/public-client.ts';

// Below the ephemeral range, and apart from every other embedded-mode suite (PostgreSQL cannot take port 0).
const ports = { postgresPort: 25497, httpsPort: 28451, httpPort: 28087 };
const INTERNAL_NAMES = [
  'identity',
  'wallet-ledger',
  'risk',
  'notification',
  'api-gateway',
  'database',
  'migrations',
];

let platform: EmbeddedPlatform | undefined;
let dataDir: string | undefined;
let api: PublicClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wallet-public-face-'));
  platform = await startEmbeddedPlatform({
    dataDir,
    ...ports,
    logLevel: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    serviceEnv: { identity: { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' } },
  });
  api = publicClient(platform.gatewayUrl, platform.certificate);
}, 120_000);

afterAll(async () => {
  await api?.close();
  await platform?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('system (embedded): the public port shows nothing of the inside', () => {
  it('answers /readyz with ready or not ready only; the detailed report is on the internal listener', async () => {
    const res = await api.call('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready' });
    const internalUrl = platform!.internalUrls['api-gateway']!;
    expect(new URL(internalUrl).hostname).toBe('127.0.0.1');
    const detailed = (await (await fetch(`${internalUrl}/readyz`)).json()) as {
      checks: Record<string, { ok: boolean }>;
    };
    expect(Object.keys(detailed.checks)).toEqual(expect.arrayContaining(['identity', 'wallet-ledger']));
  });

  it('does not serve /metrics on the public port; each app serves it on its internal listener', async () => {
    const res = await api.call<string | { type: string }>('GET', '/metrics');
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.body)).not.toContain('http_requests_total');
    for (const url of Object.values(platform!.internalUrls)) {
      expect(await (await fetch(`${url}/metrics`)).text()).toContain('http_requests_total');
    }
  });

  it('names no internal app in headers, and problem instances show the public path', async () => {
    const answers = {
      forwarded: await api.call('GET', '/.well-known/jwks.json'),
      local: await api.call('GET', '/v1/openapi.json'),
      refusedByGateway: await api.call('GET', '/v1/me'),
      refusedByIdentity: await api.call('POST', '/v1/auth/login', {
        body: { email: 'nobody@example.com', password: 'not the password at all' },
      }),
      invalidForIdentity: await api.call('POST', '/v1/auth/register', { body: { email: 'not-an-address' } }),
    };
    expect(answers.forwarded.status).toBe(200);
    expect(answers.local.status).toBe(200);
    for (const [name, answer] of Object.entries(answers)) {
      expect(answer.headers.get('x-upstream-app'), name).toBeNull();
      const headerText = [...answer.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
      for (const internal of INTERNAL_NAMES) expect(headerText, `${name} headers`).not.toContain(internal);
    }
    expect(answers.refusedByGateway.body).toMatchObject({ status: 401, instance: '/v1/me' });
    expect(answers.refusedByIdentity.status).toBe(401);
    expect(answers.refusedByIdentity.body).toMatchObject({ instance: '/v1/auth/login' });
    expect(answers.invalidForIdentity.status).toBe(400);
    expect(answers.invalidForIdentity.body).toMatchObject({
      type: ProblemType.validation,
      instance: '/v1/auth/register',
    });
  });
});
