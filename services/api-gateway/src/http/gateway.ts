/**
 * The gateway's request pipeline, in order:
 *   CORS -> WAF (method, headers, path, content type) -> JSON body (raw bytes kept for signatures)
 *   -> route lookup -> WAF payload rules -> authentication -> rate limits -> CSRF (browser sessions)
 *   -> authorisation (route table) -> Idempotency-Key -> local handler or forward -> audit.
 */
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import cookieParser from 'cookie-parser';
import cors from 'cors';
import { doubleCsrf } from 'csrf-csrf';
import {
  idempotencyKeySchema,
  PAYMENT_PROVIDER_SUBJECT,
  ProblemType,
  ANONYMOUS_SUBJECT,
} from '@wallet/contracts';
import { HttpProblem, problems, sendProblem, type InternalSubject, type Logger } from '@wallet/service-kit';
import type { Config } from '../config.ts';
import {
  checkContentType,
  checkHeaderSize,
  checkJsonShape,
  checkMethod,
  normalisePath,
  scanPayload,
  type WafBlock,
  type WafLimits,
} from '../domain/waf.ts';
import { verifyPartnerSignature, verifyWebhookSignature } from '../domain/signatures.ts';
import { AccessTokenError, type AccessTokenVerifier } from '../auth/access-tokens.ts';
import type { ApiClientStore } from '../auth/api-clients.ts';
import { ANONYMOUS, AuthenticationFailure, type Principal, type UserPrincipal } from '../auth/principal.ts';
import type { RevocationList } from '../auth/revocation.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { NonceStore } from '../infra/nonce-store.ts';
import {
  rateLimitHeaders,
  type LimiterName,
  type RateLimitOutcome,
  type RateLimits,
} from '../infra/rate-limits.ts';
import { CSRF_COOKIE, SESSION_COOKIE, type WebSession, type WebSessionStore } from '../web/sessions.ts';
import { decideAccess, lookupRoute, targetPath, type RouteMatch, type RouteSpec } from './route-table.ts';
import { relayResponse, requestIdOf, UPSTREAM_HEADER, type Forwarder } from './forward.ts';
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../db/schema.ts';

export interface GatewayDeps {
  config: Config;
  logger: Logger;
  db: Kysely<GatewayDatabase>;
  forwarder: Forwarder;
  accessTokens: AccessTokenVerifier;
  revocations: RevocationList;
  webSessions: WebSessionStore;
  apiClients: ApiClientStore;
  rateLimits: RateLimits;
  nonces: NonceStore;
  /** Routes the gateway answers itself, by route path. */
  localHandlers: Record<string, LocalHandler>;
}

export interface LocalContext {
  req: Request;
  res: Response;
  match: RouteMatch;
  principal: Principal;
  subject: InternalSubject;
  deps: GatewayDeps;
  csrf: CsrfUtilities;
}
/** Answers the request and returns the status for the audit log. */
export type LocalHandler = (ctx: LocalContext) => Promise<number>;

export interface CsrfUtilities {
  /** Issues a CSRF token bound to the browser session (and sets its cookie). */
  issue(req: Request, res: Response, sessionIdHash: string): string;
  valid(req: Request, sessionIdHash: string): boolean;
}

const rawBodies = new WeakMap<Request, Buffer>();
const normalisedPaths = new WeakMap<Request, string>();
const csrfSessions = new WeakMap<Request, string>();

