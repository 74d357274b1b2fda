/**
 * Internal service-to-service tokens: ES256 JWTs, 60 s, audience = the target app id. The gateway
 * mints one per client request; a service calling another mints its own. Every service verifies the
 * token on every call (routes under `/internal` and the API alike), so none trusts the network.
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

export async function createInternalTokenSigner(
  issuer: AppId,
  privateJwk: PrivateSigningJwk,
): Promise<InternalTokenSigner> {
  const key = await importJWK(privateJwk, ALG);
  return {
    issuer,
    async sign(audience, subject) {
      return new SignJWT({
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
        .setIssuedAt()
        .setExpirationTime(`${INTERNAL_TOKEN_TTL_SECONDS}s`)
        .sign(key);
    },
  };
}

/**
 * Verifies tokens addressed to `audience`, signed by one of the keys in `jwks`, from an allowed issuer.
 * Each issuer's keys carry a `kid` prefixed with its app id, and a key may only sign for its own app.
 */
export function createInternalTokenVerifier(options: {
  audience: AppId;
  jwks: JSONWebKeySet;
  allowedIssuers: readonly AppId[];
}): InternalTokenVerifier {
  const keySet = createLocalJWKSet(options.jwks);
  return {
    async verify(token) {
      const { payload, protectedHeader } = await jwtVerify(token, keySet, {
        audience: options.audience,
        issuer: [...options.allowedIssuers],
        algorithms: [ALG],
        clockTolerance: 5,
        maxTokenAge: `${INTERNAL_TOKEN_TTL_SECONDS + 5}s`,
      });
      if (!protectedHeader.kid?.startsWith(`${String(payload.iss)}:`)) {
        throw new Error('internal token signed by a key of another app');
      }
      return internalClaimsSchema.parse(payload);
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
