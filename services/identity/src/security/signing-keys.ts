/**
 * Access-token signing keys (ES256), kept in identity's database with the private half sealed by the
 * key ring. One key is active. Rotation first PUBLISHES the next key (status `next`, in the JWKS, signing
 * nothing) and activates it only `prepublishSeconds` later, so every verifier's cached JWKS already holds
 * it when the first token it signs arrives; the replaced key stays in the JWKS until every token it may
 * have signed has expired: access-token lifetime + the replicas' key-cache time + skew. An emergency
 * rotation (`immediately`, a compromised key) skips the pre-publication.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, type Acr, type Role } from '@wallet/contracts';
import type { IdentityDatabase } from '../db/schema.ts';
import type { KeyRing } from './keyring.ts';

export const ACCESS_TOKEN_ALG = 'ES256';
const CLOCK_SKEW_SECONDS = 60;
/** Serialises key creation and rotation across replicas (and the CLI). */
const SIGNING_KEY_LOCK = 0x1d_5167;

export interface SigningKeyOptions {
  db: Kysely<IdentityDatabase>;
  ring: KeyRing;
  accessTokenTtlSeconds: number;
  cacheSeconds: number;
  /** How long a rotated-in key is published before it signs (0: at the next key load). */
  prepublishSeconds: number;
}

export interface RotationOutcome {
  /** The key that signs now. */
  activeKid: string;
  /** The key published and waiting (a scheduled rotation), or null (an immediate one). */
  nextKid: string | null;
  nextActivatesAt: Date | null;
  /** The key an immediate rotation retired, and until when its public half stays published. */
  retiredKid: string | null;
  retiredPublishedUntil: Date | null;
}

export interface AccessTokenInput {
  userId: string;
  sessionId: string;
  roles: readonly Role[];
  acr: Acr;
  amr: readonly string[];
  authTime: Date;
  /** Upper bound on the expiry (a step-up token ends with its window). */
  notAfter?: Date | null;
}

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
  kid: string;
}

export interface PublicJwks {
  keys: (JWK & { kid: string; alg: string; use: string })[];
}

export interface SigningKeys {
  /** Creates the first key when there is none (idempotent, safe across replicas). */
  ensureActiveKey(): Promise<string>;
  /**
   * Schedules the next key (published now, signing from now + prepublishSeconds; an already scheduled
   * key is kept), or with `immediately` replaces the active key at once.
   */
  rotate(options?: { immediately?: boolean }): Promise<RotationOutcome>;
  issueAccessToken(input: AccessTokenInput): Promise<IssuedAccessToken>;
  jwks(): Promise<PublicJwks>;
}

function aadFor(kid: string): string {
  return `signing-key:${kid}`;
}