export function rawBodyOf(req: Request): Buffer {
  return rawBodies.get(req) ?? Buffer.alloc(0);
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DEVICE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function wafLimits(config: Config): WafLimits {
  return {
    maxBodyBytes: config.WAF_MAX_BODY_BYTES,
    maxJsonDepth: config.WAF_MAX_JSON_DEPTH,
    maxJsonKeys: config.WAF_MAX_JSON_KEYS,
    maxArrayLength: config.WAF_MAX_ARRAY_LENGTH,
    maxStringLength: config.WAF_MAX_STRING_LENGTH,
    maxHeaderBytes: config.WAF_MAX_HEADER_BYTES,
    maxUrlLength: config.WAF_MAX_URL_LENGTH,
  };
}

function wafProblem(block: WafBlock): HttpProblem {
  const byStatus: Record<WafBlock['status'], { type: string; title: string }> = {
    400: { type: ProblemType.requestBlocked, title: 'Request blocked' },
    405: { type: ProblemType.methodNotAllowed, title: 'Method not allowed' },
    413: { type: ProblemType.payloadTooLarge, title: 'Payload too large' },
    414: { type: ProblemType.requestBlocked, title: 'URI too long' },
    415: { type: ProblemType.unsupportedMediaType, title: 'Unsupported media type' },
    431: { type: ProblemType.requestBlocked, title: 'Request header fields too large' },
  };
  const { type, title } = byStatus[block.status];
  return new HttpProblem({
    status: block.status,
    type,
    title,
    detail: block.detail,
    extensions: { rule: block.ruleId },
  });
}

function blockRequest(req: Request, res: Response, block: WafBlock): void {
  // Logged with the rule id and where the value was, never the value itself.
  req.log.warn(
    { waf: { rule: block.ruleId, location: block.location, status: block.status }, ip: req.ip },
    'request blocked by WAF',
  );
  sendProblem(res, wafProblem(block), req.originalUrl.split('?', 1)[0]);
}

function hasBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length'] ?? '0');
  return Number.isFinite(length) && length > 0;
}

export function createCsrf(config: Config): CsrfUtilities {
  const { generateCsrfToken, validateRequest } = doubleCsrf({
    getSecret: () => config.CSRF_SECRETS,
    getSessionIdentifier: (req) => csrfSessions.get(req) ?? '',
    cookieName: CSRF_COOKIE,
    cookieOptions: { sameSite: 'strict', path: '/', secure: true, httpOnly: true },
    getCsrfTokenFromRequest: (req) => req.get('x-csrf-token'),
  });
  return {
    issue(req, res, sessionIdHash) {
      csrfSessions.set(req, sessionIdHash);
      return generateCsrfToken(req, res, { overwrite: true });
    },
    valid(req, sessionIdHash) {
      csrfSessions.set(req, sessionIdHash);
      return validateRequest(req);
    },
  };
}

export function sessionCookieOptions(maxAgeSeconds: number): express.CookieOptions {
  return { httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge: maxAgeSeconds * 1000 };
}

export function clearBrowserCookies(res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
  res.clearCookie(CSRF_COOKIE, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
}

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function internalSubjectFor(req: Request, principal: Principal): InternalSubject {
  const deviceHeader = req.get('x-device-id');
  const context = {
    ip: clientIp(req),
    userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
    deviceId: deviceHeader && DEVICE_ID.test(deviceHeader) ? deviceHeader : null,
    requestId: requestIdOf(req),
  };
  switch (principal.kind) {
    case 'anonymous':
      return { sub: ANONYMOUS_SUBJECT, ...context };
    case 'provider':
      return { sub: PAYMENT_PROVIDER_SUBJECT, ...context };
    case 'user':
      return {
        sub: principal.sub,
        sid: principal.sid,
        roles: principal.roles,
        acr: principal.acr,
        ...context,
      };
  }
}

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

async function authenticate(
  req: Request,
  route: RouteSpec,
  deps: GatewayDeps,
  pathWithQuery: string,
): Promise<Principal> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  if (route.auth === 'webhook-signature') {
    const result = verifyWebhookSignature({
      header: req.get('webhook-signature'),
      rawBody: rawBodyOf(req),
      secrets: deps.config.WEBHOOK_SECRETS,
      toleranceSeconds: deps.config.WEBHOOK_TOLERANCE_SECONDS,
      nowSeconds,
    });
    if (!result.ok)
      throw new AuthenticationFailure(`webhook signature ${result.reason}`, 'invalid-signature');
    if (!(await deps.nonces.claim(result.nonce, deps.config.WEBHOOK_TOLERANCE_SECONDS * 2))) {
      throw new AuthenticationFailure('webhook signature replayed', 'invalid-signature');
    }
    return { kind: 'provider' };
  }
  const authorization = req.get('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization);
    if (!match?.[1]) throw new AuthenticationFailure('Authorization must be a Bearer token');
    return principalFromAccessToken(deps, match[1], 'bearer');
  }
  const keyId = req.get('x-api-key-id');
  if (keyId !== undefined) {
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
    return {
      kind: 'user',
      via: 'signature',
      sub: client.ownerUserId,
      sid: null,
      roles: ['user'],
      acr: 'aal1',
    };
  }
  const cookies = req.cookies as Record<string, string> | undefined;
  const cookie = cookies?.[SESSION_COOKIE];
  if (cookie !== undefined) {
    let session = await deps.webSessions.find(cookie);
    if (!session)
      throw new AuthenticationFailure('browser session unknown or expired', 'unauthenticated', true);
    if (session.accessExpiresAt.getTime() - Date.now() < REFRESH_MARGIN_MS)
      session = await refreshWebSession(req, deps, session);
    const principal = await principalFromAccessToken(deps, session.accessToken, 'cookie');
    return { ...principal, webSession: session };
  }
  return ANONYMOUS;
}

