/**
 * Access-token signing keys (ES256), kept in identity's database with the private half sealed by the
 * key ring. One key is active; rotation retires it and keeps its public half in the JWKS until every
 * token it may have signed has expired: access-token lifetime + the replicas' key-cache time + skew.
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
  rotate(): Promise<{ activeKid: string; retiredKid: string | null; retiredPublishedUntil: Date | null }>;
  issueAccessToken(input: AccessTokenInput): Promise<IssuedAccessToken>;
  jwks(): Promise<PublicJwks>;
}

function aadFor(kid: string): string {
  return `signing-key:${kid}`;
}

async function insertNewKey(db: Kysely<IdentityDatabase>, ring: KeyRing): Promise<string> {
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
      status: 'active',
    })
    .execute();
  return kid;
}

export function createSigningKeys(options: SigningKeyOptions): SigningKeys {
  const { db, ring } = options;
  const publishGraceSeconds = options.accessTokenTtlSeconds + 2 * options.cacheSeconds + CLOCK_SKEW_SECONDS;
  let cached: { kid: string; key: CryptoKey; loadedAt: number } | undefined;

  async function loadActive(): Promise<{ kid: string; key: CryptoKey }> {
    if (cached && Date.now() - cached.loadedAt < options.cacheSeconds * 1000) return cached;
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
    async rotate() {
      const outcome = await db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${SIGNING_KEY_LOCK})`.execute(trx);
        const retired = await trx
          .updateTable('signing_keys')
          .set({
            status: 'retired',
            retired_at: sql<Date>`now()`,
            publish_until: sql<Date>`now() + ${publishGraceSeconds} * interval '1 second'`,
          })
          .where('status', '=', 'active')
          .returning(['kid', 'publish_until'])
          .executeTakeFirst();
        const activeKid = await insertNewKey(trx, ring);
        return {
          activeKid,
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
        .where((eb) => eb.or([eb('status', '=', 'active'), eb('publish_until', '>', sql<Date>`now()`)]))
        .orderBy('created_at', 'desc')
        .execute();
      return { keys: rows.map((r) => r.public_jwk as PublicJwks['keys'][number]) };
    },
  };
}
