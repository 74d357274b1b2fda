/**
 * The authentication stage: who is calling, by one of four schemes — the payment provider's webhook
 * signature (on routes that demand it), a bearer access token, a partner's signed request, or a
 * browser session cookie (refreshed server-side before its token expires) — or nobody.
 */
import type { Request } from 'express';
import { ProblemType } from '@wallet/contracts';
import { HttpProblem, problems } from '@wallet/service-kit';
import { verifyPartnerSignature, verifyWebhookSignature } from '../../domain/signatures.ts';
import { AccessTokenError } from '../../auth/access-tokens.ts';
import {
  ANONYMOUS,
  AuthenticationFailure,
  type Principal,
  type UserPrincipal,
} from '../../auth/principal.ts';
import { SESSION_COOKIE, type WebSession } from '../../web/sessions.ts';
import type { RouteSpec } from '../route-table.ts';
import type { GatewayDeps } from './types.ts';
import { internalSubjectFor } from './subject.ts';
import { rawBodyOf } from './waf.ts';

/** Refresh a browser session's access token this long before it expires. */
const REFRESH_MARGIN_MS = 30_000;

async function refreshWebSession(req: Request, deps: GatewayDeps, session: WebSession): Promise<WebSession> {
  const answer = await deps.forwarder.call(req, {
    appId: 'identity',
    method: 'POST',
    path: '/auth/refresh',
    subject: internalSubjectFor(req, ANONYMOUS),
    body: { refreshToken: session.refreshToken },
  });
  const body = answer.body as
    { accessToken?: unknown; refreshToken?: unknown; expiresIn?: unknown } | undefined;
  if (
    answer.status !== 200 ||
    typeof body?.accessToken !== 'string' ||
    typeof body.refreshToken !== 'string'
  ) {
    await deps.webSessions.destroy(session.idHash);
    throw new AuthenticationFailure('browser session could not be refreshed', 'unauthenticated', true);
  }
  const expiresIn = typeof body.expiresIn === 'number' ? body.expiresIn : 600;
  await deps.webSessions.updateTokens(session.idHash, {
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    expiresIn,
  });
  return {
    ...session,
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    accessExpiresAt: new Date(Date.now() + expiresIn * 1000),
  };
}

async function principalFromAccessToken(
  deps: GatewayDeps,
  token: string,
  via: 'bearer' | 'cookie',
): Promise<UserPrincipal> {
  let claims;
  try {
    claims = await deps.accessTokens.verify(token);
  } catch (error) {
    if (error instanceof AccessTokenError && error.reason === 'keys-unavailable') {
      throw problems.dependencyUnavailable('Token keys are unavailable; try again shortly.');
    }
    throw new AuthenticationFailure(
      error instanceof AccessTokenError && error.reason === 'expired'
        ? 'access token expired'
        : 'invalid access token',
      'unauthenticated',
      via === 'cookie',
    );
  }
  if (await deps.revocations.isRevoked(claims.sid)) {
    throw new AuthenticationFailure('session revoked', 'unauthenticated', via === 'cookie');
  }
  return { kind: 'user', via, sub: claims.sub, sid: claims.sid, roles: claims.roles, acr: claims.acr };
}

async function webhookProvider(req: Request, deps: GatewayDeps, nowSeconds: number): Promise<Principal> {
  const result = verifyWebhookSignature({
    header: req.get('webhook-signature'),
    rawBody: rawBodyOf(req),
    secrets: deps.config.WEBHOOK_SECRETS,
    toleranceSeconds: deps.config.WEBHOOK_TOLERANCE_SECONDS,
    nowSeconds,
  });
  if (!result.ok) throw new AuthenticationFailure(`webhook signature ${result.reason}`, 'invalid-signature');
  if (!(await deps.nonces.claim(result.nonce, deps.config.WEBHOOK_TOLERANCE_SECONDS * 2))) {
    throw new AuthenticationFailure('webhook signature replayed', 'invalid-signature');
  }
  return { kind: 'provider' };
}

async function partnerClient(
  req: Request,
  deps: GatewayDeps,
  keyId: string,
  pathWithQuery: string,
  nowSeconds: number,
): Promise<Principal> {
  const client = await deps.apiClients.find(keyId);
  const result = verifyPartnerSignature({
    headers: {
      keyId,
      timestamp: req.get('x-api-timestamp'),
      nonce: req.get('x-api-nonce'),
      digest: req.get('content-digest'),
      signature: req.get('x-api-signature'),
    },
    method: req.method,
    pathWithQuery,
    body: rawBodyOf(req),
    secret: client?.secret,
    toleranceSeconds: deps.config.PARTNER_SIGNATURE_TOLERANCE_SECONDS,
    nowSeconds,
  });
  if (!result.ok || !client)
    throw new AuthenticationFailure(
      `request signature ${result.ok ? 'unknown-key' : result.reason}`,
      'invalid-signature',
    );
  if (!(await deps.nonces.claim(result.nonce, deps.config.PARTNER_SIGNATURE_TOLERANCE_SECONDS * 2))) {
    throw new AuthenticationFailure('request signature replayed', 'invalid-signature');
  }
  // A partner acts for its owner with ordinary user rights: never admin, never stepped up.
  return { kind: 'user', via: 'signature', sub: client.ownerUserId, sid: null, roles: ['user'], acr: 'aal1' };
}

async function browserSession(req: Request, deps: GatewayDeps, cookie: string): Promise<Principal> {
  let session = await deps.webSessions.find(cookie);
  if (!session)
    throw new AuthenticationFailure('browser session unknown or expired', 'unauthenticated', true);
  if (session.accessExpiresAt.getTime() - Date.now() < REFRESH_MARGIN_MS)
    session = await refreshWebSession(req, deps, session);
  const principal = await principalFromAccessToken(deps, session.accessToken, 'cookie');
  return { ...principal, webSession: session };
}

/** Throws AuthenticationFailure for credentials that are present but wrong. */
export async function authenticate(
  req: Request,
  route: RouteSpec,
  deps: GatewayDeps,
  pathWithQuery: string,
): Promise<Principal> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  if (route.auth === 'webhook-signature') return webhookProvider(req, deps, nowSeconds);
  const authorization = req.get('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization);
    if (!match?.[1]) throw new AuthenticationFailure('Authorization must be a Bearer token');
    return principalFromAccessToken(deps, match[1], 'bearer');
  }
  const keyId = req.get('x-api-key-id');
  if (keyId !== undefined) return partnerClient(req, deps, keyId, pathWithQuery, nowSeconds);
  const cookies = req.cookies as Record<string, string> | undefined;
  const cookie = cookies?.[SESSION_COOKIE];
  if (cookie !== undefined) return browserSession(req, deps, cookie);
  return ANONYMOUS;
}

export function authFailureProblem(failure: AuthenticationFailure): HttpProblem {
  if (failure.problem === 'invalid-signature') {
    return new HttpProblem({
      status: 401,
      type: ProblemType.invalidSignature,
      title: 'Invalid signature',
      detail: 'The request signature is missing, expired, invalid or already used.',
    });
  }
  return new HttpProblem({
    status: 401,
    type: ProblemType.unauthenticated,
    title: 'Unauthenticated',
    detail: 'The credentials are missing, invalid, expired or revoked.',
    headers: { 'WWW-Authenticate': 'Bearer realm="wallet-api"' },
  });
}
