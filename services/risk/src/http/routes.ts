/** risk's HTTP routes. Every route demands a verified internal token. */
import type { Express, Request, Response } from 'express';
import type { Kysely } from 'kysely';
import { ANONYMOUS_SUBJECT } from '@wallet/contracts';
import type { Platform } from '@wallet/platform';
import {
  getCaller,
  HttpProblem,
  parseOrThrow,
  problems,
  requireInternalCaller,
  requireRole,
  requireStepUp,
  type InternalTokenVerifier,
  mountDeadLetterRoutes,
} from '@wallet/service-kit';
import { ProblemType } from '@wallet/contracts';
import { runAssessment, type AssessmentDeps } from '../application/assess.ts';
import { assessmentBudgetMs, BudgetExceededError, withinBudget } from '../application/budget.ts';
import type { ActiveRules, RuleCache } from '../application/rule-cache.ts';
import { closeFlag, findAssessment, listFlags } from '../db/assessments-repository.ts';
import { listRuleChanges, saveOverrides, StaleRuleVersionError } from '../db/rules-repository.ts';
import type { RiskDatabase } from '../db/schema.ts';
import { applyOverrides, InvalidRuleOverridesError } from '../domain/rules.ts';
import { VelocityContentionError, VelocityStoreError } from '../state/velocity-counters.ts';
import { buildOpenApiDocument } from './openapi.ts';
import {
  assessmentRequestSchema,
  closeFlagRequestSchema,
  uuidParamSchema,
  flagsQuerySchema,
  ruleChangeRequestSchema,
  ruleChangesQuerySchema,
} from './schemas.ts';

export interface RouteDeps {
  verifier: InternalTokenVerifier;
  db: Kysely<RiskDatabase>;
  platform: Platform;
  rules: RuleCache;
  assessment: AssessmentDeps;
  /** Answer within this many milliseconds or not at all (503): the caller applies its failure policy. */
  budgetMs: number;
}

function rulesView(active: ActiveRules) {
  return {
    version: active.rules.version,
    defaultsVersion: active.defaults.version,
    overrideVersion: active.stored?.version ?? null,
    overridesApplied: active.overridesApplied,
    overrides: active.stored?.overrides ?? {},
    changedBy: active.stored?.changedBy ?? null,
    changedAt: active.stored?.createdAt.toISOString() ?? null,
    reason: active.stored?.reason ?? null,
    rules: active.rules,
  };
}

