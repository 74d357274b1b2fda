/**
 * The one-command embedded mode, started the way `npm start` starts it (other ports, a throw-away
 * data folder): HTTPS gateway reporting all five services ready, HTTP redirecting, settings reaching
 * the services, one platform per data folder, the operator commands finding it, clean stop.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_FILE_NAME } from '@wallet/service-kit';
import { DataFolderInUseError, LOCK_FILE_NAME } from '../src/lock.ts';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '../src/platform.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
let platform: EmbeddedPlatform;
let dataDir: string;
let stalePid: number;

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

/** Runs a Node script of the repository; resolves with its exit code and output. */
function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin = '',
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr, ms: Date.now() - started }));
    child.stdin.end(stdin);
  });
}

/** This environment without any database URL: the commands must find the platform themselves. */
function withoutDatabaseUrl(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env['DATABASE_URL'];
  return env;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wallet-embedded-'));
  // A lock left by an earlier platform that died: this start takes it over.
  stalePid = Number((await runNode(['-e', 'process.stdout.write(String(process.pid))'], process.env)).stdout);
  await writeFile(
    join(dataDir, LOCK_FILE_NAME),
    JSON.stringify({ pid: stalePid, startedAt: '2026-01-01T00:00:00.000Z', command: 'main.ts' }),
  );
  platform = await startEmbeddedPlatform({
    dataDir,
    ...ports,
    logLevel: 'silent',
    env: {
      // What `npm start` reads from the environment and .env: a shared value, one for the gateway only...
      RATE_LIMIT_ANONYMOUS: '1000/60',
      API_GATEWAY_RATE_LIMIT_ANONYMOUS: '4/60',
      // ...and stray values of what the host generates itself, which must not break it.
      PORT: '1',
      DATABASE_URL: 'postgres://stray@127.0.0.1:1/nothing',
      IDENTITY_DATABASE_URL: 'postgres://stray@127.0.0.1:1/nothing',
      PLATFORM_TRANSPORT: 'dapr',
      APP_ENV: 'production',
    },
  });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  // A clean stop leaves no lock and no runtime file behind.
  expect(existsSync(join(dataDir, LOCK_FILE_NAME))).toBe(false);
  expect(existsSync(join(dataDir, RUNTIME_FILE_NAME))).toBe(false);
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('embedded mode', () => {
  it('serves the gateway over HTTPS with a certificate for localhost, ready with all five services', async () => {
    const res = await get(`https://localhost:${ports.httpsPort}/readyz`, platform.certificate);
    expect(res.status).toBe(200);
    // The public answer is ready or not, naming nothing inside.
    expect(JSON.parse(res.body)).toEqual({ status: 'ready' });
    // The detailed report is on the gateway's internal listener (loopback only).
    const internal = await fetch(`${platform.internalUrls['api-gateway']}/readyz`);
    expect(new URL(platform.internalUrls['api-gateway']!).hostname).toBe('127.0.0.1');
    const body = (await internal.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ready');
    for (const service of ['identity', 'wallet-ledger', 'risk', 'notification', 'database', 'migrations']) {
      expect(body.checks[service]?.ok, service).toBe(true);
    }
  });

  it('serves /metrics only on the internal listener, never on the public port', async () => {
    const open = await get(`https://localhost:${ports.httpsPort}/metrics`, platform.certificate);
    expect(open.status).toBe(404);
    expect(open.body).not.toContain('http_requests_total');
    for (const [appId, url] of Object.entries(platform.internalUrls)) {
      const res = await fetch(`${url}/metrics`);
      expect(res.status, appId).toBe(200);
      expect(await res.text(), appId).toContain('http_requests_total');
    }
  });

  it('redirects plain HTTP to HTTPS, keeping the path', async () => {
    const res = await get(`http://127.0.0.1:${ports.httpPort}/v1/wallets?limit=5`);
    expect(res.status).toBe(308);
    expect(res.headers['location']).toBe(`https://localhost:${ports.httpsPort}/v1/wallets?limit=5`);
  });

  it('redirects to its own public host whatever the request line names (absolute form, //host)', async () => {
    const rawRequest = (requestLine: string, host: string): Promise<string> =>
      new Promise((done, fail) => {
        const socket = connect(ports.httpPort, '127.0.0.1', () => {
          socket.end(`${requestLine}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        });
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
        socket.on('end', () => done(answer));
        socket.on('error', fail);
      });
    const location = (answer: string) => /^location: (.*)$/im.exec(answer)?.[1]?.trim();
    const absolute = await rawRequest('GET http://evil.example/steal?next=1 HTTP/1.1', 'evil.example');
    expect(absolute).toMatch(/^HTTP\/1\.1 308 /);
    expect(location(absolute)).toBe(`https://localhost:${ports.httpsPort}/steal?next=1`);
    const schemeRelative = await rawRequest('GET //evil.example/x HTTP/1.1', 'localhost');
    expect(new URL(location(schemeRelative)!).host).toBe(`localhost:${ports.httpsPort}`);
  });

  it('applies the settings it was given: the gateway-only value over the shared one, host values kept', async () => {
    // The stray PORT/DATABASE_URL/PLATFORM_TRANSPORT/APP_ENV did not stop it (it is ready, see above);
    // the anonymous limit is API_GATEWAY_RATE_LIMIT_ANONYMOUS=4/60, not RATE_LIMIT_ANONYMOUS=1000/60.
    const statuses: number[] = [];
    let policy: unknown;
    for (let i = 0; i < 6; i += 1) {
      const res = await get(`https://localhost:${ports.httpsPort}/v1/wallets`, platform.certificate);
      statuses.push(res.status);
      policy ??= res.headers['ratelimit-policy'];
    }
    expect(String(policy)).toMatch(/;q=4;w=60/);
    expect(statuses.slice(0, 4)).not.toContain(429);
    expect(statuses.slice(4)).toEqual([429, 429]);
  });

  it('took over the stale lock of a dead process, and refuses a second platform on the same folder at once', async () => {
    expect(stalePid).toBeGreaterThan(0);
    const started = Date.now();
    const second = await startEmbeddedPlatform({ dataDir, postgresPort: 25499, httpsPort: 28449, httpPort: 28089, logLevel: 'silent' }).then(
      async (p) => {
        await p.stop();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(second).toBeInstanceOf(DataFolderInUseError);
    expect((second as Error).message).toContain(`process ${process.pid}`);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('`npm start` on a folder in use exits at once, naming the running process', async () => {
    const result = await runNode(['packages/embedded-host/src/main.ts'], {
      ...process.env,
      WALLET_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: '25499',
      GATEWAY_HTTPS_PORT: '28449',
      GATEWAY_HTTP_PORT: '28089',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`in use by process ${process.pid}`);
    expect(result.stderr).toMatch(/running since \d{4}-\d\d-\d\dT/);
    expect(result.ms).toBeLessThan(5_000); // it checks the lock before loading the services
  }, 30_000);

  it('lets `npm run identity -- create-admin` and `npm run ledger -- reconcile` find it through its runtime file', async () => {
    const email = `admin+${Date.now()}@example.com`;
    const created = await runNode(
      ['services/identity/src/cli.ts', 'create-admin', '--email', email, '--password-stdin'],
      withoutDatabaseUrl({ WALLET_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }),
      'correct horse battery staple 42',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout.split('\n')[0]!)).toMatchObject({ created: true, email });
    const identity = new pg.Client({ connectionString: platform.databases['identity']!.appUrl });
    await identity.connect();
    try {
      const { rows } = await identity.query<{ n: string }>('select count(*) as n from users where email = $1', [email]);
      expect(rows[0]?.n).toBe('1');
    } finally {
      await identity.end();
    }
    // What the chart's bootstrap Job runs on every upgrade: the password from a file, a repeat changes nothing.
    const passwordFile = join(dataDir, 'bootstrap-password');
    await writeFile(passwordFile, 'correct horse battery staple 42\n', { mode: 0o600 });
    const args = ['services/identity/src/cli.ts', 'create-admin', '--email', email, '--password-file', passwordFile];
    const repeated = await runNode([...args, '--exists-ok'], withoutDatabaseUrl({ WALLET_DATA_DIR: dataDir }));
    expect(repeated.code).toBe(0);
    expect(JSON.parse(repeated.stdout.split('\n')[0]!)).toEqual({ created: false, email });
    const refused = await runNode(args, withoutDatabaseUrl({ WALLET_DATA_DIR: dataDir }));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already exists/);
    const books = await runNode(['services/wallet-ledger/src/cli.ts', 'reconcile'], withoutDatabaseUrl({ WALLET_DATA_DIR: dataDir }));
    expect(books.code).toBe(0);
    expect(JSON.parse(books.stdout)).toMatchObject({ ok: true });
  }, 60_000);

  it('names a runtime file left by a platform that is no longer running instead of connecting to it', async () => {
    const staleDir = await mkdtemp(join(tmpdir(), 'wallet-stale-'));
    try {
      await writeFile(
        join(staleDir, RUNTIME_FILE_NAME),
        JSON.stringify({
          mode: 'embedded',
          pid: stalePid,
          startedAt: '2026-01-01T00:00:00.000Z',
          gatewayUrl: 'https://localhost:8443',
          services: { identity: { databaseUrl: 'postgres://x:y@127.0.0.1:15400/wallet_identity', settings: {} } },
        }),
      );
      for (const args of [
        ['services/identity/src/cli.ts', 'create-admin', '--email', 'a@example.com', '--password', 'correct horse battery 42'],
        ['services/wallet-ledger/src/cli.ts', 'reconcile'],
      ]) {
        const result = await runNode(args, withoutDatabaseUrl({ WALLET_DATA_DIR: staleDir }));
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`${join(staleDir, RUNTIME_FILE_NAME)} is stale: process ${stalePid}`);
        expect(result.stderr).not.toContain('ECONNREFUSED');
      }
    } finally {
      await rm(staleDir, { recursive: true, force: true });
    }
  }, 60_000);

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
