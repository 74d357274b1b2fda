/** The audit stage: audited routes (admin, money-moving, high-risk) write one append-only row per request. */
import type { Request } from 'express';
import { HttpProblem, type InternalSubject } from '@wallet/service-kit';
import { z } from 'zod';
import { appendAudit } from '../../audit/audit-log.ts';
import type { RouteMatch } from '../route-table.ts';
import { requestIdOf } from '../forward.ts';
import type { GatewayDeps } from './types.ts';
import { clientIp } from './subject.ts';

export type AuditOutcome = 'allowed' | 'denied' | 'failed';
export type AuditRecorder = (
  outcome: AuditOutcome,
  status: number,
  upstreamApp: string | null,
) => Promise<void>;

/** A recorder for this request; a no-op on routes that are not audited. A failed write is logged, never fatal. */
export function auditRecorder(
  req: Request,
  deps: GatewayDeps,
  match: RouteMatch,
  path: string,
  subject: InternalSubject,
): AuditRecorder {
  const { route } = match;
  return async (outcome, status, upstreamApp) => {
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
        ip: clientIp(req),
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
}

/**
 * What the caller gets for an error thrown by a gateway-local handler, as the error handler will
 * answer it: a problem's own status, 400 for a zod error, 500 for anything else.
 */
export function statusOfThrown(error: unknown): number {
  if (error instanceof HttpProblem) return error.status;
  if (error instanceof z.ZodError) return 400;
  return 500;
}

/** The outcome of a call that ended in an error: a refusal (401/403) is denied, anything else failed. */
export function outcomeOfThrown(status: number): AuditOutcome {
  return status === 401 || status === 403 ? 'denied' : 'failed';
}
