/** Coarse authorisation from the route table, and the Idempotency-Key money-moving routes demand. */
import type { Request } from 'express';
import { idempotencyKeySchema, ProblemType } from '@wallet/contracts';
import { HttpProblem, problems } from '@wallet/service-kit';
import type { Principal } from '../../auth/principal.ts';
import { decideAccess, type RouteSpec } from '../route-table.ts';

export function accessProblem(route: RouteSpec, principal: Principal): HttpProblem | undefined {
  const decision = decideAccess(
    route,
    principal.kind === 'user'
      ? { authenticated: true, roles: principal.roles, acr: principal.acr }
      : { authenticated: principal.kind === 'provider', roles: [], acr: 'aal1' },
  );
  if (decision.allowed) return undefined;
  if (decision.reason === 'unauthenticated') return problems.unauthenticated();
  if (decision.reason === 'step-up-required') return problems.stepUpRequired();
  return problems.forbidden('Your role does not allow this action.');
}

export function idempotencyKeyProblem(req: Request, route: RouteSpec): HttpProblem | undefined {
  if (!route.movesMoney || idempotencyKeySchema.safeParse(req.get('idempotency-key')).success)
    return undefined;
  return new HttpProblem({
    status: 400,
    type: ProblemType.idempotencyKeyMissing,
    title: 'Idempotency-Key required',
    detail: 'Money-moving requests need an Idempotency-Key header (1-255 printable characters).',
  });
}
