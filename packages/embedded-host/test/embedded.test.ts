/**
 * The one-command embedded mode, started the way `npm start` starts it (other ports, a throw-away
 * data folder): HTTPS gateway reporting all five services ready, HTTP redirecting, clean stop.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '../src/platform.ts';

let platform: EmbeddedPlatform;
let dataDir: string;

// Fixed ports below Linux's ephemeral range (32768-60999): a port in it can be held by a loopback
// client socket (or its TIME_WAIT) of an earlier suite, and listening on it then fails with EADDRINUSE.
const ports = { postgresPort: 25490, httpsPort: 28443, httpPort: 28080 };

function get(url: string, ca?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https') ? httpsRequest : httpRequest)(url, { ca, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wallet-embedded-'));
  platform = await startEmbeddedPlatform({ dataDir, ...ports, logLevel: 'silent' });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('embedded mode', () => {
  it('serves the gateway over HTTPS with a certificate for localhost, ready with all five services', async () => {
    const res = await get(`https://localhost:${ports.httpsPort}/readyz`, platform.certificate);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ready');
    for (const service of ['identity', 'wallet-ledger', 'risk', 'notification', 'database', 'migrations']) {
      expect(body.checks[service]?.ok, service).toBe(true);
    }
  });

  it('redirects plain HTTP to HTTPS, keeping the path', async () => {
    const res = await get(`http://127.0.0.1:${ports.httpPort}/v1/wallets?limit=5`);
    expect(res.status).toBe(308);
    expect(res.headers['location']).toBe(`https://localhost:${ports.httpsPort}/v1/wallets?limit=5`);
  });

  it("gives each service its own database, which another service's role cannot open", async () => {
    const ledger = platform.databases['wallet-ledger']!;
    const identity = platform.databases['identity']!;
    const intruderUrl = new URL(identity.appUrl);
    intruderUrl.pathname = `/${ledger.database}`;
    const intruder = new pg.Client({ connectionString: intruderUrl.toString() });
    await expect(intruder.connect()).rejects.toThrow(/permission denied/);
    await intruder.end().catch(() => undefined);
    const own = new pg.Client({ connectionString: ledger.appUrl });
    await own.connect();
    const { rows } = await own.query<{ count: string }>('select count(*) from outbox');
    expect(rows[0]?.count).toBe('0');
    await own.end();
  });
});
