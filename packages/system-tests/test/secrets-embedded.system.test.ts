/**
 * Issue 17 in embedded mode: after registration, e-mail verification, sign-in, recovery and a new
 * sign-in through the gateway, neither code, neither password and no token is found in any table of
 * any service database (outbox, inbox, dead letters included) nor in any log line. The dev outbox
 * (the stand-in for the user's mailbox) is where the codes must be found: that proves the search.
 *
 * The platform runs as `npm start` runs it, in a child process whose whole output (five services and
 * the host, at debug level) is the log searched. Ports of its own below the ephemeral range, a
 * throw-away data folder. The Dapr-mode proof on both brokers is secrets-dapr.system.test.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, describeExit, startProcess, type ManagedProcess } from '@wallet/dapr-harness';
import { waitFor } from '@wallet/testing';
import { secretFlow, type SecretFlowResult } from '../src/secret-flow.ts';
import { describeFindings, searchDatabase, searchLogs } from '../src/secret-search.ts';

// Apart from the other embedded suites (2549x/2844x/2808x taken up to ...93/...46/...83).
const ports = { postgres: 25494, https: 28447, http: 28084 };
const DEV_OUTBOX = { 'public.dev_outbox': 'the delivered message: the stand-in for the mailbox' };

let dataDir: string;
let logFile: string;
let platform: ManagedProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wallet-secrets-'));
  logFile = join(dataDir, 'platform.log');
  platform = startProcess({
    name: 'embedded platform',
    command: process.execPath,
    args: [join(REPO_ROOT, 'packages', 'embedded-host', 'src', 'main.ts')],
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      WALLET_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(ports.postgres),
      GATEWAY_HTTPS_PORT: String(ports.https),
      GATEWAY_HTTP_PORT: String(ports.http),
      // Everything the services would ever log.
      LOG_LEVEL: 'debug',
    },
    logFile,
  });
  const started = platform;
  const ready = waitFor(() => started.tail().includes('wallet platform ready'), {
    timeoutMs: 110_000,
    intervalMs: 200,
    what: 'the embedded platform to be ready',
  });
  const died = started.exited.then((exit) => {
    throw new Error(`the embedded platform ${describeExit(exit)} while starting:\n${started.tail(40)}`);
  });
  // The later, expected exit (the test stops it) must not count as an unhandled rejection.
  died.catch(() => undefined);
  await Promise.race([ready, died]);
}, 120_000);

afterAll(async () => {
  await platform?.stop({ timeoutMs: 30_000 });
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('system (embedded): no secret in any database or log line', () => {
  let run: SecretFlowResult;

  it('registers, verifies, signs in, recovers and signs in again through the gateway', async () => {
    const certificate = await readFile(join(dataDir, 'localhost.crt'), 'utf8');
    run = await secretFlow(`https://localhost:${ports.https}`, certificate);
    expect(run.secrets.verificationCode).toMatch(/^[0-9]{6}$/);
    expect(run.secrets.recoveryCode).toMatch(/^[0-9]{8}$/);
  }, 60_000);

  it('finds no secret in any table of any service database; the codes only in the delivered mail', async () => {
    expect(run, 'the flow ran').toBeDefined();
    const runtime = JSON.parse(await readFile(join(dataDir, 'runtime.json'), 'utf8')) as {
      services: Record<string, { databaseUrl: string }>;
    };
    // The runtime role of each service reads every table of its database (default privileges).
    const apps = Object.keys(runtime.services).sort();
    expect(apps).toEqual(['api-gateway', 'identity', 'notification', 'risk', 'wallet-ledger']);
    const delivered = new Set<string>();
    const marked: string[] = [];
    for (const app of apps) {
      const report = await searchDatabase(app, runtime.services[app]!.databaseUrl, run.secrets, run.userId, {
        excluded: DEV_OUTBOX,
      });
      expect(report.findings, describeFindings(report.findings)).toEqual([]);
      expect(report.tables, `${app} has tables`).toBeGreaterThan(0);
      if (report.markerHits > 0) marked.push(app);
      for (const f of report.excludedFindings) delivered.add(f.secret);
    }
    // The search saw this run's rows (the user's id) where they must be...
    expect(marked).toEqual(expect.arrayContaining(['identity', 'notification', 'wallet-ledger']));
    // ...and finds the codes in the one place they belong: the message the user received.
    expect([...delivered].sort()).toEqual(['recoveryCode', 'verificationCode']);
  }, 60_000);

  it('finds no secret in any log line of the five services and the host', async () => {
    expect(run, 'the flow ran').toBeDefined();
    // Stopping flushes every log line.
    await platform!.stop({ timeoutMs: 30_000 });
    const report = await searchLogs([logFile], run.secrets, run.userId);
    expect(report.findings, describeFindings(report.findings)).toEqual([]);
    const log = await readFile(logFile, 'utf8');
    // The logs did record the flow: notification's calls to identity for the codes, by reference only.
    const ref = /\/internal\/one-time-codes\/([0-9a-f-]{36})\/issue/.exec(log)?.[1];
    expect(ref).toBeDefined();
    // The same search does find a value that is in the log (the reference): it can see.
    expect((await searchLogs([logFile], { codeRef: ref! }, run.userId)).findings.length).toBeGreaterThan(0);
    expect(log).toContain('/auth/recovery/complete');
    expect(report.scanned).toBeGreaterThan(20);
  }, 60_000);
});
