/**
 * Sign-in throttling on identity's own database (policy in domain/throttle.ts). Every attempt at a
 * password, second-factor code or recovery code is admitted or refused here BEFORE the credential is
 * checked. On its source it counts as a failure at once (a right answer gives it back), so a burst of
 * parallel guesses at one account cannot overshoot; on the ceilings it holds a place while in flight. The counters live in PostgreSQL, not Redis, because
 * only identity knows the account behind an MFA challenge or a step-up, the trusted sources must be
 * durable anyway, and the same statements then run in the embedded and the Dapr mode (see README).
 */
import { sql } from 'kysely';
import { delayAfterFailures, type ThrottlePolicy, type ThrottleScope } from '../domain/throttle.ts';
import type { Config } from '../config.ts';
import {
  emit,
  identityProblems,
  sessionAmr,
  type Db,
  type IdentityDeps,
  type RequestMeta,
  type Trx,
} from './context.ts';

export function throttlePolicy(config: Config): ThrottlePolicy {
  return {
    freeFailures: config.LOGIN_FREE_FAILURES,
    delayBaseMs: config.LOGIN_DELAY_BASE_MS,
    maxDelayMs: config.LOGIN_MAX_DELAY_SECONDS * 1000,
    sourceWindowSeconds: config.LOGIN_FAILURE_WINDOW_SECONDS,
    accountMaxFailures: config.LOGIN_ACCOUNT_MAX_FAILURES,
    accountWindowSeconds: config.LOGIN_ACCOUNT_WINDOW_SECONDS,
    ipMaxFailures: config.LOGIN_IP_MAX_FAILURES,
    ipWindowSeconds: config.LOGIN_IP_WINDOW_SECONDS,
    trustedSourceSeconds: config.LOGIN_TRUSTED_SOURCE_DAYS * 24 * 3600,
  };
}

/** An attempt that was admitted (and already counted as a failure on each of its keys). */
export interface SignInAttempt {
  accountKey: string;
  sourceKey: string;
  ipKey: string;
  /** Keys of this address and device as sources of the account (sign_in_sources). */
  trustKeys: string[];
}

function accountKeyOf(deps: Pick<IdentityDeps, 'ring'>, email: string): string {
  return deps.ring.hashCode(`sign-in:${email}`);
}

/** The keys of an attempt at the account with this (normalised) e-mail from the caller's address and device. */
function attemptKeys(deps: IdentityDeps, email: string, meta: RequestMeta) {
  const ip = meta.ip ?? 'unknown';
  const trustKeys = [deps.ring.hashCode(`sign-in-trust:ip:${ip}`)];
  if (meta.deviceId) trustKeys.push(deps.ring.hashCode(`sign-in-trust:device:${meta.deviceId}`));
  return {
    accountKey: accountKeyOf(deps, email),
    sourceKey: deps.ring.hashCode(`sign-in-source:${email}\n${ip}`),
    ipKey: deps.ring.hashCode(`sign-in-ip:${ip}`),
    trustKeys,
  };
}

const SECOND = sql`interval '1 second'`;
const MILLISECOND = sql`interval '1 millisecond'`;

/** The wait a source owes after `failures` failures (domain/throttle.ts's delayAfterFailures, in SQL). */
function delaySql(policy: ThrottlePolicy, failures: ReturnType<typeof sql.ref>) {
  if (policy.delayBaseMs === 0) return sql`0`;
  return sql`case when ${failures} < ${policy.freeFailures} then 0 else least(${policy.maxDelayMs}::float8,
    ${policy.delayBaseMs}::float8 * power(2::float8, least(${failures} - ${policy.freeFailures}, 30))) end`;
}

/** Counts the attempt on the account+source key unless that source still owes a delay; returns the wait if refused. */
async function countOnSource(trx: Trx, key: string, policy: ThrottlePolicy): Promise<number | null> {
  const stale = sql`t.last_failure_at < now() - ${policy.sourceWindowSeconds} * ${SECOND}`;
  const admitted = await sql<{ failures: number }>`
    insert into sign_in_failures as t (scope, key, failures) values ('source', ${key}, 1)
    on conflict (scope, key) do update set
      failures = case when ${stale} then 1 else t.failures + 1 end,
      window_started_at = case when ${stale} then now() else t.window_started_at end,
      last_failure_at = now()
    where ${stale} or t.failures < ${policy.freeFailures}
      or t.last_failure_at + ${delaySql(policy, sql.ref('t.failures'))} * ${MILLISECOND} <= now()
    returning failures`.execute(trx);
  if (admitted.rows[0]) return null;
  const state = await sql<{ failures: number; sinceMs: number }>`
    select failures, extract(epoch from now() - last_failure_at) * 1000 as "sinceMs"
    from sign_in_failures where scope = 'source' and key = ${key}`.execute(trx);
  const row = state.rows[0];
  return row ? (delayAfterFailures(row.failures, policy) - Number(row.sinceMs)) / 1000 : 1;
}

