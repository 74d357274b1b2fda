/** api-gateway as a ServiceModule: what the runtime needs to start it in any mode. */
import {
  periodicWorker,
  type BackgroundWorker,
  type ReadinessCheck,
  type ServiceModule,
} from '@wallet/service-kit';
import type { Platform } from '@wallet/platform';
import type { Redis } from 'ioredis';
import { configSchema, type Config } from './config.ts';
import type { GatewayDatabase } from './db/schema.ts';
import { migrations } from './db/migrations/index.ts';
import { mountRoutes } from './http/routes.ts';
import { createBodyPipeline } from './http/gateway.ts';
import { createAccessTokenVerifier, createJwksSource } from './auth/access-tokens.ts';
import { createApiClientStore } from './auth/api-clients.ts';
import { createRevocationList, subscribeToRevocations } from './auth/revocation.ts';
import {
  cachedSessionStatuses,
  createIdentitySessionStatusSource,
  withCurrentRoles,
} from './auth/current-roles.ts';
import { createCryptoBox } from './infra/crypto-box.ts';
import { createMemoryNonceStore, createRedisNonceStore } from './infra/nonce-store.ts';
import { createRateLimits } from './infra/rate-limits.ts';
import { connectRedis } from './infra/redis.ts';
import { createWebSessionStore } from './web/sessions.ts';
import { createForwarder } from './http/forward.ts';
import { createLocalHandlers } from './http/local-routes.ts';
import { createOpenApiAggregator } from './http/openapi.ts';
import { upstreamHeaderFilter } from './http/public-face.ts';

const DOWNSTREAM = ['identity', 'wallet-ledger', 'risk', 'notification'] as const;

/** The gateway is ready only when every service behind it is. */
function downstreamReadiness(platform: Platform): ReadinessCheck[] {
  return DOWNSTREAM.map((appId) => ({
    name: appId,
    timeoutMs: 3_000,
    check: async () => {
      const answer = await platform.invoke({ appId, method: 'GET', path: '/readyz', timeoutMs: 2_500 });
      return answer.status === 200;
    },
  }));
}

function redisReadiness(redis: Redis): ReadinessCheck {
  return { name: 'redis', timeoutMs: 2_000, check: async () => (await redis.ping()) === 'PONG' };
}

export const service: ServiceModule<GatewayDatabase, Config> = {
  appId: 'api-gateway',
  configSchema,
  migrations,
  allowedCallers: [],
  // The public edge: it decides each request's time budget (REQUEST_BUDGET_MS) and ignores x-deadline-ms.
  edge: true,
  productionGuard(config) {
    return {
      secrets: {
        WEBHOOK_SECRETS: config.WEBHOOK_SECRETS.join(','),
        WEB_SESSION_KEY: config.WEB_SESSION_KEY,
        CSRF_SECRETS: config.CSRF_SECRETS.join(','),
        REDIS_URL: config.REDIS_URL,
      },
      publicUrls: { PUBLIC_BASE_URL: config.PUBLIC_BASE_URL },
      // Production serves TLS itself (cert files) or sits behind an ingress that does (trusted proxies).
      servesPlainHttpToClients:
        !(config.GATEWAY_TLS_CERT_FILE && config.GATEWAY_TLS_KEY_FILE) && config.TRUSTED_PROXIES.length === 0,
    };
  },
  create(ctx) {
    const { config, logger, platform, signer } = ctx;
    const db = ctx.database.db;
    const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL, logger) : undefined;
    const box = createCryptoBox(config.WEB_SESSION_KEY, 'api-gateway/at-rest/v1');
    const revocations = createRevocationList(platform, config.REVOCATION_TTL_SECONDS);
    subscribeToRevocations({ platform, db, revocations, logger });
    const webSessions = createWebSessionStore({ db, box, ttlSeconds: config.WEB_SESSION_TTL_SECONDS });
    const nonces = redis ? createRedisNonceStore(redis, config.REDIS_KEY_PREFIX) : createMemoryNonceStore();
    const openapi = createOpenApiAggregator({ platform, signer, logger });

    const sessionPruner = periodicWorker({
      name: 'web-session-pruner',
      intervalMs: 10 * 60_000,
      tick: async () => {
        const pruned = await webSessions.pruneExpired();
        if (pruned > 0) logger.info({ pruned }, 'expired browser sessions pruned');
      },
      onError: (err) =>
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'session pruning failed'),
    });
    const connections: BackgroundWorker = {
      name: 'redis-connections',
      start() {},
      async stop() {
        nonces.close();
        if (redis) await redis.quit().catch(() => undefined);
      },
    };

    return Promise.resolve({
      bodyParsers: [
        upstreamHeaderFilter({ expose: config.GATEWAY_EXPOSE_UPSTREAM_APP, appEnv: config.APP_ENV }),
        ...createBodyPipeline(config),
      ],
      trustProxy: config.TRUSTED_PROXIES.length > 0 ? config.TRUSTED_PROXIES : false,
      routes: (app) =>
        mountRoutes(app, {
          config,
          logger,
          db,
          forwarder: createForwarder({ platform, signer, timeoutMs: config.UPSTREAM_TIMEOUT_MS }),
          accessTokens: withCurrentRoles(
            createAccessTokenVerifier(
              createJwksSource({
                platform,
                signer,
                cacheSeconds: config.JWKS_CACHE_SECONDS,
                refreshCooldownMs: config.JWKS_REFRESH_COOLDOWN_MS,
              }),
            ),
            cachedSessionStatuses(
              createIdentitySessionStatusSource({
                platform,
                signer,
                timeoutMs: config.ROLE_CHECK_TIMEOUT_MS,
              }),
              { ttlMs: config.ROLE_CHECK_CACHE_MS },
            ),
          ),
          revocations,
          webSessions,
          apiClients: createApiClientStore(db, box),
          rateLimits: createRateLimits({
            limits: {
              anonymous: config.RATE_LIMIT_ANONYMOUS,
              user: config.RATE_LIMIT_USER,
              signup: config.RATE_LIMIT_SIGNUP,
              login: config.RATE_LIMIT_LOGIN,
              webhook: config.RATE_LIMIT_WEBHOOK,
            },
            redis,
            keyPrefix: config.REDIS_KEY_PREFIX,
          }),
          nonces,
          localHandlers: createLocalHandlers({ db, platform, openapi }),
        }),
      readiness: [...downstreamReadiness(platform), ...(redis ? [redisReadiness(redis)] : [])],
      workers: [sessionPruner, connections],
      bodyLimit: `${config.WAF_MAX_BODY_BYTES}b`,
    });
  },
};
