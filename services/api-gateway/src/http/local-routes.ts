/** Routes the gateway answers itself: browser login/logout, the audit log, dead-letter aggregation, the merged OpenAPI document. */
import type { z } from 'zod';
import { ProblemType, type AppId } from '@wallet/contracts';
import { listDeadLetters, replayDeadLetters, type Platform } from '@wallet/platform';
import { HttpProblem, parseOrThrow } from '@wallet/service-kit';
import type { Kysely } from 'kysely';
import { auditQuerySchema, listAudit } from '../audit/audit-log.ts';
import type { GatewayDatabase } from '../db/schema.ts';
import { SESSION_COOKIE } from '../web/sessions.ts';
import type { LocalContext, LocalHandler } from './pipeline/types.ts';
import { clearBrowserCookies, sessionCookieOptions } from './pipeline/browser-session.ts';
import { internalSubjectFor } from './pipeline/subject.ts';
import { relayResponse } from './forward.ts';
import type { OpenApiAggregator } from './openapi.ts';
import {
  DEAD_LETTER_SERVICES,
  deadLetterQuerySchema,
  replayBodySchema,
  tokenAnswerSchema,
  webLoginSchema,
  type DeadLetterService,
} from './schemas.ts';
import { ANONYMOUS } from '../auth/principal.ts';

/** The identity route a browser's sign-in body goes to: password, second-factor code, or passkey. */
function identityLoginPath(body: z.infer<typeof webLoginSchema>): string {
  if ('credential' in body) return '/auth/passkey/login';
  return 'mfaToken' in body ? '/auth/login/mfa' : '/auth/login';
}

async function webLogin(ctx: LocalContext): Promise<number> {
  const { req, res, deps, csrf } = ctx;
  const body = parseOrThrow(webLoginSchema, req.body, 'body');
  const answer = await deps.forwarder.call(req, {
    appId: 'identity',
    method: 'POST',
    path: identityLoginPath(body),
    subject: internalSubjectFor(req, ANONYMOUS),
    body,
  });
  const tokens = tokenAnswerSchema.safeParse(answer.body);
  if (answer.status !== 200 || !tokens.success) {
    // Problems and the `{mfaRequired, mfaToken}` answer go back unchanged; a browser then posts `{mfaToken, code}` here.
    relayResponse(res, 'identity', answer);
    return answer.status;
  }
  const claims = await deps.accessTokens.verify(tokens.data.accessToken);
  const { cookieValue, session } = await deps.webSessions.create({ userId: claims.sub, tokens: tokens.data });
  res.cookie(SESSION_COOKIE, cookieValue, sessionCookieOptions(deps.config.WEB_SESSION_TTL_SECONDS));
  const csrfToken = csrf.issue(req, res, session.idHash);
  res.setHeader('Cache-Control', 'no-store');
  res
    .status(200)
    .json({ csrfToken, expiresIn: deps.config.WEB_SESSION_TTL_SECONDS, sessionId: tokens.data.sessionId });
  return 200;
}

async function webLogout(ctx: LocalContext): Promise<number> {
  const { req, res, deps, principal, subject } = ctx;
  if (principal.kind === 'user') {
    const answer = await deps.forwarder.call(req, {
      appId: 'identity',
      method: 'POST',
      path: '/auth/logout',
      subject,
    });
    if (answer.status >= 500)
      req.log.warn({ status: answer.status }, 'identity logout failed; browser session ended anyway');
    if (principal.webSession) await deps.webSessions.destroy(principal.webSession.idHash);
  }
  clearBrowserCookies(res);
  res.status(204).end();
  return 204;
}

async function auditLog(ctx: LocalContext): Promise<number> {
  const query = parseOrThrow(auditQuerySchema, ctx.req.query, 'query');
  ctx.res.json(await listAudit(ctx.deps.db, query));
  return 200;
}

interface ServiceAnswer {
  service: DeadLetterService;
  status: number;
  body: unknown;
}

