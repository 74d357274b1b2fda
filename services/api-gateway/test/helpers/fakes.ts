/**
 * Stand-ins for the four services behind the gateway, registered on the same embedded bus: they verify
 * the gateway-minted internal token exactly as a real service does and echo what they received, and
 * the identity stand-in issues real ES256 access tokens and serves its JWKS (rotatable).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  INTERNAL_TOKEN_HEADER,
  type Role,
} from '@wallet/contracts';
import type { EmbeddedBus } from '@wallet/platform';
import { createInternalTokenVerifier } from '@wallet/service-kit';
import type { TestKeyring } from '@wallet/service-testing';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `identity-test-${randomUUID().slice(0, 8)}`;
  return {
    kid,
    privateKey: privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
  };
}

export interface TokenInput {
  sub: string;
  sid?: string;
  roles?: Role[];
  acr?: 'aal1' | 'aal2';
  expiresIn?: number;
  key?: SigningKey;
}

export interface Received {
  app: string;
  method: string;
  path: string;
  claims: Record<string, unknown>;
  headers: Record<string, string | undefined>;
  body: unknown;
}

export interface Fakes {
  identityKeys: SigningKey[];
  received: Received[];
  issue(input: TokenInput): Promise<string>;
  /** Adds a key to the published JWKS (rotation). */
  rotate(): Promise<SigningKey>;
  /** Behaviour overrides by `METHOD path` (e.g. make a service answer a problem). */
  overrides: Map<string, (req: express.Request, res: express.Response) => void>;
  users: Map<string, { password: string; sub: string; roles: Role[] }>;
  /**
   * What identity says about each session it issued a token for (GET /internal/sessions/:sid):
   * change `roles` to demote, `active` to revoke.
   */
  sessions: Map<string, { sub: string; roles: Role[]; active: boolean }>;
  /** Base URL of each stand-in (to re-register one after unregistering it). */
  urls: Record<string, string>;
  stop(): Promise<void>;
}

const SERVICE_IDS = ['identity', 'wallet-ledger', 'risk', 'notification'] as const;

