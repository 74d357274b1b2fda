/**
 * Browser sessions never see tokens. Routes flagged `browserSession` in the route table act on the
 * session after the service answered: `adopt-step-up` keeps the stepped-up token server-side and
 * answers `{expiresIn, acr}`; `end` deletes the browser session and its cookies.
 */
import { decodeJwt } from 'jose';
import type { CookieOptions, Response } from 'express';
import type { Principal } from '../../auth/principal.ts';
import { CSRF_COOKIE, SESSION_COOKIE } from '../../web/sessions.ts';
import type { RouteSpec } from '../route-table.ts';
import type { GatewayDeps } from './types.ts';

export function sessionCookieOptions(maxAgeSeconds: number): CookieOptions {
  return { httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge: maxAgeSeconds * 1000 };
}

export function clearBrowserCookies(res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
  res.clearCookie(CSRF_COOKIE, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
}

/** Applies the route's browser-session effect; returns a body to answer instead of the service's, if any. */
export async function applyBrowserSessionEffect(
  res: Response,
  deps: GatewayDeps,
  route: RouteSpec,
  principal: Principal,
  answer: { status: number; body: unknown },
): Promise<unknown> {
  if (principal.kind !== 'user' || principal.via !== 'cookie' || !principal.webSession) return undefined;
  if (route.browserSession === 'adopt-step-up' && answer.status === 200) {
    const body = answer.body as
      { accessToken?: unknown; expiresIn?: unknown; reauthenticatedUntil?: unknown } | undefined;
    if (typeof body?.accessToken === 'string') {
      const expiresIn = typeof body.expiresIn === 'number' ? body.expiresIn : 300;
      await deps.webSessions.updateTokens(principal.webSession.idHash, {
        accessToken: body.accessToken,
        expiresIn,
      });
      // Step-up answers aal2; a re-authentication without a second factor stays aal1 (identity's token says which).
      let acr: unknown = 'aal2';
      try {
        acr = decodeJwt(body.accessToken)['acr'] ?? 'aal2';
      } catch {
        // identity's own token: unreadable only if identity is broken; keep the step-up default.
      }
      return {
        expiresIn,
        acr,
        ...(typeof body.reauthenticatedUntil === 'string'
          ? { reauthenticatedUntil: body.reauthenticatedUntil }
          : {}),
      };
    }
  }
  if (route.browserSession === 'end' && answer.status < 300) {
    await deps.webSessions.destroy(principal.webSession.idHash);
    clearBrowserCookies(res);
  }
  return undefined;
}
