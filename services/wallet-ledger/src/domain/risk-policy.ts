/**
 * What the ledger does with the risk service's answer (or its silence). Pure: the HTTP call lives in
 * `src/risk-client.ts`.
 */
export type RiskDecision = 'allow' | 'challenge' | 'deny';

export type RiskOutcome =
  | {
      kind: 'answered';
      assessmentId: string;
      decision: RiskDecision;
      score: number;
      reasons: { rule: string; detail: string }[];
      requiredAcr?: string | undefined;
    }
  | { kind: 'unavailable'; reason: string };

/** Stored on the transaction (`transactions.risk`) so every movement says how risk was consulted. */
export interface RiskRecord {
  assessmentId: string | null;
  decision: RiskDecision | null;
  score: number | null;
  /** The movement went ahead although risk did not answer (amount below the fail-open threshold). */
  failOpen: boolean;
  unavailableReason?: string;
  /** A challenge was satisfied by the caller's stepped-up session. */
  steppedUp: boolean;
}

export type RiskVerdict =
  | { action: 'proceed'; record: RiskRecord }
  | { action: 'step-up'; assessmentId: string }
  | { action: 'deny'; assessmentId: string; reasons: { rule: string; detail: string }[] }
  | { action: 'unavailable'; reason: string };

export interface RiskPolicy {
  platformCurrency: string;
  /** Amounts strictly below this, in the platform currency, fail open. */
  failOpenBelow: bigint;
}

export function decideRisk(
  outcome: RiskOutcome,
  movement: { amount: bigint; currency: string; callerAcr: 'aal1' | 'aal2' },
  policy: RiskPolicy,
): RiskVerdict {
  if (outcome.kind === 'unavailable') {
    const failOpen = movement.currency === policy.platformCurrency && movement.amount < policy.failOpenBelow;
    if (!failOpen) return { action: 'unavailable', reason: outcome.reason };
    return {
      action: 'proceed',
      record: {
        assessmentId: null,
        decision: null,
        score: null,
        failOpen: true,
        unavailableReason: outcome.reason,
        steppedUp: false,
      },
    };
  }
  const base = {
    assessmentId: outcome.assessmentId,
    decision: outcome.decision,
    score: outcome.score,
    failOpen: false,
  };
  switch (outcome.decision) {
    case 'allow':
      return { action: 'proceed', record: { ...base, steppedUp: false } };
    case 'challenge':
      // aal2 is the highest assurance the platform issues, so it satisfies any requiredAcr.
      if (movement.callerAcr === 'aal2') return { action: 'proceed', record: { ...base, steppedUp: true } };
      return { action: 'step-up', assessmentId: outcome.assessmentId };
    case 'deny':
      return { action: 'deny', assessmentId: outcome.assessmentId, reasons: outcome.reasons };
  }
}
