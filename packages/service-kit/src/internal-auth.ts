/**
 * Internal service-to-service tokens: ES256 JWTs, 60 s, audience = the target app id. The gateway
 * mints one per caller (person, session, device, address) and target, a service calling another its
 * own, and both reuse it until shortly before it expires; the request id travels in `x-request-id`.
 * Every service verifies the token on every call (routes under `/internal` and the API alike; a token
 * already verified is remembered until it expires), so none trusts the network.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import {
  INTERNAL_TOKEN_HEADER,
  hasRoleAtLeast,
  internalClaimsSchema,
  type AppId,
  type InternalClaims,
  type Role,
} from '@wallet/contracts';
import { HttpProblem, problems } from './errors.ts';
import { ProblemType } from '@wallet/contracts';

export const INTERNAL_TOKEN_TTL_SECONDS = 60;
const ALG = 'ES256';

export interface InternalSubject {
  sub: string;
  sid?: string | null;
  roles?: Role[];
  acr?: 'aal1' | 'aal2';
  ip?: string | null;
  deviceId?: string | null;
  userAgent?: string | null;
  requestId?: string;
}

export interface InternalTokenSigner {
  issuer: AppId;
  sign(audience: AppId, subject: InternalSubject): Promise<string>;
}

export interface InternalTokenVerifier {
  verify(token: string): Promise<InternalClaims>;
}

/** A private JWK with its `kid`, as stored in `INTERNAL_JWT_PRIVATE_JWK`. */
export type PrivateSigningJwk = JWK & { kid: string };

/**
 * A minted token is reused for the same audience and the same claims until `REUSE_MARGIN_SECONDS`
 * before it expires: an ES256 signature costs more CPU than the rest of a small request, and the
 * claims say who is calling, not which request (that is `x-request-id`). So a subject with a
 * `requestId` is never cached: its token is for that request only.
 */
export const INTERNAL_TOKEN_REUSE_MARGIN_SECONDS = 15;
const SIGNER_CACHE_MAX = 10_000;

