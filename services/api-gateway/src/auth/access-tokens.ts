/**
 * Verifies identity's access tokens (ES256) against identity's JWKS, fetched through the platform
 * (Dapr service invocation), cached, and refreshed when a token names a `kid` we do not know (key
 * rotation) with a cool-down so garbage kids cannot make us hammer identity.
 */
import {
  createLocalJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  ANONYMOUS_SUBJECT,
  INTERNAL_TOKEN_HEADER,
  accessTokenClaimsSchema,
  type AccessTokenClaims,
} from '@wallet/contracts';
import type { Platform } from '@wallet/platform';
import type { InternalTokenSigner } from '@wallet/service-kit';

export class AccessTokenError extends Error {
  override name = 'AccessTokenError';
  readonly reason: 'invalid' | 'expired' | 'keys-unavailable';
  constructor(
    reason: 'invalid' | 'expired' | 'keys-unavailable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.reason = reason;
  }
}

export interface AccessTokenVerifier {
  verify(token: string): Promise<AccessTokenClaims>;
}

export interface JwksSource {
  /** The current key set; `force` refetches (subject to the cool-down). */
  get(force: boolean): Promise<JWTVerifyGetKey>;
}

export function createJwksSource(options: {
  platform: Platform;
  signer: InternalTokenSigner;
  cacheSeconds: number;
  refreshCooldownMs: number;
  now?: () => number;
}): JwksSource {
  const now = options.now ?? Date.now;
  let current: { keySet: JWTVerifyGetKey; fetchedAt: number } | undefined;
  let inFlight: Promise<JWTVerifyGetKey> | undefined;

  const fetchKeys = async (): Promise<JWTVerifyGetKey> => {
    const token = await options.signer.sign('identity', { sub: ANONYMOUS_SUBJECT });
    const answer = await options.platform.invoke({
      appId: 'identity',
      method: 'GET',
      path: '/.well-known/jwks.json',
      headers: { [INTERNAL_TOKEN_HEADER]: token },
      timeoutMs: 3_000,
    });
    const body = answer.body as JSONWebKeySet | undefined;
    if (answer.status !== 200 || !body || !Array.isArray(body.keys)) {
      throw new AccessTokenError('keys-unavailable', `identity answered ${answer.status} for its JWKS`);
    }
    const keySet = createLocalJWKSet(body);
    current = { keySet, fetchedAt: now() };
    return keySet;
  };

  return {
    async get(force) {
      const fresh = current && now() - current.fetchedAt < options.cacheSeconds * 1000;
      const coolingDown = current && now() - current.fetchedAt < options.refreshCooldownMs;
      if (current && (fresh || coolingDown) && !(force && !coolingDown)) return current.keySet;
      inFlight ??= fetchKeys().finally(() => {
        inFlight = undefined;
      });
      try {
        return await inFlight;
      } catch (error) {
        // Identity briefly away: keep verifying with the keys we have.
        if (current) return current.keySet;
        throw error instanceof AccessTokenError
          ? error
          : new AccessTokenError('keys-unavailable', 'JWKS unavailable', { cause: error });
      }
    },
  };
}

export function createAccessTokenVerifier(jwks: JwksSource): AccessTokenVerifier {
  const verifyWith = async (keySet: JWTVerifyGetKey, token: string) =>
    jwtVerify(token, keySet, {
      issuer: ACCESS_TOKEN_ISSUER,
      audience: ACCESS_TOKEN_AUDIENCE,
      algorithms: ['ES256'],
      clockTolerance: 5,
      requiredClaims: ['exp', 'iat', 'sub', 'sid', 'jti'],
    });
  return {
    async verify(token) {
      if (token.length > 4096 || token.split('.').length !== 3)
        throw new AccessTokenError('invalid', 'not a JWT');
      let result;
      try {
        result = await verifyWith(await jwks.get(false), token);
      } catch (error) {
        if (error instanceof joseErrors.JWKSNoMatchingKey) {
          try {
            result = await verifyWith(await jwks.get(true), token);
          } catch (retryError) {
            throw toAccessTokenError(retryError);
          }
        } else {
          throw toAccessTokenError(error);
        }
      }
      const claims = accessTokenClaimsSchema.safeParse(result.payload);
      if (!claims.success)
        throw new AccessTokenError('invalid', 'access token claims do not match the contract');
      return claims.data;
    },
  };
}

function toAccessTokenError(error: unknown): AccessTokenError {
  if (error instanceof AccessTokenError) return error;
  if (error instanceof joseErrors.JWTExpired) return new AccessTokenError('expired', 'access token expired');
  return new AccessTokenError('invalid', error instanceof Error ? error.message : 'invalid access token');
}
