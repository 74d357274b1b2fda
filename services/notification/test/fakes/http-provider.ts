/**
 * Small HTTP servers speaking the SMS (Twilio Messages API style) and push (FCM v1 style) protocols,
 * that can be told to fail (5xx), reject (4xx), or hang (time out). Test-only.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour =
  | { kind: 'accept' }
  | { kind: 'fail'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'hang' };

export interface ReceivedRequest {
  path: string;
  authorization: string | undefined;
  idempotencyKey: string | undefined;
  /** SMS: To/From/Body; push: the parsed JSON body. */
  body: Record<string, unknown>;
  answeredWith: number | 'hang';
}

export interface FakeProvider {
  url: string;
  requests: ReceivedRequest[];
  /** Requests answered with success, in order. */
  accepted(): ReceivedRequest[];
  /** Behaviours for the next requests, in order; afterwards `fallback` applies. */
  queue(...behaviours: Behaviour[]): void;
  setFallback(behaviour: Behaviour): void;
  /** An outage every message runs into: the first `times` requests of each idempotency key fail with `status`. */
  failEachKey(times: number, status: number): void;
  reset(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function startFake(kind: 'sms' | 'push'): Promise<FakeProvider> {
  const requests: ReceivedRequest[] = [];
  let queued: Behaviour[] = [];
  let fallback: Behaviour = { kind: 'accept' };
  let counter = 0;
  let outage: { times: number; status: number } | undefined;
  const seen = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const body: Record<string, unknown> =
        kind === 'sms'
          ? Object.fromEntries(new URLSearchParams(raw))
          : (JSON.parse(raw) as Record<string, unknown>);
      const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : '';
      const tries = (seen.get(key) ?? 0) + 1;
      seen.set(key, tries);
      const behaviour: Behaviour =
        outage && tries <= outage.times
          ? { kind: 'fail', status: outage.status }
          : (queued.shift() ?? fallback);
      const record: ReceivedRequest = {
        path: req.url ?? '',
        authorization: req.headers.authorization,
        idempotencyKey:
          typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined,
        body,
        answeredWith:
          behaviour.kind === 'hang'
            ? 'hang'
            : behaviour.kind === 'accept'
              ? kind === 'sms'
                ? 201
                : 200
              : behaviour.status,
      };
      requests.push(record);
      if (behaviour.kind === 'hang') return; // never answers; the client's deadline must fire
      if (behaviour.kind === 'fail') {
        res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
        res.end(JSON.stringify(behaviour.body ?? { message: 'fake failure' }));
        return;
      }
      counter += 1;
      if (kind === 'sms') {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sid: `SM${String(counter).padStart(32, '0')}`, status: 'queued' }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name: `projects/wallet-test/messages/${counter}` }));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    accepted: () => requests.filter((r) => r.answeredWith === 200 || r.answeredWith === 201),
    queue: (...behaviours) => {
      queued.push(...behaviours);
    },
    setFallback: (behaviour) => {
      fallback = behaviour;
    },
    failEachKey: (times, status) => {
      outage = { times, status };
    },
    reset: () => {
      outage = undefined;
      seen.clear();
      requests.length = 0;
      queued = [];
      fallback = { kind: 'accept' };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const startFakeSmsApi = (): Promise<FakeProvider> => startFake('sms');
export const startFakePushApi = (): Promise<FakeProvider> => startFake('push');
