/** daprSubscriptionRouter as daprd sees it: plain HTTP against an ephemeral 127.0.0.1 listener. */
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createDaprPlatform, daprSubscriptionRouter, eventRouteFor } from '../../src/dapr/index.ts';
import type { DaprPlatform } from '../../src/dapr/index.ts';
import type { EventHandler } from '../../src/port.ts';
import { listen } from '../helpers/http.ts';
import type { Listening } from '../helpers/http.ts';
import { createCapturingLogger } from '../helpers/logger.ts';

const envelope = (over: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: 'evt-1',
  source: 'wallet-ledger',
  type: 'wallet.ledger.transfer.completed.v1',
  datacontenttype: 'application/json',
  data: { transferId: 't-1', amount: '100' },
  topic: 'ledger.transfer.completed',
  pubsubname: 'pubsub',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  ...over,
});

let server: Listening | undefined;
let platform: DaprPlatform | undefined;

afterEach(async () => {
  await server?.close();
  await platform?.close();
  server = undefined;
  platform = undefined;
});

async function serve(
  subscribe: (p: DaprPlatform) => void,
  options: { appApiToken?: string } = {},
  logger = createCapturingLogger(),
): Promise<{ url: string; logger: ReturnType<typeof createCapturingLogger> }> {
  // No sidecar is needed: the router only reads the platform's subscriptions.
  platform = createDaprPlatform({ appId: 'notification', daprHttpPort: 1, logger, timeoutMs: 500 });
  subscribe(platform);
  const app = express();
  app.use(daprSubscriptionRouter(platform, options));
  app.get('/v1/preferences', (_req, res) => {
    res.json({ route: 'service' });
  });
  server = await listen(app);
  return { url: server.url, logger };
}

const postEvent = (url: string, topic: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}${eventRouteFor(topic)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', ...headers },
    body,
  });

describe('GET /dapr/subscribe', () => {
  it('announces every subscription on the pubsub component with its route and dead-letter topic', async () => {
    const ok: EventHandler = () => Promise.resolve('SUCCESS');
    const { url } = await serve((p) => {
      p.subscribe('ledger.transfer.completed', ok, {
        deadLetterTopic: 'dead-letter.notification.ledger.transfer.completed',
      });
      p.subscribe('dead-letter.notification.ledger.transfer.completed', ok);
    });
    const response = await fetch(`${url}/dapr/subscribe`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      {
        pubsubname: 'pubsub',
        topic: 'ledger.transfer.completed',
        route: '/dapr/events/ledger.transfer.completed',
        deadLetterTopic: 'dead-letter.notification.ledger.transfer.completed',
      },
      {
        pubsubname: 'pubsub',
        topic: 'dead-letter.notification.ledger.transfer.completed',
        route: '/dapr/events/dead-letter.notification.ledger.transfer.completed',
      },
    ]);
  });

  it('warns when a subscription is added after daprd read the list', async () => {
    const { url, logger } = await serve(() => {});
    await fetch(`${url}/dapr/subscribe`);
    platform!.subscribe('late.topic', () => Promise.resolve('SUCCESS'));
    expect(logger.lines.some((l) => l.level === 'warn' && /after daprd read/.test(l.msg ?? ''))).toBe(true);
  });
});

