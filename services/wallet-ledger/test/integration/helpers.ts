/**
 * Starts the ledger on a throw-away database with a fake risk service on the same embedded bus. The
 * real risk service is a skeleton while this is written, so the fake speaks the agreed contract
 * (`POST /assessments` -> {assessmentId, decision, score, reasons}) and can allow, challenge, deny,
 * fail or hang (to exercise the timeout policy).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PAYMENT_PROVIDER_SUBJECT } from '@wallet/contracts';
import { startTestService, type ServiceClient, type TestService } from '@wallet/service-testing';
import type { InternalSubject } from '@wallet/service-kit';
import { service } from '../../src/service.ts';
import type { Config } from '../../src/config.ts';
import type { LedgerDatabase } from '../../src/db/schema.ts';

export type RiskMode = 'allow' | 'challenge' | 'deny' | 'error' | 'hang';

export interface FakeRisk {
  mode: RiskMode;
  requests: { headers: IncomingMessage['headers']; body: Record<string, unknown> }[];
  url: string;
  close(): Promise<void>;
}

export async function startFakeRisk(): Promise<FakeRisk> {
  const hanging = new Set<ServerResponse>();
  const state: FakeRisk = {
    mode: 'allow',
    requests: [],
    url: '',
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      state.requests.push({ headers: req.headers, body });
      if (req.method !== 'POST' || req.url !== '/assessments') {
        res.writeHead(404).end();
        return;
      }
      switch (state.mode) {
        case 'hang':
          hanging.add(res);
          return;
        case 'error':
          res.writeHead(500, { 'content-type': 'application/problem+json' }).end('{"status":500}');
          return;
        default: {
          const decision = state.mode;
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              assessmentId: randomUUID(),
              decision,
              score: decision === 'allow' ? 5 : decision === 'challenge' ? 60 : 95,
              reasons: decision === 'allow' ? [] : [{ rule: 'test', detail: `fake risk says ${decision}` }],
              ...(decision === 'challenge' ? { requiredAcr: 'aal2' } : {}),
            }),
          );
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

export interface Ledger {
  svc: TestService<LedgerDatabase, Config>;
  risk: FakeRisk;
  user(sub: string, extra?: Omit<InternalSubject, 'sub'>): ServiceClient;
  provider: ServiceClient;
  /** Opens a wallet for `sub` and returns its id. */
  openWallet(sub: string, currency?: string): Promise<string>;
  /** Credits a wallet through a provider deposit event. */
  deposit(walletId: string, amount: bigint | number, currency?: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startLedger(
  adminUrl: string,
  env: Record<string, string> = {},
  options: { readReplica?: string } = {},
): Promise<Ledger> {
  const risk = await startFakeRisk();
  const svc = await startTestService(service, {
    adminUrl,
    ...options,
    env: { RISK_TIMEOUT_MS: '300', OUTBOX_POLL_INTERVAL_MS: '50', SYSTEM_ACCOUNT_SHARDS: '4', ...env },
  });
  svc.bus.registerApp('risk', risk.url);
  const keyring = svc.keyring;
  void keyring;
  const clients = new Map<string, ServiceClient>();
  const user = (sub: string, extra: Omit<InternalSubject, 'sub'> = {}): ServiceClient => {
    const key = `${sub}|${JSON.stringify(extra)}`;
    let client = clients.get(key);
    if (!client) {
      client = svc.as({ sub, roles: ['user'], sid: `sid-${sub}`, ...extra });
      clients.set(key, client);
    }
    return client;
  };
  const provider = svc.as({ sub: PAYMENT_PROVIDER_SUBJECT });
  return {
    svc,
    risk,
    user,
    provider,
    async openWallet(sub, currency = 'EUR') {
      const res = await user(sub).post<{ walletId: string }>('/wallets', { currency });
      if (res.status !== 201) throw new Error(`open wallet: ${res.status} ${res.text}`);
      return res.body.walletId;
    },
    async deposit(walletId, amount, currency = 'EUR') {
      const res = await provider.post('/webhooks/payments', {
        id: `evt_${randomUUID()}`,
        type: 'payment.succeeded',
        data: { walletId, amount: String(amount), currency },
      });
      if (res.status !== 200) throw new Error(`deposit: ${res.status} ${res.text}`);
    },
    async stop() {
      await svc.stop();
      await risk.close();
    },
  };
}

export function idem(): Record<string, string> {
  return { 'Idempotency-Key': `k-${randomUUID()}` };
}
