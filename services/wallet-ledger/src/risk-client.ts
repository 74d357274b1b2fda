/**
 * Asks the risk service (`POST /assessments` through the platform port) about a movement. Never
 * throws for risk's sake: silence, a timeout, a 5xx or an answer off the contract all become
 * `unavailable`, and the risk policy decides whether to fail open or closed.
 */
import { InvocationError, type Platform } from '@wallet/platform';
import type { InternalClaims } from '@wallet/contracts';
import type { InternalTokenSigner } from '@wallet/service-kit';
import { INTERNAL_TOKEN_HEADER } from '@wallet/contracts';
import { z } from 'zod';
import type { RiskOutcome } from './domain/risk-policy.ts';

const assessmentSchema = z.object({
  assessmentId: z.string().min(1),
  decision: z.enum(['allow', 'challenge', 'deny']),
  score: z.number(),
  reasons: z.array(z.object({ rule: z.string(), detail: z.string() })).default([]),
  requiredAcr: z.string().optional(),
});

export interface RiskRequest {
  action: 'transfer' | 'withdrawal';
  amount: bigint;
  currency: string;
  /** The other wallet's id, or the payout destination. */
  counterparty: string;
}

export interface RiskClient {
  assess(caller: InternalClaims, request: RiskRequest): Promise<RiskOutcome>;
}

export function createRiskClient(deps: {
  platform: Platform;
  signer: InternalTokenSigner;
  timeoutMs: number;
}): RiskClient {
  return {
    async assess(caller, request) {
      try {
        const token = await deps.signer.sign('risk', {
          sub: caller.sub,
          sid: caller.sid ?? null,
          roles: caller.roles,
          acr: caller.acr,
          ip: caller.ip ?? null,
          deviceId: caller.deviceId ?? null,
          userAgent: caller.userAgent ?? null,
          ...(caller.requestId ? { requestId: caller.requestId } : {}),
        });
        const response = await deps.platform.invoke({
          appId: 'risk',
          method: 'POST',
          path: '/assessments',
          headers: { [INTERNAL_TOKEN_HEADER]: token },
          body: {
            userId: caller.sub,
            action: request.action,
            amount: request.amount.toString(),
            currency: request.currency,
            counterparty: request.counterparty,
            sessionId: caller.sid ?? null,
            deviceId: caller.deviceId ?? null,
            ip: caller.ip ?? null,
          },
          timeoutMs: deps.timeoutMs,
        });
        if (response.status !== 200)
          return { kind: 'unavailable', reason: `risk answered ${response.status}` };
        const parsed = assessmentSchema.safeParse(response.body);
        if (!parsed.success) return { kind: 'unavailable', reason: 'risk answer off contract' };
        return { kind: 'answered', ...parsed.data };
      } catch (error) {
        if (error instanceof InvocationError) return { kind: 'unavailable', reason: `risk ${error.reason}` };
        return { kind: 'unavailable', reason: 'risk call failed' };
      }
    },
  };
}