function limiterKeys(route: RouteSpec, principal: Principal, ip: string): [LimiterName, string][] {
  const keys: [LimiterName, string][] = [];
  if (route.rateLimit === 'webhook') return [['webhook', `ip:${ip}`]];
  if (principal.kind === 'user') keys.push(['user', `user:${principal.sub}`]);
  else keys.push(['anonymous', `ip:${ip}`]);
  if (route.rateLimit === 'sensitive') {
    keys.push(['sensitive', `ip:${ip}`]);
    if (principal.kind === 'user') keys.push(['sensitive', `user:${principal.sub}`]);
  }
  return keys;
}

async function applyRateLimits(
  req: Request,
  res: Response,
  deps: GatewayDeps,
  keys: [LimiterName, string][],
): Promise<void> {
  let shown: RateLimitOutcome | undefined;
  let refused: RateLimitOutcome | undefined;
  for (const [name, key] of keys) {
    let outcome: RateLimitOutcome;
    try {
      outcome = await deps.rateLimits.consume(name, key);
    } catch (error) {
      // The limiter's store (Redis) is down: fail closed on the sensitive class, open on the rest.
      req.log.error(
        { err: error instanceof Error ? error.message : String(error), limiter: name },
        'rate limiter unavailable',
      );
      if (name === 'sensitive')
        throw problems.dependencyUnavailable('Rate limiting is unavailable; try again shortly.');
      continue;
    }
    if (!outcome.allowed) {
      refused = outcome;
      break;
    }
    if (!shown || outcome.remaining < shown.remaining) shown = outcome;
  }
  const report = refused ?? shown;
  if (report)
    for (const [name, value] of Object.entries(rateLimitHeaders(report))) res.setHeader(name, value);
  if (refused) {
    req.log.warn({ limiter: refused.policy, ip: clientIp(req) }, 'rate limited');
    throw new HttpProblem({
      status: 429,
      type: ProblemType.rateLimited,
      title: 'Too many requests',
      detail: `Rate limit "${refused.policy}" exceeded; retry after ${refused.resetSeconds} s.`,
    });
  }
}

function accessProblem(decision: ReturnType<typeof decideAccess>): HttpProblem | undefined {
  if (decision.allowed) return undefined;
  if (decision.reason === 'unauthenticated') return problems.unauthenticated();
  if (decision.reason === 'step-up-required') return problems.stepUpRequired();
  return problems.forbidden('Your role does not allow this action.');
}

