/**
 * The money flow against the embedded mode (all five services in one process, embedded PostgreSQL),
 * started as `npm start` starts it, on ports of its own and in a throw-away data folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@wallet/embedded-host';
import { moneyFlow } from '../src/money-flow.ts';

// Apart from embedded-host's own test (25490, 28443, 28080) and `npm start` (infra/ports.env: 15400, 8443, 8080).
// Fixed ports below Linux's ephemeral range (32768-60999): a port in it can be held by a loopback
// client socket (or its TIME_WAIT) of an earlier suite, and listening on it then fails with EADDRINUSE.
const ports = { postgresPort: 25491, httpsPort: 28444, httpPort: 28081 };
let platform: EmbeddedPlatform | undefined;
let dataDir: string | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wallet-system-'));
  platform = await startEmbeddedPlatform({
    dataDir,
    ...ports,
    logLevel: process.env['TEST_LOG_LEVEL'] ?? 'silent',
  });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('system (embedded): money moves through the gateway', () => {
  it('registers, funds, transfers idempotently, asks for step-up and notifies the payee', async () => {
    await moneyFlow(platform!.gatewayUrl, platform!.certificate);
  });
});