export async function startFakes(bus: EmbeddedBus, keyring: TestKeyring): Promise<Fakes> {
  const identityKeys = [await newSigningKey()];
  const received: Received[] = [];
  const overrides = new Map<string, (req: express.Request, res: express.Response) => void>();
  const users = new Map<string, { password: string; sub: string; roles: Role[] }>();
  const sessions = new Map<string, { sub: string; roles: Role[]; active: boolean }>();
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  const jwks = { keys: Object.values(keyring).map((k) => k.publicJwk) };

  const issue = async (input: TokenInput): Promise<string> => {
    const key = input.key ?? identityKeys.at(-1)!;
    const sid = input.sid ?? `sid-${randomUUID()}`;
    if (!sessions.has(sid))
      sessions.set(sid, { sub: input.sub, roles: input.roles ?? ['user'], active: true });
    return new SignJWT({
      sid,
      roles: input.roles ?? ['user'],
      acr: input.acr ?? 'aal1',
      amr: ['pwd'],
      auth_time: Math.floor(Date.now() / 1000),
    })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(ACCESS_TOKEN_ISSUER)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setSubject(input.sub)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${input.expiresIn ?? 600}s`)
      .sign(key.privateKey);
  };

  const tokenAnswer = async (sub: string, roles: Role[]) => {
    const sid = `sid-${randomUUID()}`;
    return {
      accessToken: await issue({ sub, sid, roles }),
      refreshToken: `rt-${randomUUID()}`,
      expiresIn: 600,
      sessionId: sid,
    };
  };

  for (const appId of SERVICE_IDS) {
    const verifier = createInternalTokenVerifier({ audience: appId, jwks, allowedIssuers: ['api-gateway'] });
    const app = express();
    app.use(express.json());
    app.get('/readyz', (_req, res) => {
      res.json({ status: 'ready' });
    });
    app.use((req, res, next) => {
      const token = req.get(INTERNAL_TOKEN_HEADER);
      if (!token) {
        res
          .status(401)
          .type('application/problem+json')
          .send(JSON.stringify({ type: 'about:blank', title: 'no internal token', status: 401 }));
        return;
      }
      verifier.verify(token).then(
        (claims) => {
          res.locals['claims'] = claims;
          // The gateway's own session look-ups are not forwarded requests.
          if (req.path.startsWith('/internal/sessions/')) {
            next();
            return;
          }
          received.push({
            app: appId,
            method: req.method,
            path: req.originalUrl,
            claims: claims,
            headers: {
              'idempotency-key': req.get('idempotency-key'),
              'x-request-id': req.get('x-request-id'),
              cookie: req.get('cookie'),
              authorization: req.get('authorization'),
            },
            body: req.body as unknown,
          });
          next();
        },
        () => {
          res
            .status(401)
            .type('application/problem+json')
            .send(JSON.stringify({ type: 'about:blank', title: 'bad internal token', status: 401 }));
        },
      );
    });
    app.use((req, res, next) => {
      const override = overrides.get(`${appId} ${req.method} ${req.path}`);
      if (override) override(req, res);
      else next();
    });
    app.get('/openapi.json', (_req, res) => {
      res.json({
        openapi: '3.1.0',
        info: { title: appId, version: '1' },
        paths:
          appId === 'identity'
            ? {
                '/v1/me': {
                  get: {
                    responses: {
                      '200': {
                        description: 'me',
                        content: { 'application/json': { schema: { $ref: '#/components/schemas/Me' } } },
                      },
                    },
                  },
                },
              }
            : {},
        components: {
          schemas:
            appId === 'identity'
              ? { Me: { type: 'object', required: ['userId'], properties: { userId: { type: 'string' } } } }
              : {},
        },
      });
    });
    if (appId === 'identity') {
      app.get('/.well-known/jwks.json', (_req, res) => {
        res.json({ keys: identityKeys.map((k) => k.publicJwk) });
      });
      app.post('/auth/login', async (req, res) => {
        const body = req.body as { email?: string; password?: string };
        const user = users.get(body.email ?? '');
        if (!user || user.password !== body.password) {
          res
            .status(401)
            .type('application/problem+json')
            .send(
              JSON.stringify({
                type: 'https://wallet.dev/problems/invalid-credentials',
                title: 'Invalid credentials',
                status: 401,
              }),
            );
          return;
        }
        res.json(await tokenAnswer(user.sub, user.roles));
      });
      app.post('/auth/refresh', async (req, res) => {
        const body = req.body as { refreshToken?: string };
        if (!body.refreshToken?.startsWith('rt-')) {
          res
            .status(401)
            .type('application/problem+json')
            .send(
              JSON.stringify({
                type: 'https://wallet.dev/problems/token-reused',
                title: 'Token reused',
                status: 401,
              }),
            );
          return;
        }
        res.json(await tokenAnswer('refreshed-user', ['user']));
      });
      app.post('/auth/step-up', async (_req, res) => {
        const claims = res.locals['claims'] as { sub: string; sid: string; roles: Role[] };
        res.json({
          accessToken: await issue({
            sub: claims.sub,
            sid: claims.sid,
            roles: claims.roles,
            acr: 'aal2',
            expiresIn: 300,
          }),
          expiresIn: 300,
        });
      });
      app.post('/auth/logout', (_req, res) => {
        res.status(204).end();
      });
      app.get('/internal/sessions/:sid', (req, res) => {
        const session = sessions.get(req.params['sid'] ?? '');
        res.json(
          session?.active
            ? { active: true, userId: session.sub, roles: session.roles }
            : { active: false, userId: session?.sub ?? null, roles: [] },
        );
      });
    }
    app.get('/admin/dead-letters', (_req, res) => {
      res.json({ items: [{ id: '1', topic: `${appId}.topic`, lastError: 'boom' }], nextCursor: null });
    });
    app.post('/admin/dead-letters/replay', (req, res) => {
      res.json({ replayed: (req.body as { ids?: string[] }).ids ?? [], failed: [] });
    });
    // Everything else: echo, and honour an Idempotency-Key replay marker for the relay test.
    app.use((req, res) => {
      if (req.get('idempotency-key') === 'replayed-key') res.setHeader('Idempotent-Replayed', 'true');
      res.setHeader('Set-Cookie', 'leak=1');
      res.status(req.method === 'POST' ? 201 : 200).json({
        app: appId,
        method: req.method,
        path: req.originalUrl,
        sub: (res.locals['claims'] as { sub: string }).sub,
      });
    });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push(server);
    urls[appId] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    bus.registerApp(appId, urls[appId]);
  }

  return {
    identityKeys,
    received,
    issue,
    async rotate() {
      const key = await newSigningKey();
      identityKeys.push(key);
      return key;
    },
    overrides,
    users,
    sessions,
    urls,
    async stop() {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
