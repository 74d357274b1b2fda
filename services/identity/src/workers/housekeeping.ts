/** identity's housekeeping: deletes expired rows on a timer (ticks never overlap). */
import { sql, type Kysely } from 'kysely';
import { periodicWorker, type Logger, type PeriodicWorker } from '@wallet/service-kit';
import type { Config } from '../config.ts';
import type { IdentityDatabase } from '../db/schema.ts';
import { pruneSignInThrottle } from '../application/sign-in-throttle.ts';

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
}): PeriodicWorker {
  return periodicWorker({
    name: 'housekeeping',
    intervalMs: options.config.HOUSEKEEPING_INTERVAL_SECONDS * 1000,
    tick: () => runHousekeeping(options.db, options.config),
    onError: (error) => options.logger.warn({ err: error }, 'housekeeping failed; will try again'),
  });
}