describe('POST event routes', () => {
  it('hands the parsed CloudEvent to the handler and answers its status', async () => {
    const received: unknown[] = [];
    const answers = ['SUCCESS', 'RETRY', 'DROP'] as const;
    let call = 0;
    const { url } = await serve((p) =>
      p.subscribe('ledger.transfer.completed', (event) => {
        received.push(event);
        return Promise.resolve(answers[call++]!);
      }),
    );
    for (const expected of answers) {
      const response = await postEvent(url, 'ledger.transfer.completed', JSON.stringify(envelope()));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: expected });
    }
    expect(received[0]).toEqual(envelope());
  });

  it('answers RETRY when the handler throws, so the message is never lost', async () => {
    const { url, logger } = await serve((p) =>
      p.subscribe('t', () => Promise.reject(new Error('database down'))),
    );
    const response = await postEvent(url, 't', JSON.stringify(envelope()));
    expect(await response.json()).toEqual({ status: 'RETRY' });
    expect(logger.lines.some((l) => l.level === 'warn' && /threw/.test(l.msg ?? ''))).toBe(true);
  });

  it('answers RETRY when the handler answers something that is not a status', async () => {
    const { url } = await serve((p) => p.subscribe('t', () => Promise.resolve('OK' as unknown as 'SUCCESS')));
    const response = await postEvent(url, 't', JSON.stringify(envelope()));
    expect(await response.json()).toEqual({ status: 'RETRY' });
  });

  it('answers DROP for a body that can never be a CloudEvent (dead-lettered, not retried forever)', async () => {
    let calls = 0;
    const { url } = await serve((p) => p.subscribe('t', () => Promise.resolve(((calls += 1), 'SUCCESS'))));
    const notAnEvent = await postEvent(url, 't', JSON.stringify({ hello: 'world' }));
    expect(await notAnEvent.json()).toEqual({ status: 'DROP' });
    const wrongVersion = await postEvent(url, 't', JSON.stringify(envelope({ specversion: '0.3' })));
    expect(await wrongVersion.json()).toEqual({ status: 'DROP' });
    const malformed = await postEvent(url, 't', '{"specversion": "1.0", ');
    expect(malformed.status).toBe(200);
    expect(await malformed.json()).toEqual({ status: 'DROP' });
    expect(calls).toBe(0);
  });

  it('accepts plain application/json deliveries too', async () => {
    const { url } = await serve((p) => p.subscribe('t', () => Promise.resolve('SUCCESS')));
    const response = await postEvent(url, 't', JSON.stringify(envelope()), {
      'content-type': 'application/json',
    });
    expect(await response.json()).toEqual({ status: 'SUCCESS' });
  });

  it('answers 404 for a topic this app never announced', async () => {
    const { url } = await serve((p) => p.subscribe('t', () => Promise.resolve('SUCCESS')));
    const response = await postEvent(url, 'other', JSON.stringify(envelope()));
    expect(response.status).toBe(404);
  });
});

describe('APP_API_TOKEN', () => {
  it('refuses sidecar routes without the right dapr-api-token, and leaves the service routes alone', async () => {
    let calls = 0;
    const { url } = await serve((p) => p.subscribe('t', () => Promise.resolve(((calls += 1), 'SUCCESS'))), {
      appApiToken: 's3cret-app-token',
    });
    const noToken = await fetch(`${url}/dapr/subscribe`);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await noToken.json()).toMatchObject({
      status: 401,
      type: 'https://wallet.dev/problems/unauthenticated',
    });
    const wrong = await postEvent(url, 't', JSON.stringify(envelope()), {
      'dapr-api-token': 's3cret-app-tokem',
    });
    expect(wrong.status).toBe(401);
    const shorter = await postEvent(url, 't', JSON.stringify(envelope()), { 'dapr-api-token': 's3cret' });
    expect(shorter.status).toBe(401);
    expect(calls).toBe(0);

    const right = await postEvent(url, 't', JSON.stringify(envelope()), {
      'dapr-api-token': 's3cret-app-token',
    });
    expect(await right.json()).toEqual({ status: 'SUCCESS' });
    const subscribe = await fetch(`${url}/dapr/subscribe`, {
      headers: { 'dapr-api-token': 's3cret-app-token' },
    });
    expect(subscribe.status).toBe(200);
    expect(calls).toBe(1);

    const serviceRoute = await fetch(`${url}/v1/preferences`);
    expect(serviceRoute.status).toBe(200);
    expect(await serviceRoute.json()).toEqual({ route: 'service' });
  });
});
