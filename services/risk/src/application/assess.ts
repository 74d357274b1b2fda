/**
 * One assessment end to end: gather signals (velocity counters from the state store and the user's
 * profile from the database, in parallel), score them with the rules in force, store the outcome (and a
 * flag when it deserves one), answer.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { StateStore } from '@wallet/platform';
import type { Logger } from '@wallet/service-kit';
import { Counter, Histogram, type Registry } from 'prom-client';
import { storeAssessment } from './record-assessment.ts';
import { loadProfileSignals } from '../db/signals.ts';
import type { RiskDatabase } from '../db/schema.ts';
import type { VelocityScope } from '../domain/rules.ts';
import {
  assess,
  shouldFlag,
  type AssessmentFacts,
  type Outcome,
  type Reason,
  type Signals,
} from '../domain/scoring.ts';
import type { VelocityTotals } from '../domain/velocity.ts';
import { recordVelocity, releaseVelocity, velocityKey } from '../state/velocity-counters.ts';
import type { RuleCache } from './rule-cache.ts';

export interface AssessmentResult {
  assessmentId: string;
  decision: Outcome['decision'];
  score: number;
  reasons: Reason[];
  requiredAcr?: 'aal2';
  rulesVersion: string;
  flagId: string | null;
}

export interface AssessmentMetrics {
  decisions: Counter<'action' | 'decision'>;
  duration: Histogram<'action'>;
  counterConflicts: Counter;
}

export function createAssessmentMetrics(registry: Registry): AssessmentMetrics {
  return {
    decisions: new Counter({
      name: 'risk_decisions_total',
      help: 'Assessments answered, by action and decision.',
      labelNames: ['action', 'decision'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'risk_assessment_duration_seconds',
      help: 'Time to assess, store and answer, inside the service.',
      labelNames: ['action'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
    counterConflicts: new Counter({
      name: 'risk_velocity_counter_conflicts_total',
      help: 'Velocity counter writes lost to a concurrent writer and retried (ETag mismatch).',
      registers: [registry],
    }),
  };
}

export interface AssessmentDeps {
  db: Kysely<RiskDatabase>;
  state: StateStore;
  rules: RuleCache;
  logger: Logger;
  metrics: AssessmentMetrics;
  now?: () => Date;
}

/** The caller's claims and the request id, for the stored record. */
export interface AssessmentCaller {
  issuer: string;
  traceparent?: string | undefined;
}

/** For sums of allowed money only: a refused attempt keeps its count but gives its amount back. */
async function releaseRefusedAmount(
  deps: AssessmentDeps,
  facts: AssessmentFacts,
  nowMs: number,
  scopes: readonly VelocityScope[],
): Promise<void> {
  const { amount, currency } = facts;
  if (amount === null || currency === null) return;
  const ids: Record<VelocityScope, string | null> = {
    user: facts.userId,
    device: facts.deviceId,
    ip: facts.ip,
  };
  await Promise.all(
    scopes.map(async (scope) => {
      const id = ids[scope];
      if (id === null) return;
      const { conflicts } = await releaseVelocity(deps.state, velocityKey(scope, id), {
        nowMs,
        currency,
        amount,
      });
      if (conflicts > 0) deps.metrics.counterConflicts.inc(conflicts);
    }),
  );
}

async function velocityFor(
  deps: AssessmentDeps,
  facts: AssessmentFacts,
  nowMs: number,
): Promise<Partial<Record<VelocityScope, VelocityTotals>>> {
  const ids: [VelocityScope, string | null][] = [
    ['user', facts.userId],
    ['device', facts.deviceId],
    ['ip', facts.ip],
  ];
  const event = { nowMs, currency: facts.currency, amount: facts.amount };
  const recorded = await Promise.all(
    ids.map(async ([scope, id]) => {
      if (id === null) return [scope, undefined] as const;
      const result = await recordVelocity(deps.state, velocityKey(scope, id), event);
      if (result.conflicts > 0) deps.metrics.counterConflicts.inc(result.conflicts);
      return [scope, result.totals] as const;
    }),
  );
  const out: Partial<Record<VelocityScope, VelocityTotals>> = {};
  for (const [scope, totals] of recorded) if (totals) out[scope] = totals;
  return out;
}

export async function runAssessment(
  deps: AssessmentDeps,
  facts: AssessmentFacts,
  caller: AssessmentCaller,
): Promise<AssessmentResult> {
  const stopTimer = deps.metrics.duration.startTimer({ action: facts.action });
  const { rules } = await deps.rules.current();
  const now = (deps.now ?? (() => new Date()))();
  const countsVelocity = rules.velocity.enabled && rules.velocity.actions.includes(facts.action);

  const [velocity, profile] = await Promise.all([
    countsVelocity ? velocityFor(deps, facts, now.getTime()) : Promise.resolve({}),
    loadProfileSignals(deps.db, {
      userId: facts.userId,
      currency: facts.currency,
      counterparty: facts.counterparty,
      deviceId: facts.deviceId,
      sessionId: facts.sessionId,
      failedLoginsSince: new Date(now.getTime() - rules.failedLogins.windowMinutes * 60_000),
      refundsSince: new Date(now.getTime() - rules.refundAfterTransfer.windowHours * 3_600_000),
      now,
    }),
  ]);
  const signals: Signals = { now, velocity, ...profile };
  const outcome = assess(facts, signals, rules);
  if (countsVelocity && rules.velocity.sumOf === 'allowed' && outcome.decision !== 'allow') {
    await releaseRefusedAmount(deps, facts, now.getTime(), Object.keys(velocity) as VelocityScope[]);
  }

  const assessmentId = randomUUID();
  const flag = shouldFlag(outcome, rules);
  const flagId = await storeAssessment(
    deps.db,
    {
      id: assessmentId,
      userId: facts.userId,
      action: facts.action,
      amount: facts.amount,
      currency: facts.currency,
      counterparty: facts.counterparty,
      sessionId: facts.sessionId,
      deviceId: facts.deviceId,
      ip: facts.ip,
      caller: caller.issuer,
      acr: facts.acr,
      decision: outcome.decision,
      score: outcome.score,
      reasons: outcome.reasons,
      signals: { ...signals, hits: outcome.hits.map((h) => ({ rule: h.rule, group: h.group, ...h.weight })) },
      rulesVersion: rules.version,
      createdAt: now,
    },
    { flag, flagCooldownMinutes: rules.decision.flagCooldownMinutes, traceparent: caller.traceparent },
  );
  deps.metrics.decisions.inc({ action: facts.action, decision: outcome.decision });
  stopTimer();
  if (outcome.decision !== 'allow') {
    deps.logger.info(
      {
        assessmentId,
        action: facts.action,
        decision: outcome.decision,
        score: outcome.score,
        rules: outcome.hits.map((h) => h.rule),
      },
      'risk decision',
    );
  }
  return {
    assessmentId,
    decision: outcome.decision,
    score: outcome.score,
    reasons: outcome.reasons,
    ...(outcome.requiredAcr ? { requiredAcr: outcome.requiredAcr } : {}),
    rulesVersion: rules.version,
    flagId,
  };
}
