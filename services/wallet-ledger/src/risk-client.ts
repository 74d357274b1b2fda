/**
 * Asks the risk service (`POST /assessments` through the platform port) about a movement. Never
 * throws for risk's sake: silence, a timeout, a 5xx (risk's own "not within my budget" 503 included),
 * an open circuit breaker or an answer off the contract all become `unavailable`, and the risk policy
 * decides whether to fail open or closed (`RISK_FAIL_OPEN_BELOW`).
 *
 * One attempt, never retried: the answer is needed now or not at all, and a risk service that sheds
 * load must not get the same work twice. The call's timeout is `RISK_TIMEOUT_MS`, capped by what is
 * left of the transfer's own time budget (the platform's invoke policy), and risk is told that
 * remainder in `x-deadline-ms`. After 5 consecutive timeouts or failures the ledger's breaker for risk
 * opens for 3 s: transfers then skip the wait and go straight to the fail-open/closed decision.
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
  /** The request this assessment belongs to (sent as `x-request-id`, not in the token). */
  requestId?: string | undefined;
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
        // No request id in the token: the same caller's token is then minted once and reused until
        // shortly before it expires (the signer's cache); the id travels in `x-request-id`.
        const token = await deps.signer.sign('risk', {
          sub: caller.sub,
          sid: caller.sid ?? null,
          roles: caller.roles,
          acr: caller.acr,
          ip: caller.ip ?? null,
          deviceId: caller.deviceId ?? null,
          userAgent: caller.userAgent ?? null,
        });
        const response = await deps.platform.invoke({
          appId: 'risk',
          method: 'POST',
          path: '/assessments',
          headers: {
            [INTERNAL_TOKEN_HEADER]: token,
            ...(request.requestId ? { 'x-request-id': request.requestId } : {}),
          },
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