/** In-flight attempts older than this were lost (a crash): they no longer hold a ceiling's room. */
const PENDING_EXPIRY_SECONDS = 60;

/**
 * Admits the attempt under a per-window ceiling (account or address) and holds a place for it while
 * it is checked. Refused once the window's recorded failures reach the ceiling (until the window
 * ends), or while failures plus attempts in flight reach twice the ceiling (a parallel burst: 1 s) —
 * so a burst overshoots by at most the ceiling again, while many people signing in at once from one
 * address are never refused for being many. A known source is counted but never refused.
 */
async function holdOnCeiling(
  trx: Trx,
  scope: Exclude<ThrottleScope, 'source'>,
  key: string,
  limit: { max: number; windowSeconds: number; known: boolean },
): Promise<{ wait: number } | null> {
  const expired = sql`t.window_started_at <= now() - ${limit.windowSeconds} * ${SECOND}`;
  const pending = sql`case when t.last_attempt_at < now() - ${PENDING_EXPIRY_SECONDS} * ${SECOND} then 0 else t.pending end`;
  const admitted = await sql<{ failures: number }>`
    insert into sign_in_failures as t (scope, key, failures, pending) values (${scope}, ${key}, 0, 1)
    on conflict (scope, key) do update set
      failures = case when ${expired} then 0 else t.failures end,
      window_started_at = case when ${expired} then now() else t.window_started_at end,
      pending = case when ${expired} then 1 else ${pending} + 1 end,
      last_attempt_at = now()
    where ${limit.known} or ${expired}
      or (t.failures < ${limit.max} and t.failures + ${pending} < ${2 * limit.max})
    returning failures`.execute(trx);
  if (admitted.rows[0]) return null;
  const state = await sql<{ failures: number; wait: number }>`
    select failures, extract(epoch from window_started_at + ${limit.windowSeconds} * ${SECOND} - now()) as wait
    from sign_in_failures where scope = ${scope} and key = ${key}`.execute(trx);
  const row = state.rows[0];
  return { wait: row && row.failures >= limit.max ? Number(row.wait) : 1 };
}

/** Ends an attempt's hold on the account and address ceilings, recording it as a failure or not. */
async function settleCeilings(db: Db | Trx, attempt: SignInAttempt, failed: boolean): Promise<number> {
  let accountFailures = 0;
  for (const [scope, key] of [
    ['account', attempt.accountKey],
    ['ip', attempt.ipKey],
  ] as const) {
    const row = await db
      .updateTable('sign_in_failures')
      .set({
        pending: sql<number>`greatest(pending - 1, 0)`,
        ...(failed ? { failures: sql<number>`failures + 1`, last_failure_at: sql<Date>`now()` } : {}),
      })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .returning('failures')
      .executeTakeFirst();
    if (scope === 'account') accountFailures = row?.failures ?? 0;
  }
  return accountFailures;
}

/** A refusal that rolls the admission transaction back (no counter moves for a refused attempt). */
class Refused extends Error {
  readonly waitSeconds: number;
  readonly policy: ThrottleScope;
  constructor(waitSeconds: number, policy: ThrottleScope) {
    super('sign-in attempt refused by throttling');
    this.waitSeconds = waitSeconds;
    this.policy = policy;
  }
}

/**
 * Admits an attempt at the account with `email` from the caller's address (one transaction, rows
 * locked in the order source, account, address so concurrent attempts cannot deadlock), or throws
 * 429 with Retry-After.
 */
export async function admitSignInAttempt(
  deps: IdentityDeps,
  email: string,
  meta: RequestMeta,
): Promise<SignInAttempt> {
  const policy = throttlePolicy(deps.config);
  const keys = attemptKeys(deps, email, meta);
  try {
    return await deps.db.transaction().execute(async (trx) => {
      const known = await trx
        .selectFrom('sign_in_sources')
        .select('source_key')
        .where('account_key', '=', keys.accountKey)
        .where('source_key', 'in', keys.trustKeys)
        .where('last_success_at', '>', sql<Date>`now() - ${policy.trustedSourceSeconds} * ${SECOND}`)
        .executeTakeFirst();
      const sourceWait = await countOnSource(trx, keys.sourceKey, policy);
      if (sourceWait !== null) throw new Refused(sourceWait, 'source');
      for (const [scope, key, max, windowSeconds] of [
        ['account', keys.accountKey, policy.accountMaxFailures, policy.accountWindowSeconds],
        ['ip', keys.ipKey, policy.ipMaxFailures, policy.ipWindowSeconds],
      ] as const) {
        const refused = await holdOnCeiling(trx, scope, key, {
          max,
          windowSeconds,
          known: known !== undefined,
        });
        if (refused) throw new Refused(refused.wait, scope);
      }
      return keys;
    });
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    deps.logger.info({ policy: error.policy, ip: meta.ip }, 'sign-in attempt throttled');
    throw identityProblems.throttled(error.waitSeconds);
  }
}

