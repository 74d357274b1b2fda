/**
 * identity's HTTP routes: the public API paths without `/v1`, plus `/internal/...` for the gateway.
 * Every route demands a verified internal token; routes acting on an account also demand that the
 * token's session is live and belongs to the caller.
 */
import type { Express, Request, Response } from 'express';
import { ANONYMOUS_SUBJECT, type InternalClaims } from '@wallet/contracts';
import {
  getCaller,
  parseOrThrow,
  problems,
  requireInternalCaller,
  requireStepUp,
  type InternalTokenVerifier,
} from '@wallet/service-kit';
import { paginationQuerySchema } from '@wallet/contracts';
import {
  acceptRecoveryRequest,
  completeRecovery,
  login,
  loginWithSecondFactor,
  logout,
  refresh,
  register,
  stepUp,
  verifyEmail,
} from '../application/auth.ts';
import {
  confirmTotpEnrolment,
  disableTotp,
  getMe,
  listSessions,
  loadLiveSession,
  revokeOtherSessions,
  revokeOwnSession,
  sessionStatus,
  startTotpEnrolment,
  type UserSession,
} from '../application/account.ts';
import { issueCodeForDelivery } from '../application/code-delivery.ts';
import { afterFactorChange, requireRecentAuthentication } from '../application/account-security.ts';
import { mountAccountSecurityRoutes, signOutOtherSessionsQuery } from './account-security-routes.ts';
import { authoriseAdmin, findUsers, lockUser, setRoles, unlockUser } from '../application/admin.ts';
import type { IdentityDeps, RequestMeta } from '../application/context.ts';
import type { BackgroundTasks } from '../application/background-tasks.ts';
import { openApiDocument } from './openapi.ts';
import * as s from './schemas.ts';

const CODE_ISSUE_PATH = /^\/internal\/one-time-codes\/[^/]+\/issue$/;

export function metaOf(req: Request, caller: InternalClaims): RequestMeta {
  return {
    ip: caller.ip ?? null,
    userAgent: caller.userAgent ?? req.get('user-agent') ?? null,
    deviceId: caller.deviceId ?? null,
    traceparent: req.get('traceparent'),
  };
}

function signedInCaller(res: Response): InternalClaims & { sid: string } {
  const caller = getCaller(res);
  if (caller.sub === ANONYMOUS_SUBJECT || !caller.sid) throw problems.unauthenticated('Sign in first.');
  return { ...caller, sid: caller.sid };
}

export async function requireUserSession(deps: IdentityDeps, res: Response) {
  const caller = signedInCaller(res);
  const live = await loadLiveSession(deps, caller.sub, caller.sid);
  const session: UserSession & { caller: InternalClaims; stepUpUntil: Date | null } = {
    userId: caller.sub,
    sessionId: caller.sid,
    caller,
    stepUpUntil: live.step_up_until,
  };
  return session;
}

