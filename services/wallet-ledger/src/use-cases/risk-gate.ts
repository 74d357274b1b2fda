/**
 * Asks risk about a movement and applies the ledger's policy: returns what to record on the
 * transaction, or throws the typed refusal (step-up, deny, unavailable above the fail-open amount).
 */
import type { InternalClaims } from '@wallet/contracts';
import type { Logger } from '@wallet/service-kit';
import { MovementRefused } from '../domain/movement-refusal.ts';
import { decideRisk, type RiskPolicy, type RiskRecord } from '../domain/risk-policy.ts';
import type { RiskClient, RiskRequest } from '../risk-client.ts';

export interface RiskGateDeps {
  risk: RiskClient;
  policy: RiskPolicy;
  logger: Logger;
  onFailOpen?: () => void;
}

export async function clearWithRisk(
  deps: RiskGateDeps,
  caller: InternalClaims,
  request: RiskRequest,
): Promise<RiskRecord> {
  const outcome = await deps.risk.assess(caller, request);
  const verdict = decideRisk(
    outcome,
    { amount: request.amount, currency: request.currency, callerAcr: caller.acr },
    deps.policy,
  );
  switch (verdict.action) {
    case 'proceed':
      if (verdict.record.failOpen) {
        deps.onFailOpen?.();
        deps.logger.warn(
          { action: request.action, reason: verdict.record.unavailableReason },
          'risk unavailable; failing open below threshold',
        );
      }
      return verdict.record;
    case 'step-up':
      throw new MovementRefused('step-up-required');
    case 'deny':
      throw new MovementRefused('risk-denied', verdict.assessmentId);
    case 'unavailable':
      deps.logger.warn(
        { action: request.action, reason: verdict.reason },
        'risk unavailable; failing closed',
      );
      throw new MovementRefused('risk-unavailable');
  }
}
