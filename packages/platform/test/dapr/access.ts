/**
 * Proofs that the sidecars authenticate: daprd's access policy (mTLS SPIFFE ids, deny by default)
 * refuses an app it does not list; an app refuses requests that do not carry APP_API_TOKEN (only its
 * sidecar has it); a sidecar refuses API calls without DAPR_API_TOKEN.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import { REPO_ROOT, componentsFolder, startDaprd } from '@wallet/dapr-harness';
import type { Daprd } from '@wallet/dapr-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaprPlatform } from '../../src/dapr/index.ts';
import type { DaprPlatform } from '../../src/dapr/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { APP_A, APP_B } from './sidecars.ts';
import type { RunningPair, SidecarPair } from './sidecars.ts';

/** Not in any policy of dapr/config.contract.yaml, nor in any component's scopes. */
const INTRUDER = 'contract-intruder';

export function accessProofs(pair: SidecarPair): void {
  const probeApp = express.Router();
  probeApp.get('/access-probe', (req, res) => {
    res.json({ reached: APP_B, from: req.query['from'] ?? null });
  });
  pair.addRoutes(APP_B, probeApp);

  describe(`access: policies and API tokens (daprd + ${pair.pubsub})`, () => {
    let running: RunningPair;
    let intruder: Daprd;
    let intruderPlatform: DaprPlatform;

    beforeAll(async () => {
      running = await pair.start();
      const daprApiToken = randomBytes(24).toString('base64url');
      const logFile = join(REPO_ROOT, '.data', 'test-logs', `daprd-${pair.pubsub}-${INTRUDER}.log`);
      rmSync(logFile, { force: true });
      intruder = await startDaprd({
        appId: INTRUDER,
        components: componentsFolder(pair.pubsub),
        daprApiToken,
        daprdBin: pair.infra.daprdBin,
        sentryAddress: pair.infra.sentryAddress,
        trustAnchorsFile: pair.infra.trustAnchorsFile,
        logFile,
        readyTimeoutMs: 60_000,
      });
      intruderPlatform = createDaprPlatform({
        appId: INTRUDER,
        daprHttpPort: intruder.httpPort,
        daprApiToken,
        logger: silentLogger,
      });
    }, 120_000);

    afterAll(async () => {
      await intruderPlatform?.close();
      await intruder?.stop();
    });

    it('refuses an invocation from an app the access policy does not allow: 403 from the callee sidecar, the app never sees it', async () => {
      const denied = `/access-probe?from=${INTRUDER}-${pair.run}`;
      const answer = await intruderPlatform.invoke({ appId: APP_B, method: 'GET', path: denied });
      expect(answer.status).toBe(403);
      expect(JSON.stringify(answer.body)).toMatch(/access control policy has denied access/i);
      expect(JSON.stringify(answer.body)).toContain(`spiffe://public/ns/default/${INTRUDER}`);
      expect(running.appRequests[APP_B]).not.toContain(denied);

      // The same call from an app the policy lists goes through.
      const allowed = `/access-probe?from=${APP_A}-${pair.run}`;
      const ok = await running.platforms[APP_A].invoke({ appId: APP_B, method: 'GET', path: allowed });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ reached: APP_B, from: `${APP_A}-${pair.run}` });
      expect(running.appRequests[APP_B]).toContain(allowed);
    });

    it('refuses a request to the app port without the app token (401), and with a wrong one', async () => {
      const base = running.appUrls[APP_B];
      for (const headers of [{}, { 'dapr-api-token': 'not-the-token' }]) {
        for (const path of ['/access-probe?from=direct', '/dapr/subscribe']) {
          const response = await fetch(`${base}${path}`, { headers });
          expect(response.status).toBe(401);
          expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        }
      }
      const event = await fetch(`${base}/dapr/events/${encodeURIComponent(`contract.${pair.run}.fan-out`)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ specversion: '1.0', id: 'forged', source: 'x', type: 'y', data: {} }),
      });
      expect(event.status).toBe(401);
      expect(running.appRequests[APP_B]).not.toContain('/access-probe?from=direct');
      // What the sidecar sends is accepted.
      const withToken = await fetch(`${base}/access-probe?from=token`, {
        headers: { 'dapr-api-token': running.appApiTokens[APP_B] },
      });
      expect(withToken.status).toBe(200);
    });

    it('refuses a call to the sidecar API without the Dapr API token (401)', async () => {
      const sidecar = running.sidecars[APP_A].httpUrl;
      const noToken = await fetch(`${sidecar}/v1.0/state/statestore/some-key`);
      expect(noToken.status).toBe(401);
      const wrong = await fetch(`${sidecar}/v1.0/invoke/${APP_B}/method/access-probe`, {
        headers: { 'dapr-api-token': running.daprApiTokens[APP_B] },
      });
      expect(wrong.status).toBe(401);
      expect(running.appRequests[APP_B]).not.toContain('/access-probe');
    });
  });
}