function authFailureProblem(failure: AuthenticationFailure): HttpProblem {
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

function isAllowedOrigin(origin: string, config: Config): boolean {
  if (config.CORS_ALLOWED_ORIGINS.includes(origin)) return true;
  if (config.PUBLIC_BASE_URL && new URL(config.PUBLIC_BASE_URL).origin === origin) return true;
  return false;
}

/**
 * What runs before any route and instead of the service kit's JSON parser: CORS, the WAF's checks
 * that need no body (method, headers, path, content type, declared size), JSON parsing that keeps
 * the raw bytes for signature checks, and cookies.
 */
export function createBodyPipeline(config: Config): RequestHandler[] {
  const limits = wafLimits(config);

  const corsMiddleware = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && isAllowedOrigin(origin, config)),
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'X-CSRF-Token',
      'X-Request-Id',
      'X-Device-Id',
    ],
    exposedHeaders: [
      'RateLimit',
      'RateLimit-Policy',
      'Retry-After',
      'Idempotent-Replayed',
      'X-Request-Id',
      'Location',
      UPSTREAM_HEADER,
    ],
    maxAge: 600,
  });

  const wafBeforeBody: RequestHandler = (req, res, next) => {
    const block =
      checkMethod(req.method) ??
      checkHeaderSize(req.rawHeaders, limits) ??
      (() => {
        const normalised = normalisePath(req.originalUrl, limits);
        if ('block' in normalised) return normalised.block;
        normalisedPaths.set(req, normalised.path);
        return undefined;
      })() ??
      checkContentType(req.method, req.get('content-type'), hasBody(req));
    if (block) {
      blockRequest(req, res, block);
      return;
    }
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limits.maxBodyBytes) {
      blockRequest(req, res, { status: 413, ruleId: 'body-002', detail: 'The request body is too large.' });
      return;
    }
    next();
  };

  const jsonBody = express.json({
    limit: limits.maxBodyBytes,
    strict: true,
    type: 'application/json',
    verify: (req, _res, buf) => {
      rawBodies.set(req as Request, Buffer.from(buf));
    },
  });

  return [corsMiddleware, wafBeforeBody, jsonBody, cookieParser()];
}