export async function createInternalTokenSigner(
  issuer: AppId,
  privateJwk: PrivateSigningJwk,
  options: { now?: () => number } = {},
): Promise<InternalTokenSigner> {
  const key = await importJWK(privateJwk, ALG);
  const now = options.now ?? Date.now;
  const cache = new Map<string, { token: string; reuseUntilMs: number }>();
  const mint = (audience: AppId, subject: InternalSubject, issuedAt: number): Promise<string> =>
    new SignJWT({
      sid: subject.sid ?? null,
      roles: subject.roles ?? [],
      acr: subject.acr ?? 'aal1',
      ip: subject.ip ?? null,
      deviceId: subject.deviceId ?? null,
      userAgent: subject.userAgent ?? null,
      ...(subject.requestId ? { requestId: subject.requestId } : {}),
    })
      .setProtectedHeader({ alg: ALG, kid: privateJwk.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(subject.sub)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + INTERNAL_TOKEN_TTL_SECONDS)
      .sign(key);
  return {
    issuer,
    async sign(audience, subject) {
      const nowMs = now();
      const issuedAt = Math.floor(nowMs / 1000);
      if (subject.requestId) return mint(audience, subject, issuedAt);
      const cacheKey = JSON.stringify([
        audience,
        subject.sub,
        subject.sid ?? null,
        subject.roles ?? [],
        subject.acr ?? 'aal1',
        subject.ip ?? null,
        subject.deviceId ?? null,
        subject.userAgent ?? null,
      ]);
      const cached = cache.get(cacheKey);
      if (cached && cached.reuseUntilMs > nowMs) return cached.token;
      const token = await mint(audience, subject, issuedAt);
      if (cache.size >= SIGNER_CACHE_MAX) {
        for (const [k, v] of cache) if (v.reuseUntilMs <= nowMs) cache.delete(k);
        if (cache.size >= SIGNER_CACHE_MAX) cache.clear();
      }
      cache.set(cacheKey, {
        token,
        reuseUntilMs: (issuedAt + INTERNAL_TOKEN_TTL_SECONDS - INTERNAL_TOKEN_REUSE_MARGIN_SECONDS) * 1000,
      });
      return token;
    },
  };
}

/**
 * Verifies tokens addressed to `audience`, signed by one of the keys in `jwks`, from an allowed issuer.
 * Each issuer's keys carry a `kid` prefixed with its app id, and a key may only sign for its own app.
 */
/**
 * Verified tokens are remembered by their exact text until they expire (a reused token is verified
 * once, not on every call): the cache holds only tokens whose signature, audience and issuer passed,
 * and a hit is refused again once its `exp` (plus the same clock tolerance) has passed.
 */
const VERIFIER_CACHE_MAX = 10_000;
const CLOCK_TOLERANCE_SECONDS = 5;

export function createInternalTokenVerifier(options: {
  audience: AppId;
  jwks: JSONWebKeySet;
  allowedIssuers: readonly AppId[];
  now?: () => number;
}): InternalTokenVerifier {
  const keySet = createLocalJWKSet(options.jwks);
  const now = options.now ?? Date.now;
  const cache = new Map<string, { claims: InternalClaims; validUntilMs: number }>();
  return {
    async verify(token) {
      const nowMs = now();
      const cached = cache.get(token);
      if (cached) {
        if (cached.validUntilMs > nowMs) return cached.claims;
        cache.delete(token);
      }
      const { payload, protectedHeader } = await jwtVerify(token, keySet, {
        audience: options.audience,
        issuer: [...options.allowedIssuers],
        algorithms: [ALG],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: `${INTERNAL_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS}s`,
        currentDate: new Date(nowMs),
      });
      if (!protectedHeader.kid?.startsWith(`${String(payload.iss)}:`)) {
        throw new Error('internal token signed by a key of another app');
      }
      const claims = internalClaimsSchema.parse(payload);
      // The earlier of exp and iat + max age, both with the tolerance jwtVerify allowed.
      const validUntilMs =
        Math.min(claims.exp, claims.iat + INTERNAL_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000 +
        CLOCK_TOLERANCE_SECONDS * 1000;
      if (cache.size >= VERIFIER_CACHE_MAX) {
        for (const [k, v] of cache) if (v.validUntilMs <= nowMs) cache.delete(k);
        if (cache.size >= VERIFIER_CACHE_MAX) cache.clear();
      }
      cache.set(token, { claims, validUntilMs });
      return claims;
    },
  };
}

export interface GeneratedSigningKey {
  privateJwk: PrivateSigningJwk;
  publicJwk: JWK & { kid: string };
}

/** Generates an ES256 key pair whose kid names its app (`identity:2026-11-25T...`). */
export async function generateInternalSigningKey(appId: AppId): Promise<GeneratedSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = `${appId}:${new Date().toISOString()}:${randomUUID().slice(0, 8)}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ALG, use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' };
  return { privateJwk, publicJwk };
}

/** Where a verified caller is kept for the rest of the request. */
export function getCaller(res: Response): InternalClaims {
  const caller = (res.locals as { caller?: InternalClaims }).caller;
  if (!caller) throw problems.unauthenticated();
  return caller;
}

/** Middleware: demands a valid internal token and exposes its claims via `getCaller(res)`. */
export function requireInternalCaller(verifier: InternalTokenVerifier): RequestHandler {
  return (req, res, next) => {
    const token = req.get(INTERNAL_TOKEN_HEADER);
    if (!token) {
      next(problems.unauthenticated('Missing internal token.'));
      return;
    }
    verifier.verify(token).then(
      (claims) => {
        (res.locals as { caller?: InternalClaims }).caller = claims;
        next();
      },
      (error: unknown) => {
        req.log.warn(
          { reason: error instanceof Error ? error.message : 'invalid' },
          'internal token refused',
        );
        next(
          new HttpProblem({
            status: 401,
            type: ProblemType.unauthenticated,
            title: 'Unauthenticated',
            detail: 'Invalid or expired internal token.',
          }),
        );
      },
    );
  };
}

/** Role and assurance checks that services repeat on their own side of the gateway. */
/** The caller, if it holds `minimum` or a role above it (ROLES is the hierarchy); 403 otherwise. */
export function requireRole(res: Response, minimum: Role): InternalClaims {
  const caller = getCaller(res);
  if (!hasRoleAtLeast(caller.roles, minimum)) throw problems.forbidden();
  return caller;
}

export function requireStepUp(res: Response): InternalClaims {
  const caller = getCaller(res);
  if (caller.acr !== 'aal2') throw problems.stepUpRequired();
  return caller;
}
