/** Starts the real gateway (real PostgreSQL, optional real Redis) in front of the stand-in services. */
import { randomBytes } from 'node:crypto';
import { createEmbeddedPlatform, EmbeddedBus, type Platform } from '@wallet/platform';
import { createLogger } from '@wallet/service-kit';
import { startTestService, testKeyring, type TestService } from '@wallet/service-testing';
import { service } from '../../src/service.ts';
import type { Config } from '../../src/config.ts';
import type { GatewayDatabase } from '../../src/db/schema.ts';
import { startFakes, type Fakes } from './fakes.ts';

export interface GatewayUnderTest {
  url: string;
  gateway: TestService<GatewayDatabase, Config>;
  fakes: Fakes;
  /** A platform speaking as identity on the same bus (to publish identity's events). */
  identityPlatform: Platform;
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  stop(): Promise<void>;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export async function startGateway(options: {
  adminUrl: string;
  env?: Record<string, string>;
}): Promise<GatewayUnderTest> {
  const logger = createLogger('test-bus', { level: 'silent' });
  const bus = new EmbeddedBus({ logger });
  const keyring = await testKeyring();
  const fakes = await startFakes(bus, keyring);
  const gateway = await startTestService(service, {
    adminUrl: options.adminUrl,
    bus,
    env: {
      REDIS_KEY_PREFIX: `gwtest:${randomBytes(4).toString('hex')}:`,
      RATE_LIMIT_ANONYMOUS: '100000/60',
      RATE_LIMIT_USER: '100000/60',
      RATE_LIMIT_SIGNUP: '100000/60',
      RATE_LIMIT_LOGIN: '100000/60',
      // The tests tell the gateway's own refusals from the services' by this diagnostic header.
      GATEWAY_EXPOSE_UPSTREAM_APP: 'true',
      CORS_ALLOWED_ORIGINS: 'https://app.wallet.example',
      ...options.env,
    },
  });
  const identityPlatform = createEmbeddedPlatform({ appId: 'identity', bus, logger });
  const call = async (method: string, path: string, o: CallOptions = {}): Promise<CallResult> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers['authorization'] = `Bearer ${o.token}`;
    if (o.cookies)
      headers['cookie'] = Object.entries(o.cookies)
        .map(([k, v]) => `${k}=${v}`)
        .join('; ');
    let body: string | undefined = o.rawBody;
    if (body === undefined && o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${gateway.url}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  return {
    url: gateway.url,
    gateway,
    fakes,
    identityPlatform,
    call,
    async stop() {
      await identityPlatform.close();
      await gateway.stop();
      await fakes.stop();
      await bus.close();
    },
  };
}

/** Parses Set-Cookie headers into name -> {value, attributes}. */
export function cookiesOf(headers: Headers): Record<string, { value: string; attributes: string[] }> {
  const out: Record<string, { value: string; attributes: string[] }> = {};
  for (const line of headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    out[pair!.slice(0, eq)] = {
      value: decodeURIComponent(pair!.slice(eq + 1)),
      attributes: attributes.map((a) => a.toLowerCase()),
    };
  }
  return out;
}