/** Gives the attempt's count back on every key (the answer was right, but the sign-in is not over yet). */
export async function releaseSignInAttempt(deps: IdentityDeps, attempt: SignInAttempt): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('sign_in_failures')
      .set({ failures: sql<number>`greatest(failures - 1, 0)` })
      .where('scope', '=', 'source')
      .where('key', '=', attempt.sourceKey)
      .execute();
    await settleCeilings(trx, attempt, false);
  });
}

/**
 * The account proved who it is from this source (inside the caller's transaction): the source's
 * failures are forgotten, this attempt's count is given back on the account and address ceilings (other
 * sources' failures stay counted), and the address and device become known sources of the account.
 */
/**
 * A factor check passed on a live session: settles the sign-in attempt and returns the session's
 * authentication methods so far, inside the transaction that is about to record the new one.
 */
export async function settledSignIn(trx: Trx, attempt: SignInAttempt, sessionId: string): Promise<string[]> {
  await completeSignIn(trx, attempt);
  return sessionAmr(trx, sessionId);
}

export async function completeSignIn(trx: Trx, attempt: SignInAttempt): Promise<void> {
  await trx
    .deleteFrom('sign_in_failures')
    .where('scope', '=', 'source')
    .where('key', '=', attempt.sourceKey)
    .execute();
  await settleCeilings(trx, attempt, false);
  await trx
    .insertInto('sign_in_sources')
    .values(
      attempt.trustKeys.map((sourceKey) => ({ account_key: attempt.accountKey, source_key: sourceKey })),
    )
    .onConflict((oc) =>
      oc.columns(['account_key', 'source_key']).doUpdateSet({ last_success_at: sql<Date>`now()` }),
    )
    .execute();
}

/**
 * A sign-in that needed no guessable secret (a passkey, which is not throttled: an assertion cannot be
 * guessed): as after completeSignIn, this source's failures are forgotten and its address and device
 * become known sources of the account. Inside the caller's transaction.
 */
export async function rememberSignInSource(
  deps: IdentityDeps,
  trx: Trx,
  email: string,
  meta: RequestMeta,
): Promise<void> {
  const keys = attemptKeys(deps, email, meta);
  await trx
    .deleteFrom('sign_in_failures')
    .where('scope', '=', 'source')
    .where('key', '=', keys.sourceKey)
    .execute();
  await trx
    .insertInto('sign_in_sources')
    .values(keys.trustKeys.map((sourceKey) => ({ account_key: keys.accountKey, source_key: sourceKey })))
    .onConflict((oc) =>
      oc.columns(['account_key', 'source_key']).doUpdateSet({ last_success_at: sql<Date>`now()` }),
    )
    .execute();
}

/** Counts a failed check of a factor (see `failSignIn`), then refuses the request with `problem`. */
export async function refuseSignIn(
  deps: IdentityDeps,
  attempt: SignInAttempt,
  user: { id: string } | null,
  meta: RequestMeta,
  problem: Error,
): Promise<never> {
  await failSignIn(deps, attempt, user, meta);
  throw problem;
}

/** A failed attempt: recorded on the account and address ceilings (it stays counted on its source); risk hears of an existing user's (`login.failed`). */
export async function failSignIn(
  deps: IdentityDeps,
  attempt: SignInAttempt,
  user: { id: string } | null,
  meta: RequestMeta,
): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const accountFailures = await settleCeilings(trx, attempt, true);
    if (!user) return;
    await emit(
      trx,
      'loginFailed',
      { userId: user.id, ip: meta.ip, failedAttempts: accountFailures },
      user.id,
      meta,
    );
  });
}

/** Deletes counters nobody will look at again and sources not seen for the trust period. */
export async function pruneSignInThrottle(deps: Pick<IdentityDeps, 'db' | 'config'>): Promise<void> {
  const policy = throttlePolicy(deps.config);
  const longest = Math.max(policy.sourceWindowSeconds, policy.accountWindowSeconds, policy.ipWindowSeconds);
  await deps.db
    .deleteFrom('sign_in_failures')
    .where(
      sql<Date>`greatest(last_failure_at, last_attempt_at)`,
      '<',
      sql<Date>`now() - ${longest} * ${SECOND}`,
    )
    .execute();
  await deps.db
    .deleteFrom('sign_in_sources')
    .where('last_success_at', '<', sql<Date>`now() - ${policy.trustedSourceSeconds} * ${SECOND}`)
    .execute();
}

/** An administrator's unlock also lifts the account's ceiling (per-source delays belong to their sources). */
export async function forgetAccountFailures(
  deps: Pick<IdentityDeps, 'db' | 'ring'>,
  email: string,
): Promise<void> {
  await deps.db
    .deleteFrom('sign_in_failures')
    .where('scope', '=', 'account')
    .where('key', '=', accountKeyOf(deps, email))
    .execute();
}