export function mountGateway(app: Express, deps: GatewayDeps): void {
  const { config } = deps;
  const limits = wafLimits(config);
  const csrf = createCsrf(config);

  const handle = async (req: Request, res: Response): Promise<void> => {
    const path = normalisedPaths.get(req) ?? req.path;
    const lookup = lookupRoute(req.method, path);
    if (lookup.kind === 'not-found') throw problems.notFound(`No route for ${req.method} ${path}.`);
    if (lookup.kind === 'method-not-allowed') {
      throw new HttpProblem({
        status: 405,
        type: ProblemType.methodNotAllowed,
        title: 'Method not allowed',
        detail: `${req.method} is not allowed on ${path}.`,
        headers: { Allow: lookup.allowed.join(', ') },
      });
    }
    const { match } = lookup;
    const { route } = match;
    if (route.devOnly && config.APP_ENV === 'production')
      throw problems.notFound(`No route for ${req.method} ${path}.`);

    const queryIndex = req.originalUrl.indexOf('?');
    const query = queryIndex === -1 ? '' : req.originalUrl.slice(queryIndex);
    const body: unknown = req.body;
    const blocked =
      scanPayload(req.query, 'query') ??
      (body !== undefined ? (checkJsonShape(body, limits) ?? scanPayload(body, 'body')) : undefined);
    if (blocked) {
      blockRequest(req, res, blocked);
      return;
    }

    let principal: Principal = ANONYMOUS;
    let failure: AuthenticationFailure | undefined;
    try {
      principal = await authenticate(req, route, deps, `${path}${query}`);
    } catch (error) {
      if (!(error instanceof AuthenticationFailure)) throw error;
      failure = error;
    }
    const ip = clientIp(req);
    const subject = internalSubjectFor(req, principal);
    const audit = async (
      outcome: 'allowed' | 'denied' | 'failed',
      status: number,
      upstreamApp: string | null,
    ) => {
      if (!route.audit) return;
      try {
        await appendAudit(deps.db, {
          actor: subject.sub,
          actorRoles: subject.roles ?? [],
          sessionId: subject.sid ?? null,
          action: `${route.method} ${route.path}`,
          target: { path, ...match.params },
          outcome,
          status,
          ip,
          userAgent: subject.userAgent ?? null,
          requestId: requestIdOf(req),
          upstreamApp,
        });
      } catch (error) {
        req.log.error(
          { err: error instanceof Error ? error.message : String(error), action: route.path },
          'audit log write failed',
        );
      }
    };

    const deny = async (problem: HttpProblem): Promise<never> => {
      await audit('denied', problem.status, null);
      throw problem;
    };

    await applyRateLimits(req, res, deps, limiterKeys(route, principal, ip)).catch(async (error: unknown) => {
      if (error instanceof HttpProblem && error.status === 429) await audit('denied', 429, null);
      throw error;
    });
    if (failure) {
      if (failure.clearSession) clearBrowserCookies(res);
      req.log.info({ reason: failure.message }, 'authentication refused');
      await deny(authFailureProblem(failure));
    }

    if (principal.kind === 'user' && principal.via === 'cookie' && UNSAFE_METHODS.has(req.method)) {
      const origin = req.get('origin');
      if (origin !== undefined && !isAllowedOrigin(origin, config)) {
        await deny(
          new HttpProblem({
            status: 403,
            type: ProblemType.csrf,
            title: 'Cross-site request refused',
            detail: 'The request origin is not allowed.',
          }),
        );
      }
      if (!principal.webSession || !csrf.valid(req, principal.webSession.idHash)) {
        await deny(
          new HttpProblem({
            status: 403,
            type: ProblemType.csrf,
            title: 'CSRF token invalid',
            detail: 'Unsafe requests from a browser session need the X-CSRF-Token of that session.',
          }),
        );
      }
    }

    const problem = accessProblem(
      decideAccess(
        route,
        principal.kind === 'user'
          ? { authenticated: true, roles: principal.roles, acr: principal.acr }
          : { authenticated: principal.kind === 'provider', roles: [], acr: 'aal1' },
      ),
    );
    if (problem) await deny(problem);

    if (route.movesMoney) {
      const key = idempotencyKeySchema.safeParse(req.get('idempotency-key'));
      if (!key.success) {
        await deny(
          new HttpProblem({
            status: 400,
            type: ProblemType.idempotencyKeyMissing,
            title: 'Idempotency-Key required',
            detail: 'Money-moving requests need an Idempotency-Key header (1-255 printable characters).',
          }),
        );
      }
    }

    if (route.target.kind === 'gateway') {
      const local = deps.localHandlers[`${route.method} ${route.path}`];
      if (!local) throw new Error(`no local handler for ${route.method} ${route.path}`);
      // Past the gate: answered by the gateway itself.
      res.setHeader(UPSTREAM_HEADER, 'api-gateway');
      const status = await local({ req, res, match, principal, subject, deps, csrf });
      await audit('allowed', status, 'api-gateway');
      return;
    }

    const appId = route.target.appId;
    let answer;
    try {
      answer = await deps.forwarder.call(req, {
        appId,
        method: route.method,
        path: `${targetPath(match)}${query}`,
        subject,
        ...(body !== undefined ? { body } : {}),
      });
    } catch (error) {
      if (error instanceof HttpProblem) await audit('failed', error.status, appId);
      throw error;
    }
    await audit('allowed', answer.status, appId);
    const override = await afterForward(req, res, deps, route, principal, answer);
    relayResponse(res, appId, answer, override);
  };

  app.use((req: Request, res: Response, next: NextFunction) => {
    handle(req, res).catch(next);
  });
}

/**
 * Browser sessions never see tokens: a stepped-up token replaces the session's access token and is
 * not returned; a logout ends the browser session too.
 */
async function afterForward(
  _req: Request,
  res: Response,
  deps: GatewayDeps,
  route: RouteSpec,
  principal: Principal,
  answer: { status: number; body: unknown },
): Promise<unknown> {
  if (principal.kind !== 'user' || principal.via !== 'cookie' || !principal.webSession) return undefined;
  if (route.path === '/v1/auth/step-up' && answer.status === 200) {
    const body = answer.body as { accessToken?: unknown; expiresIn?: unknown } | undefined;
    if (typeof body?.accessToken === 'string') {
      const expiresIn = typeof body.expiresIn === 'number' ? body.expiresIn : 300;
      await deps.webSessions.updateTokens(principal.webSession.idHash, {
        accessToken: body.accessToken,
        expiresIn,
      });
      return { expiresIn, acr: 'aal2' };
    }
  }
  if (route.path === '/v1/auth/logout' && answer.status < 300) {
    await deps.webSessions.destroy(principal.webSession.idHash);
    clearBrowserCookies(res);
  }
  return undefined;
}
