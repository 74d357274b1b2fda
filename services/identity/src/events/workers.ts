/** identity's background workers: the outbox relay and housekeeping of expired rows. */
import { sql, type Kysely } from 'kysely';
import { createOutboxRelay, type Platform } from '@wallet/platform';
import type { BackgroundWorker, Logger } from '@wallet/service-kit';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { IdentityDatabase } from '../db/schema.ts';
import { pruneSignInThrottle } from '../application/sign-in-throttle.ts';

export function outboxRelayWorker(options: {
  db: Kysely<IdentityDatabase>;
  platform: Platform;
  logger: Logger;
  registry: Registry;
}): BackgroundWorker {
  const relay = createOutboxRelay({
    db: options.db,
    platform: options.platform,
    logger: options.logger,
    metrics: options.registry,
  });
  return { name: 'outbox-relay', start: () => relay.start(), stop: () => relay.stop() };
}

/** Deletes what can never be used again: spent codes and challenges, dead refresh tokens, stale throttle rows and sources. */
export async function runHousekeeping(db: Kysely<IdentityDatabase>, config: Config): Promise<void> {
  const dayAgo = sql<Date>`now() - interval '1 day'`;
  await db.deleteFrom('mfa_challenges').where('expires_at', '<', dayAgo).execute();
  await db.deleteFrom('one_time_codes').where('expires_at', '<', dayAgo).execute();
  // Passkey ceremonies: a challenge is useless once expired (answered ones too), and anyone may ask for one.
  await db
    .deleteFrom('webauthn_challenges')
    .where('expires_at', '<', sql<Date>`now()`)
    .execute();
  // Spent refresh tokens stay as long as their session could present them (reuse detection needs them).
  await db
    .deleteFrom('refresh_tokens')
    .where((eb) =>
      eb.or([
        eb('expires_at', '<', dayAgo),
        eb.exists(
          eb
            .selectFrom('sessions')
            .select(sql.lit(1).as('one'))
            .whereRef('sessions.id', '=', 'refresh_tokens.session_id')
            .where('sessions.revoked_at', '<', dayAgo),
        ),
      ]),
    )
    .execute();
  await pruneSignInThrottle({ db, config });
}

export function housekeepingWorker(options: {
  db: Kysely<IdentityDatabase>;
  config: Config;
  logger: Logger;
}): BackgroundWorker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const intervalMs = options.config.HOUSEKEEPING_INTERVAL_SECONDS * 1000;
  const tick = () => {
    running = runHousekeeping(options.db, options.config).catch((error: unknown) => {
      options.logger.warn({ err: error }, 'housekeeping failed; will try again');
    });
  };
  return {
    name: 'housekeeping',
    start() {
      if (intervalMs === 0) return;
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
