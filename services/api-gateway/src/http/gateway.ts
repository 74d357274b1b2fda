/**
 * The gateway's request pipeline, one module per stage under ./pipeline, in order:
 *   CORS -> WAF (method, headers, path, content type) -> JSON body (raw bytes kept for signatures)
 *   -> route lookup -> WAF payload rules -> authentication -> rate limits -> CSRF (browser sessions)
 *   -> authorisation (route table) -> Idempotency-Key -> local handler or forward -> audit.
 */
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import cookieParser from 'cookie-parser';
import { ProblemType } from '@wallet/contracts';
import { HttpProblem, problems } from '@wallet/service-kit';
import type { Config } from '../config.ts';
import { ANONYMOUS, AuthenticationFailure, type Principal } from '../auth/principal.ts';
import { lookupRoute, targetPath, type RouteMatch } from './route-table.ts';
import { relayResponse, UPSTREAM_HEADER } from './forward.ts';
import type { GatewayDeps } from './pipeline/types.ts';
import { corsPolicy } from './pipeline/cors.ts';
import {
  blockRequest,
  jsonBodyKeepingRaw,
  normalisedPathOf,
  scanRequestPayload,
  wafBeforeBody,
  wafLimits,
} from './pipeline/waf.ts';
import { authenticate, authFailureProblem } from './pipeline/authenticate.ts';
import { applyRateLimits, limiterKeys, reflectUpstreamThrottle } from './pipeline/rate-limit.ts';
import { createCsrf, csrfProblem } from './pipeline/csrf.ts';
import { accessProblem, idempotencyKeyProblem } from './pipeline/authorise.ts';
import { auditRecorder, outcomeOfThrown, statusOfThrown } from './pipeline/audit.ts';
import { applyBrowserSessionEffect, clearBrowserCookies } from './pipeline/browser-session.ts';
import { clientIp, internalSubjectFor } from './pipeline/subject.ts';

/**
 * What runs before any route and instead of the service kit's JSON parser: CORS, the WAF's checks
 * that need no body, JSON parsing that keeps the raw bytes for signature checks, and cookies.
 */
export function createBodyPipeline(config: Config): RequestHandler[] {
  return [corsPolicy(config), wafBeforeBody(config), jsonBodyKeepingRaw(config), cookieParser()];
}

/** The route for the request, or the 404/405 problem (dev-only routes do not exist in production). */
function routeFor(req: Request, path: string, config: Config): RouteMatch {
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
  if (lookup.match.route.devOnly && config.APP_ENV === 'production')
    throw problems.notFound(`No route for ${req.method} ${path}.`);
  return lookup.match;
}

export function mountGateway(app: Express, deps: GatewayDeps): void {
  const { config } = deps;
  const limits = wafLimits(config);
  const csrf = createCsrf(config);

  const handle = async (req: Request, res: Response): Promise<void> => {
    const path = normalisedPathOf(req);
    const match = routeFor(req, path, config);
    const { route } = match;
    const queryIndex = req.originalUrl.indexOf('?');
    const query = queryIndex === -1 ? '' : req.originalUrl.slice(queryIndex);

    const blocked = scanRequestPayload(req, limits);
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
    const subject = internalSubjectFor(req, principal);
    const audit = auditRecorder(req, deps, match, path, subject);
    const deny = async (problem: HttpProblem): Promise<never> => {
      await audit('denied', problem.status, null);
      throw problem;
    };

    // Counted before a failed authentication is answered, so bad credentials cost quota too.
    await applyRateLimits(req, res, deps, limiterKeys(route, principal, clientIp(req))).catch(
      async (error: unknown) => {
        if (error instanceof HttpProblem && error.status === 429) await audit('denied', 429, null);
        throw error;
      },
    );
    if (failure) {
      if (failure.clearSession) clearBrowserCookies(res);
      req.log.info({ reason: failure.message }, 'authentication refused');
      await deny(authFailureProblem(failure));
    }
    const refusal =
      csrfProblem(req, principal, csrf, config) ??
      accessProblem(route, principal) ??
      idempotencyKeyProblem(req, route);
    if (refusal) await deny(refusal);

    if (route.target.kind === 'gateway') {
      const local = deps.localHandlers[`${route.method} ${route.path}`];
      if (!local) throw new Error(`no local handler for ${route.method} ${route.path}`);
      // Past the gate: answered by the gateway itself.
      res.setHeader(UPSTREAM_HEADER, 'api-gateway');
      let status: number;
      try {
        status = await local({ req, res, match, principal, subject, deps, csrf });
      } catch (error) {
        // A throwing handler (bad body, no service answered) is audited with the status it ends in.
        const thrown = statusOfThrown(error);
        await audit(outcomeOfThrown(thrown), thrown, 'api-gateway');
        throw error;
      }
      await audit('allowed', status, 'api-gateway');
      return;
    }

    const appId = route.target.appId;
    const body: unknown = req.body;
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
      const thrown = statusOfThrown(error);
      await audit(outcomeOfThrown(thrown), thrown, appId);
      throw error;
    }
    await audit('allowed', answer.status, appId);
    reflectUpstreamThrottle(res, answer);
    const override = await applyBrowserSessionEffect(res, deps, route, principal, answer);
    relayResponse(res, appId, answer, override);
  };

  app.use((req: Request, res: Response, next: NextFunction) => {
    handle(req, res).catch(next);
  });
}