function requestId(req: Request): string | null {
  const id: unknown = req.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

/** Admin routes: a support or admin role and a stepped-up session, as API.md demands of every admin call. */
function requireAdmin(res: Response, minimum: 'support' | 'admin') {
  requireRole(res, minimum);
  return requireStepUp(res);
}

export function mountRoutes(app: Express, deps: RouteDeps): void {
  app.use(requireInternalCaller(deps.verifier));

  app.get('/openapi.json', (_req, res) => {
    res.json(buildOpenApiDocument());
  });

  app.post('/assessments', async (req, res) => {
    const caller = getCaller(res);
    const body = parseOrThrow(assessmentRequestSchema, req.body, 'body');
    // The caller forwards the user's own claims: it may assess that user only (login checks come
    // before anyone is signed in, so those may be asked anonymously).
    const onBehalfOfUser = caller.sub === body.userId;
    const anonymousLogin = caller.sub === ANONYMOUS_SUBJECT && body.action === 'login';
    if (!onBehalfOfUser && !anonymousLogin)
      throw problems.forbidden('An assessment is asked on behalf of the user it is about.');
    const facts = {
      userId: body.userId,
      action: body.action,
      amount: body.amount ?? null,
      currency: body.currency ?? null,
      counterparty: body.counterparty ?? null,
      sessionId: body.sessionId ?? caller.sid ?? null,
      deviceId: body.deviceId ?? caller.deviceId ?? null,
      ip: body.ip ?? caller.ip ?? null,
      acr: caller.acr,
    };
    try {
      const result = await withinBudget(
        runAssessment(deps.assessment, facts, { issuer: caller.iss, traceparent: req.get('traceparent') }),
        assessmentBudgetMs(deps.budgetMs),
      );
      const { flagId: _flagId, ...answer } = result;
      res.json(answer);
    } catch (error) {
      if (
        error instanceof BudgetExceededError ||
        error instanceof VelocityContentionError ||
        error instanceof VelocityStoreError
      ) {
        req.log.warn({ err: error }, 'assessment not answered');
        // Retry-After marks a deliberate answer: callers neither retry it nor count it against risk.
        throw new HttpProblem({
          status: 503,
          type: ProblemType.dependencyUnavailable,
          title: 'Dependency unavailable',
          detail: 'The risk assessment could not be completed in time; apply your failure policy.',
          headers: { 'Retry-After': '1' },
        });
      }
      throw error;
    }
  });

  app.get('/admin/risk/flags', async (req, res) => {
    requireAdmin(res, 'support');
    const query = parseOrThrow(flagsQuerySchema, req.query, 'query');
    res.json(await listFlags(deps.db, query));
  });

  app.post('/admin/risk/flags/:id/close', async (req, res) => {
    const caller = requireAdmin(res, 'support');
    const { id } = parseOrThrow(uuidParamSchema, req.params, 'params');
    const body = parseOrThrow(closeFlagRequestSchema, req.body ?? {}, 'body');
    const flag = await closeFlag(deps.db, { flagId: id, closedBy: caller.sub, note: body.note ?? null });
    if (!flag) throw problems.notFound('No such flag.');
    req.log.info({ flagId: id, by: caller.sub }, 'anomaly flag closed');
    res.json(flag);
  });

  app.get('/admin/risk/assessments/:id', async (req, res) => {
    requireAdmin(res, 'support');
    const { id } = parseOrThrow(uuidParamSchema, req.params, 'params');
    const assessment = await findAssessment(deps.db, id);
    if (!assessment) throw problems.notFound('No such assessment.');
    res.json(assessment);
  });

  app.get('/admin/risk/rules', async (_req, res) => {
    requireAdmin(res, 'support');
    res.json(rulesView(await deps.rules.current()));
  });

  app.get('/admin/risk/rules/changes', async (req, res) => {
    requireAdmin(res, 'support');
    const query = parseOrThrow(ruleChangesQuerySchema, req.query, 'query');
    res.json(await listRuleChanges(deps.db, query));
  });

  app.put('/admin/risk/rules', async (req, res) => {
    const caller = requireAdmin(res, 'admin');
    const body = parseOrThrow(ruleChangeRequestSchema, req.body, 'body');
    const { defaults } = await deps.rules.current();
    try {
      const saved = await saveOverrides(deps.db, {
        overrides: body.overrides,
        reason: body.reason,
        changedBy: caller.sub,
        roles: caller.roles,
        ip: caller.ip ?? null,
        requestId: requestId(req),
        ...(body.expectedVersion !== undefined ? { expectedVersion: body.expectedVersion } : {}),
        validate: (overrides) => void applyOverrides(defaults, overrides, null),
      });
      req.log.info({ overrideVersion: saved.version, changedBy: caller.sub }, 'risk rules changed');
    } catch (error) {
      if (error instanceof InvalidRuleOverridesError) {
        throw problems.validation(
          error.issues.map((i) => ({
            field: `body.overrides${i.path ? `.${i.path}` : ''}`,
            message: i.message,
          })),
          'The overrides do not produce a valid rule set.',
        );
      }
      if (error instanceof StaleRuleVersionError) {
        throw new HttpProblem({
          status: 409,
          type: ProblemType.conflict,
          title: 'Conflict',
          detail: 'The rules changed since you read them; read them again and reapply your change.',
          extensions: { currentVersion: error.currentVersion },
        });
      }
      throw error;
    }
    deps.rules.invalidate();
    res.json(rulesView(await deps.rules.current()));
  });

  mountDeadLetterRoutes(app, { appId: 'risk', db: deps.db, platform: deps.platform });
}