function createDeadLetterHandlers(
  db: Kysely<GatewayDatabase>,
  platform: Platform,
): { list: LocalHandler; replay: LocalHandler } {
  const services = (only: DeadLetterService | undefined): DeadLetterService[] =>
    only ? [only] : [...DEAD_LETTER_SERVICES];

  const callEach = async (
    ctx: LocalContext,
    targets: DeadLetterService[],
    local: () => Promise<unknown>,
    remote: (appId: Exclude<AppId, 'api-gateway'>) => Promise<{ status: number; body: unknown }>,
  ): Promise<ServiceAnswer[]> =>
    Promise.all(
      targets.map(async (service): Promise<ServiceAnswer> => {
        try {
          if (service === 'api-gateway') return { service, status: 200, body: await local() };
          const answer = await remote(service);
          return { service, status: answer.status, body: answer.body };
        } catch (error) {
          ctx.req.log.warn(
            { service, err: error instanceof Error ? error.message : String(error) },
            'dead-letter call failed',
          );
          return { service, status: error instanceof HttpProblem ? error.status : 503, body: undefined };
        }
      }),
    );

  return {
    async list(ctx) {
      const query = parseOrThrow(deadLetterQuerySchema, ctx.req.query, 'query');
      const search = new URLSearchParams({
        limit: String(query.limit),
        ...(query.topic ? { topic: query.topic } : {}),
      });
      const answers = await callEach(
        ctx,
        services(query.service),
        () => listDeadLetters(db, { limit: query.limit, ...(query.topic ? { topic: query.topic } : {}) }),
        (appId) =>
          ctx.deps.forwarder.call(ctx.req, {
            appId,
            method: 'GET',
            path: `/admin/dead-letters?${search.toString()}`,
            subject: ctx.subject,
          }),
      );
      const items: unknown[] = [];
      const sources = answers.map(({ service, status, body }) => {
        const page = body as { items?: unknown[]; nextCursor?: string | null } | undefined;
        if (status === 200 && Array.isArray(page?.items)) {
          for (const item of page.items) items.push({ ...(item as Record<string, unknown>), service });
        }
        return { service, status, nextCursor: page?.nextCursor ?? null };
      });
      ctx.res.json({ items, nextCursor: null, sources });
      return 200;
    },
    async replay(ctx) {
      const body = parseOrThrow(replayBodySchema, ctx.req.body, 'body');
      const answers = await callEach(
        ctx,
        services(body.service),
        () =>
          replayDeadLetters(
            db,
            platform,
            'ids' in body ? { ids: body.ids } : { ...(body.topic ? { topic: body.topic } : {}) },
          ),
        (appId) => {
          const forwarded =
            'ids' in body ? { ids: body.ids } : { ...(body.topic ? { topic: body.topic } : {}) };
          return ctx.deps.forwarder.call(ctx.req, {
            appId,
            method: 'POST',
            path: '/admin/dead-letters/replay',
            subject: ctx.subject,
            body: forwarded,
          });
        },
      );
      const results = answers.map(({ service, status, body: answer }) => ({
        service,
        status,
        result: status < 300 ? answer : null,
      }));
      const failedAll = results.every((r) => r.status >= 500);
      if (failedAll) {
        throw new HttpProblem({
          status: 503,
          type: ProblemType.dependencyUnavailable,
          title: 'Dependency unavailable',
          detail: 'No service could replay.',
        });
      }
      ctx.res.json({ results });
      return 200;
    },
  };
}

export function createLocalHandlers(options: {
  db: Kysely<GatewayDatabase>;
  platform: Platform;
  openapi: OpenApiAggregator;
}): Record<string, LocalHandler> {
  const deadLetters = createDeadLetterHandlers(options.db, options.platform);
  return {
    'POST /v1/web/login': webLogin,
    'POST /v1/web/logout': webLogout,
    'GET /v1/admin/audit-log': auditLog,
    'GET /v1/admin/dead-letters': deadLetters.list,
    'POST /v1/admin/dead-letters/replay': deadLetters.replay,
    'GET /v1/openapi.json': async ({ req, res }) => {
      res.setHeader('Cache-Control', 'public, max-age=60');
      res.json(await options.openapi.document(req));
      return 200;
    },
  };
}
