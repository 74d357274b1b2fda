/**
 * CSRF for browser sessions (csrf-csrf's double-submit token bound to the session) plus an Origin
 * check, on unsafe methods only. Bearer, partner and webhook callers carry no ambient credentials.
 */
import type { Request } from 'express';
import { doubleCsrf } from 'csrf-csrf';
import { ProblemType } from '@wallet/contracts';
import { HttpProblem } from '@wallet/service-kit';
import type { Config } from '../../config.ts';
import type { Principal } from '../../auth/principal.ts';
import { CSRF_COOKIE } from '../../web/sessions.ts';
import { isAllowedOrigin } from './cors.ts';
import type { CsrfUtilities } from './types.ts';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const csrfSessions = new WeakMap<Request, string>();

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

/** The problem to answer, if an unsafe browser-session request lacks an allowed origin or its session's token. */
export function csrfProblem(
  req: Request,
  principal: Principal,
  csrf: CsrfUtilities,
  config: Config,
): HttpProblem | undefined {
  if (principal.kind !== 'user' || principal.via !== 'cookie' || !UNSAFE_METHODS.has(req.method))
    return undefined;
  const origin = req.get('origin');
  if (origin !== undefined && !isAllowedOrigin(origin, config)) {
    return new HttpProblem({
      status: 403,
      type: ProblemType.csrf,
      title: 'Cross-site request refused',
      detail: 'The request origin is not allowed.',
    });
  }
  if (!principal.webSession || !csrf.valid(req, principal.webSession.idHash)) {
    return new HttpProblem({
      status: 403,
      type: ProblemType.csrf,
      title: 'CSRF token invalid',
      detail: 'Unsafe requests from a browser session need the X-CSRF-Token of that session.',
    });
  }
  return undefined;
}