async function insertNewKey(
  db: Kysely<IdentityDatabase>,
  ring: KeyRing,
  next: { activatesAt: Date } | null = null,
): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
  const kid = `identity-${new Date().toISOString().slice(0, 10)}-${randomBytes(6).toString('hex')}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ACCESS_TOKEN_ALG };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALG, use: 'sig' };
  await db
    .insertInto('signing_keys')
    .values({
      kid,
      alg: ACCESS_TOKEN_ALG,
      public_jwk: JSON.stringify(publicJwk),
      private_jwk_sealed: ring.seal(JSON.stringify(privateJwk), aadFor(kid)),
      status: next ? 'next' : 'active',
      activates_at: next?.activatesAt ?? null,
    })
    .execute();
  return kid;
}

export function createSigningKeys(options: SigningKeyOptions): SigningKeys {
  const { db, ring } = options;
  const publishGraceSeconds = options.accessTokenTtlSeconds + 2 * options.cacheSeconds + CLOCK_SKEW_SECONDS;
  let cached: { kid: string; key: CryptoKey; loadedAt: number } | undefined;

  async function retireActive(trx: Kysely<IdentityDatabase>) {
    return trx
      .updateTable('signing_keys')
      .set({
        status: 'retired',
        retired_at: sql<Date>`now()`,
        publish_until: sql<Date>`now() + ${publishGraceSeconds} * interval '1 second'`,
      })
      .where('status', '=', 'active')
      .returning(['kid', 'publish_until'])
      .executeTakeFirst();
  }

  /** Makes a scheduled key the active one once its pre-publication time has passed (any replica may). */
  async function promoteDueKey(): Promise<void> {
    const due = await db
      .selectFrom('signing_keys')
      .select('kid')
      .where('status', '=', 'next')
      .where('activates_at', '<=', sql<Date>`now()`)
      .executeTakeFirst();
    if (!due) return;
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${SIGNING_KEY_LOCK})`.execute(trx);
      const still = await trx
        .selectFrom('signing_keys')
        .select('kid')
        .where('kid', '=', due.kid)
        .where('status', '=', 'next')
        .executeTakeFirst();
      if (!still) return;
      await retireActive(trx);
      await trx.updateTable('signing_keys').set({ status: 'active' }).where('kid', '=', due.kid).execute();
    });
  }

  async function loadActive(): Promise<{ kid: string; key: CryptoKey }> {
    if (cached && Date.now() - cached.loadedAt < options.cacheSeconds * 1000) return cached;
    await promoteDueKey();
    let row = await db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk_sealed'])
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (!row) {
      await ensureActiveKey();
      row = await db
        .selectFrom('signing_keys')
        .select(['kid', 'private_jwk_sealed'])
        .where('status', '=', 'active')
        .executeTakeFirstOrThrow();
    }
    const jwk = JSON.parse(ring.open(row.private_jwk_sealed, aadFor(row.kid))) as JWK;
    const key = (await importJWK(jwk, ACCESS_TOKEN_ALG)) as CryptoKey;
    cached = { kid: row.kid, key, loadedAt: Date.now() };
    return cached;
  }

  async function ensureActiveKey(): Promise<string> {
    return db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${SIGNING_KEY_LOCK})`.execute(trx);
      const active = await trx
        .selectFrom('signing_keys')
        .select('kid')
        .where('status', '=', 'active')
        .executeTakeFirst();
      return active ? active.kid : insertNewKey(trx, ring);
    });
  }

  return {
    ensureActiveKey,
    async rotate(rotation = {}) {
      const outcome = await db.transaction().execute(async (trx): Promise<RotationOutcome> => {
        await sql`select pg_advisory_xact_lock(${SIGNING_KEY_LOCK})`.execute(trx);
        if (!rotation.immediately) {
          const scheduled = await trx
            .selectFrom('signing_keys')
            .select(['kid', 'activates_at'])
            .where('status', '=', 'next')
            .executeTakeFirst();
          const active = await trx
            .selectFrom('signing_keys')
            .select('kid')
            .where('status', '=', 'active')
            .executeTakeFirst();
          if (scheduled) {
            return {
              activeKid: active?.kid ?? scheduled.kid,
              nextKid: scheduled.kid,
              nextActivatesAt: scheduled.activates_at,
              retiredKid: null,
              retiredPublishedUntil: null,
            };
          }
          if (active) {
            const activatesAt = new Date(Date.now() + options.prepublishSeconds * 1000);
            const nextKid = await insertNewKey(trx, ring, { activatesAt });
            return {
              activeKid: active.kid,
              nextKid,
              nextActivatesAt: activatesAt,
              retiredKid: null,
              retiredPublishedUntil: null,
            };
          }
        }
        // Immediately (or nothing signs yet): the scheduled key, if any, is dropped unused.
        await trx.deleteFrom('signing_keys').where('status', '=', 'next').execute();
        const retired = await retireActive(trx);
        const activeKid = await insertNewKey(trx, ring);
        return {
          activeKid,
          nextKid: null,
          nextActivatesAt: null,
          retiredKid: retired?.kid ?? null,
          retiredPublishedUntil: retired?.publish_until ?? null,
        };
      });
      cached = undefined;
      return outcome;
    },
    async issueAccessToken(input) {
      const { kid, key } = await loadActive();
      const now = Math.floor(Date.now() / 1000);
      let exp = now + options.accessTokenTtlSeconds;
      if (input.notAfter) exp = Math.min(exp, Math.floor(input.notAfter.getTime() / 1000));
      const accessToken = await new SignJWT({
        sid: input.sessionId,
        roles: [...input.roles],
        acr: input.acr,
        amr: [...input.amr],
        auth_time: Math.floor(input.authTime.getTime() / 1000),
      })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid, typ: 'at+jwt' })
        .setIssuer(ACCESS_TOKEN_ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setSubject(input.userId)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .sign(key);
      return { accessToken, expiresIn: Math.max(0, exp - now), kid };
    },
    async jwks() {
      const rows = await db
        .selectFrom('signing_keys')
        .select(['public_jwk'])
        // The next key is published before it signs; a retired one until its tokens have expired.
        .where((eb) =>
          eb.or([eb('status', 'in', ['active', 'next']), eb('publish_until', '>', sql<Date>`now()`)]),
        )
        .orderBy('created_at', 'desc')
        .execute();
      return { keys: rows.map((r) => r.public_jwk as PublicJwks['keys'][number]) };
    },
  };
}
