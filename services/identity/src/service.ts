/** identity as a ServiceModule: what the runtime needs to start it in any mode. */
import {
  ConfigError,
  mountDeadLetterRoutes,
  outboxRelayWorker,
  type ServiceModule,
} from '@wallet/service-kit';
import { argon2Parameters, configSchema, identityProductionProblems, type Config } from './config.ts';
import type { IdentityDatabase } from './db/schema.ts';
import { migrations } from './db/migrations/index.ts';
import { mountRoutes } from './http/routes.ts';
import { mountPasskeyRoutes } from './http/passkey-routes.ts';
import { relyingPartyFrom } from './security/relying-party.ts';
import { housekeepingWorker } from './workers/housekeeping.ts';
import { keyRingKids, parseKeyRing } from './security/keyring.ts';
import { createPasswordHasher } from './security/passwords.ts';
import { createSigningKeys } from './security/signing-keys.ts';
import { createBreachedPasswordList } from './security/breached-passwords.ts';
import type { IdentityDeps } from './application/context.ts';
import { createBackgroundTasks } from './application/background-tasks.ts';

export const service: ServiceModule<IdentityDatabase, Config> = {
  appId: 'identity',
  configSchema,
  migrations,
  // notification: only for POST /internal/one-time-codes/{ref}/issue (the route checks the issuer).
  allowedCallers: ['api-gateway', 'notification'],
  productionGuard(config) {
    const extra = identityProductionProblems(config);
    if (extra.length > 0) throw new ConfigError(extra);
    return {
      // Each kid is checked for a development marker; the keys themselves are never echoed.
      secrets: Object.fromEntries(
        keyRingKids(config.TOTP_ENCRYPTION_KEYS).map((kid, i) => [`TOTP_ENCRYPTION_KEYS[${i}]`, kid]),
      ),
    };
  },
  async create(ctx) {
    const deps: IdentityDeps = {
      db: ctx.database.db,
      config: ctx.config,
      ring: parseKeyRing(ctx.config.TOTP_ENCRYPTION_KEYS),
      hasher: await createPasswordHasher(argon2Parameters(ctx.config)),
      keys: createSigningKeys({
        db: ctx.database.db,
        ring: parseKeyRing(ctx.config.TOTP_ENCRYPTION_KEYS),
        accessTokenTtlSeconds: ctx.config.ACCESS_TOKEN_TTL_SECONDS,
        cacheSeconds: ctx.config.SIGNING_KEY_CACHE_SECONDS,
        prepublishSeconds: ctx.config.SIGNING_KEY_PREPUBLISH_SECONDS,
      }),
      breached: createBreachedPasswordList(ctx.config.BREACHED_PASSWORDS_DIR),
      logger: ctx.logger,
    };
    const relyingParty = relyingPartyFrom(ctx.config);
    await deps.keys.ensureActiveKey();
    const background = createBackgroundTasks({ concurrency: 4, maxPending: 10_000, logger: ctx.logger });
    return {
      routes: (app) => {
        mountRoutes(app, { ...deps, verifier: ctx.verifier, background });
        mountPasskeyRoutes(app, { ...deps, relyingParty });
        mountDeadLetterRoutes(app, { appId: 'identity', db: deps.db, platform: ctx.platform });
      },
      workers: [
        outboxRelayWorker({
          db: ctx.database.db,
          platform: ctx.platform,
          logger: ctx.logger,
          metrics: ctx.metrics.registry,
        }),
        housekeepingWorker({ db: ctx.database.db, config: ctx.config, logger: ctx.logger }),
        background.worker,
      ],
      bodyLimit: '16kb',
    };
  },
};