export function mountRoutes(
  app: Express,
  deps: IdentityDeps & { verifier: InternalTokenVerifier; background: BackgroundTasks },
): void {
  app.use(requireInternalCaller(deps.verifier));
  // The gateway may call every route; another service only the route made for it, so a token minted
  // by notification can never act as a user on the public API.
  app.use((req, res, next) => {
    const caller = getCaller(res);
    if (caller.iss === 'api-gateway') return next();
    if (caller.iss === 'notification' && req.method === 'POST' && CODE_ISSUE_PATH.test(req.path))
      return next();
    next(problems.forbidden(`${caller.iss} may not call ${req.method} ${req.path}.`));
  });
  app.use((_req, res, next) => {
    // Tokens, codes and personal data: never in a shared cache (RFC 6749 5.1).
    res.set('Cache-Control', 'no-store');
    next();
  });

  app.get('/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json(openApiDocument());
  });
  app.get('/.well-known/jwks.json', async (_req, res) => {
    res.set('Cache-Control', 'public, max-age=60').json(await deps.keys.jwks());
  });

  // --- anonymous flows -------------------------------------------------------------------------
  app.post('/auth/register', async (req, res) => {
    const body = parseOrThrow(s.registerBody, req.body, 'body');
    // The same answer whether or not the address has an account (see application/auth.ts register).
    await register(
      deps,
      deps.background,
      { ...body, displayName: body.displayName ?? null },
      metaOf(req, getCaller(res)),
    );
    res.status(202).end();
  });
  app.post('/auth/verify-email', async (req, res) => {
    const body = parseOrThrow(s.verifyEmailBody, req.body, 'body');
    await verifyEmail(deps, body, metaOf(req, getCaller(res)));
    res.status(204).end();
  });
  app.post('/auth/login', async (req, res) => {
    const body = parseOrThrow(s.loginBody, req.body, 'body');
    res.json(
      await login(deps, { ...body, deviceName: body.deviceName ?? null }, metaOf(req, getCaller(res))),
    );
  });
  app.post('/auth/login/mfa', async (req, res) => {
    const body = parseOrThrow(s.loginMfaBody, req.body, 'body');
    res.json(await loginWithSecondFactor(deps, body, metaOf(req, getCaller(res))));
  });
  app.post('/auth/refresh', async (req, res) => {
    const body = parseOrThrow(s.refreshBody, req.body, 'body');
    res.json(await refresh(deps, body, metaOf(req, getCaller(res))));
  });
  app.post('/auth/recovery', (req, res) => {
    const body = parseOrThrow(s.recoveryBody, req.body, 'body');
    acceptRecoveryRequest(deps, deps.background, body, metaOf(req, getCaller(res)));
    res.status(202).end();
  });
  app.post('/auth/recovery/complete', async (req, res) => {
    const body = parseOrThrow(s.recoveryCompleteBody, req.body, 'body');
    await completeRecovery(deps, body, metaOf(req, getCaller(res)));
    res.status(204).end();
  });

  // --- the signed-in user ------------------------------------------------------------------------
  app.post('/auth/logout', async (req, res) => {
    const caller = signedInCaller(res);
    await logout(deps, { userId: caller.sub, sessionId: caller.sid }, metaOf(req, caller));
    res.status(204).end();
  });
  app.post('/auth/step-up', async (req, res) => {
    const session = await requireUserSession(deps, res);
    const body = parseOrThrow(s.stepUpBody, req.body, 'body');
    res.json(await stepUp(deps, session, body, metaOf(req, session.caller)));
  });
  app.get('/me', async (_req, res) => {
    const session = await requireUserSession(deps, res);
    res.json(await getMe(deps, session.userId));
  });
  // Factor changes need a recent full authentication (ASVS 7.5.1) and offer to end the other sessions (7.4.3).
  app.post('/me/mfa/totp', async (_req, res) => {
    const session = await requireUserSession(deps, res);
    await requireRecentAuthentication(deps, session);
    res.json(await startTotpEnrolment(deps, session.userId));
  });
  app.post('/me/mfa/totp/confirm', async (req, res) => {
    const session = await requireUserSession(deps, res);
    const body = parseOrThrow(s.totpConfirmBody, req.body, 'body');
    await requireRecentAuthentication(deps, session);
    const meta = metaOf(req, session.caller);
    const out = await confirmTotpEnrolment(deps, session.userId, { code: body.code }, meta);
    const others = await afterFactorChange(
      deps,
      session,
      body.signOutOtherSessions ?? false,
      'mfa-changed',
      meta,
    );
    res.json({ ...out, ...others });
  });
  app.delete('/me/mfa/totp', async (req, res) => {
    requireStepUp(res);
    const session = await requireUserSession(deps, res);
    const query = parseOrThrow(signOutOtherSessionsQuery, req.query, 'query');
    // The token's acr is not enough: the session's own window must still be open.
    if (!session.stepUpUntil || session.stepUpUntil.getTime() <= Date.now()) throw problems.stepUpRequired();
    await requireRecentAuthentication(deps, session);
    const meta = metaOf(req, session.caller);
    await disableTotp(deps, session.userId, meta);
    await afterFactorChange(deps, session, query.signOutOtherSessions === 'true', 'mfa-changed', meta);
    res.status(204).end();
  });
  app.get('/me/sessions', async (req, res) => {
    const session = await requireUserSession(deps, res);
    const query = parseOrThrow(paginationQuerySchema, req.query, 'query');
    res.json(await listSessions(deps, session, query));
  });
  app.delete('/me/sessions', async (req, res) => {
    const session = await requireUserSession(deps, res);
    res.json(await revokeOtherSessions(deps, session, metaOf(req, session.caller)));
  });
  app.delete('/me/sessions/:id', async (req, res) => {
    const session = await requireUserSession(deps, res);
    const { id } = parseOrThrow(s.sessionIdParam, req.params, 'params');
    await revokeOwnSession(deps, session, id, metaOf(req, session.caller));
    res.status(204).end();
  });

  mountAccountSecurityRoutes(app, deps, {
    metaOf: (req, res) => metaOf(req, getCaller(res)),
    requireUserSession: (res) => requireUserSession(deps, res),
  });

  // --- support and admin -------------------------------------------------------------------------
  app.get('/admin/users', async (req, res) => {
    const caller = signedInCaller(res);
    await authoriseAdmin(deps, { userId: caller.sub, sessionId: caller.sid, acr: caller.acr }, 'users:read');
    const query = parseOrThrow(s.adminUsersQuery, req.query, 'query');
    res.json(await findUsers(deps, query));
  });
  app.post('/admin/users/:id/lock', async (req, res) => {
    const caller = signedInCaller(res);
    await authoriseAdmin(deps, { userId: caller.sub, sessionId: caller.sid, acr: caller.acr }, 'users:lock');
    const { id } = parseOrThrow(s.userIdParam, req.params, 'params');
    const body = parseOrThrow(s.lockBody, req.body ?? {}, 'body');
    await lockUser(deps, caller.sub, id, body.reason ?? null, metaOf(req, caller));
    res.status(204).end();
  });
  app.post('/admin/users/:id/unlock', async (req, res) => {
    const caller = signedInCaller(res);
    await authoriseAdmin(deps, { userId: caller.sub, sessionId: caller.sid, acr: caller.acr }, 'users:lock');
    const { id } = parseOrThrow(s.userIdParam, req.params, 'params');
    await unlockUser(deps, caller.sub, id);
    res.status(204).end();
  });
  app.put('/admin/users/:id/roles', async (req, res) => {
    const caller = signedInCaller(res);
    await authoriseAdmin(
      deps,
      { userId: caller.sub, sessionId: caller.sid, acr: caller.acr },
      'users:set-roles',
    );
    const { id } = parseOrThrow(s.userIdParam, req.params, 'params');
    const body = parseOrThrow(s.rolesBody, req.body, 'body');
    res.json(await setRoles(deps, caller.sub, id, body.roles));
  });

  // --- internal (other services) -----------------------------------------------------------------
  // The notification service, as it sends a verification or recovery message, exchanges the event's
  // code reference for the code (see application/code-delivery.ts). Only its internal token is accepted;
  // in Dapr mode identity's sidecar also admits only api-gateway and notification (dapr/config.identity.yaml).
  app.post('/internal/one-time-codes/:ref/issue', async (req, res) => {
    const caller = getCaller(res);
    if (caller.iss !== 'notification') throw problems.forbidden('Only the notification service asks this.');
    const { ref } = parseOrThrow(s.codeRefParam, req.params, 'params');
    const body = parseOrThrow(s.issueCodeBody, req.body, 'body');
    const issued = await issueCodeForDelivery(deps, { codeRef: ref, recipient: body.recipient });
    // Nothing of the answer is logged (the request logger records method, path and status only).
    res.json({ purpose: issued.purpose, code: issued.code, expiresAt: issued.expiresAt.toISOString() });
  });

  // --- internal (the gateway) --------------------------------------------------------------------
  app.get('/internal/sessions/:sid', async (req, res) => {
    const caller = getCaller(res);
    if (caller.iss !== 'api-gateway') throw problems.forbidden('Only the gateway asks this.');
    res.json(await sessionStatus(deps, String(req.params['sid'])));
  });
}
