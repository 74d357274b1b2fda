/**
 * The risk decision as a pure function: rules fire on signals, each fired rule (a "hit") explains
 * itself, scores combine into a decision through the thresholds of the rule set. No I/O here: the
 * signals are gathered by the caller (state store and database) and handed in.
 *
 * Decision, in order:
 * 1. deny    when the score reaches `denyAt`, at least `denyMinStrongSignals` distinct strong signals
 *            fired, and at least one of them is one a step-up cannot clear;
 * 2. allow   when nothing asks for a step-up (score below `challengeAt`, no rule demanding one);
 * 3. challenge (requiredAcr aal2) when the session has not stepped up;
 * 4. for a stepped-up session: allow when every strong signal is one a step-up clears, deny otherwise
 *    (asking for a step-up the session already has would only loop).
 */
import { formatForDisplay, type CurrencyCode } from '@wallet/contracts';
import { isFarAboveHistory } from './amount-stats.ts';
import {
  SCOPES,
  WINDOWS,
  type RiskAction,
  type RuleSet,
  type SignalWeight,
  type VelocityScope,
} from './rules.ts';
import type { VelocityTotals } from './velocity.ts';

export type Decision = 'allow' | 'challenge' | 'deny';
export type Acr = 'aal1' | 'aal2';

export interface AssessmentFacts {
  userId: string;
  action: RiskAction;
  amount: bigint | null;
  currency: CurrencyCode | null;
  counterparty: string | null;
  sessionId: string | null;
  deviceId: string | null;
  ip: string | null;
  acr: Acr;
}

/** What the service knows about the user and the context when the request arrives. */
export interface Signals {
  now: Date;
  /** Totals including this request, per scope that had an id (user always; device, ip when given). */
  velocity: Partial<Record<VelocityScope, VelocityTotals>>;
  /** null when the request names no counterparty. */
  counterpartyKnown: boolean | null;
  /** null when the request names no device. */
  deviceKnown: boolean | null;
  /** When identity reported the session; null when unknown. */
  sessionCreatedAt: Date | null;
  /** identity said the session was opened from a device it had not seen. */
  sessionOnNewDevice: boolean;
  /** The user moved money from a device other than this one before: an unknown device is new against it. */
  otherDeviceKnown: boolean;
  /** The user had a session that began before this one: identity's "new device" flag is new against it. */
  earlierSession: boolean;
  /** Robust statistic of the user's outgoing amounts in this currency, when any. */
  amountStats: { samples: number; median: bigint; mad: bigint } | null;
  /** Failed logins of the user within `failedLogins.windowMinutes`. */
  failedLogins: number;
  /** Refunds of the user's transfers (paid or received) within `refundAfterTransfer.windowHours`. */
  recentRefunds: number;
  /** The user's latest deposit, when any. */
  lastDepositAt: Date | null;
}

export interface Reason {
  rule: string;
  detail: string;
}

export interface RuleHit extends Reason {
  /** Hits of one group count once (the highest score), e.g. velocity over user, device and IP. */
  group: string;
  weight: SignalWeight;
  /** The policy demands a step-up regardless of the score (large amounts). */
  requiresStepUp: boolean;
}

export interface Outcome {
  decision: Decision;
  score: number;
  reasons: Reason[];
  requiredAcr?: 'aal2';
  hits: RuleHit[];
}

function money(amount: bigint, currency: CurrencyCode | null): string {
  return currency ? formatForDisplay(amount, currency) : amount.toString();
}

function applies(rule: { enabled: boolean; actions: readonly RiskAction[] }, action: RiskAction): boolean {
  return rule.enabled && rule.actions.includes(action);
}

function hit(
  rule: string,
  detail: string,
  weight: SignalWeight,
  extra: Partial<Pick<RuleHit, 'group' | 'requiresStepUp'>> = {},
): RuleHit {
  return { rule, detail, weight, group: extra.group ?? rule, requiresStepUp: extra.requiresStepUp ?? false };
}

function amountHits(facts: AssessmentFacts, rules: RuleSet): RuleHit[] {
  const { amount, currency } = facts;
  if (!applies(rules.amount, facts.action) || amount === null || currency === null) return [];
  const policy = rules.amount.currencies[currency];
  if (!policy) {
    return [
      hit(
        'amount-unknown-currency',
        `No amount policy is configured for ${currency}; every ${facts.action} in it needs a step-up.`,
        rules.amount.unknownCurrency,
        {
          group: 'amount',
          requiresStepUp: true,
        },
      ),
    ];
  }
  const hits: RuleHit[] = [];
  const large = BigInt(policy.largeAmount);
  const ceiling = BigInt(policy.stepUpCeiling);
  if (amount >= large) {
    hits.push(
      hit(
        'amount-large',
        `${money(amount, currency)} is at or above ${money(large, currency)}: a step-up is required.`,
        rules.amount.large,
        {
          requiresStepUp: true,
        },
      ),
    );
  }
  if (amount > ceiling) {
    hits.push(
      hit(
        'amount-above-step-up-ceiling',
        `${money(amount, currency)} is above ${money(ceiling, currency)}, more than a step-up alone can approve.`,
        rules.amount.aboveCeiling,
        {
          requiresStepUp: true,
        },
      ),
    );
  }
  return hits;
}

function velocityHits(facts: AssessmentFacts, signals: Signals, rules: RuleSet): RuleHit[] {
  if (!applies(rules.velocity, facts.action)) return [];
  const hits: RuleHit[] = [];
  const factor = rules.velocity.severeFactor;
  for (const scope of SCOPES) {
    const totals = signals.velocity[scope];
    if (!totals) continue;
    const over: string[] = [];
    let severe = false;
    for (const window of WINDOWS) {
      const limit = rules.velocity.limits[scope][window];
      const { count, sum } = totals[window];
      if (count > limit.maxCount) {
        over.push(`${count} requests in ${window} (limit ${limit.maxCount})`);
        if (count >= factor * limit.maxCount) severe = true;
      }
      const maxSum = facts.currency ? limit.maxSum[facts.currency] : undefined;
      if (maxSum !== undefined && sum > BigInt(maxSum)) {
        over.push(
          `${money(sum, facts.currency)} in ${window} (limit ${money(BigInt(maxSum), facts.currency)})`,
        );
        if (sum >= BigInt(factor) * BigInt(maxSum)) severe = true;
      }
    }
    if (over.length === 0) continue;
    const label = severe ? 'far over its velocity limits' : 'over its velocity limits';
    const { exceeded, severe: farOver, ipExceeded, ipSevere } = rules.velocity;
    const weight = scope === 'ip' ? (severe ? ipSevere : ipExceeded) : severe ? farOver : exceeded;
    hits.push(
      hit(`velocity-${scope}`, `This ${scope} is ${label}: ${over.join('; ')}.`, weight, {
        group: 'velocity',
      }),
    );
  }
  return hits;
}

function riskyOnNewContext(facts: AssessmentFacts, rules: RuleSet): boolean {
  if (facts.amount === null || facts.currency === null) return false;
  const policy = rules.amount.currencies[facts.currency];
  // No policy for the currency: fail safe, every amount counts as risky.
  return !policy || facts.amount >= BigInt(policy.riskyAmountOnNewContext);
}

/**
 * A device is new against the user's history: unknown to the money movements while another device is
 * known, or opened a session identity saw as a new device while an earlier session exists. A person's
 * first device has no history to be new against (unless `onFirstDevice` says otherwise).
 */
function isNewDevice(signals: Signals, rules: RuleSet): boolean {
  const first = rules.newDevice.onFirstDevice;
  const unknownToMoney = signals.deviceKnown === false && (first || signals.otherDeviceKnown);
  // Once money has moved from the device, identity's "new device" for its first session is old news.
  const newToIdentity =
    signals.sessionOnNewDevice && (first || (signals.earlierSession && signals.deviceKnown !== true));
  return unknownToMoney || newToIdentity;
}

function contextHits(facts: AssessmentFacts, signals: Signals, rules: RuleSet): RuleHit[] {
  const hits: RuleHit[] = [];
  const newDevice = isNewDevice(signals, rules);
  if (applies(rules.newCounterparty, facts.action) && signals.counterpartyKnown === false) {
    hits.push(
      hit('new-counterparty', `First ${facts.action} to this counterparty.`, rules.newCounterparty.weight),
    );
  }
  if (applies(rules.newDevice, facts.action) && newDevice) {
    const risky = riskyOnNewContext(facts, rules);
    hits.push(
      hit(
        'new-device',
        risky
          ? `A device this user has not moved money from before, moving ${money(facts.amount ?? 0n, facts.currency)}.`
          : 'A device this user has not moved money from before.',
        risky ? rules.newDevice.withRiskyAmount : rules.newDevice.weight,
      ),
    );
  }
  if (
    applies(rules.youngSession, facts.action) &&
    signals.sessionCreatedAt &&
    (newDevice || rules.youngSession.onKnownDevice) &&
    riskyOnNewContext(facts, rules)
  ) {
    const ageMs = signals.now.getTime() - signals.sessionCreatedAt.getTime();
    if (ageMs < rules.youngSession.maxAgeMinutes * 60_000) {
      const minutes = Math.max(0, Math.floor(ageMs / 60_000));
      hits.push(
        hit(
          'young-session',
          `The session is ${minutes} min old (under ${rules.youngSession.maxAgeMinutes} min) and moves ${money(facts.amount ?? 0n, facts.currency)}.`,
          rules.youngSession.weight,
        ),
      );
    }
  }
  return hits;
}

function historyHits(facts: AssessmentFacts, signals: Signals, rules: RuleSet): RuleHit[] {
  const hits: RuleHit[] = [];
  const anomaly = rules.amountAnomaly;
  const stats = signals.amountStats;
  if (
    applies(anomaly, facts.action) &&
    facts.amount !== null &&
    stats &&
    stats.samples >= anomaly.minSamples
  ) {
    if (isFarAboveHistory(facts.amount, stats, anomaly.madMultiplier, anomaly.minRatioToMedian)) {
      hits.push(
        hit(
          'amount-anomaly',
          `${money(facts.amount, facts.currency)} is far above this user's usual amounts (median ${money(stats.median, facts.currency)} over ${stats.samples} recent payments).`,
          anomaly.weight,
        ),
      );
    }
  }
  const logins = rules.failedLogins;
  if (applies(logins, facts.action) && signals.failedLogins >= logins.threshold) {
    hits.push(
      hit(
        'failed-logins',
        `${signals.failedLogins} failed logins in the last ${logins.windowMinutes} min.`,
        logins.weight,
      ),
    );
  }
  const refunds = rules.refundAfterTransfer;
  if (applies(refunds, facts.action) && signals.recentRefunds >= refunds.threshold) {
    hits.push(
      hit(
        'refund-after-transfer',
        `${signals.recentRefunds} of this user's transfers were refunded in the last ${refunds.windowHours} h.`,
        refunds.weight,
      ),
    );
  }
  const cashOut = rules.withdrawalAfterDeposit;
  if (applies(cashOut, facts.action) && signals.lastDepositAt) {
    const ageMs = signals.now.getTime() - signals.lastDepositAt.getTime();
    if (ageMs >= 0 && ageMs < cashOut.windowMinutes * 60_000) {
      hits.push(
        hit(
          'withdrawal-after-deposit',
          `A deposit arrived ${Math.floor(ageMs / 60_000)} min before this withdrawal.`,
          cashOut.weight,
        ),
      );
    }
  }
  return hits;
}

/** Every rule that fires for these facts and signals, each with its explanation. */
export function evaluateRules(facts: AssessmentFacts, signals: Signals, rules: RuleSet): RuleHit[] {
  return [
    ...amountHits(facts, rules),
    ...velocityHits(facts, signals, rules),
    ...contextHits(facts, signals, rules),
    ...historyHits(facts, signals, rules),
  ];
}

/** Sum of the highest score per group, capped at 100. */
export function combineScore(hits: readonly RuleHit[]): number {
  const best = new Map<string, number>();
  for (const h of hits) best.set(h.group, Math.max(best.get(h.group) ?? 0, h.weight.score));
  let total = 0;
  for (const s of best.values()) total += s;
  return Math.min(100, total);
}

function ruleNames(hits: readonly RuleHit[]): string {
  return [...new Set(hits.map((h) => h.rule))].join(', ');
}

export function decide(facts: AssessmentFacts, hits: RuleHit[], rules: RuleSet): Outcome {
  const score = combineScore(hits);
  const reasons: Reason[] = hits.map(({ rule, detail }) => ({ rule, detail }));
  const strong = hits.filter((h) => h.weight.strong);
  const strongGroups = new Set(strong.map((h) => h.group)).size;
  const uncleared = strong.filter((h) => !h.weight.stepUpClears);
  const { challengeAt, denyAt, denyMinStrongSignals } = rules.decision;

  if (score >= denyAt && strongGroups >= denyMinStrongSignals && uncleared.length > 0) {
    return { decision: 'deny', score, reasons, hits };
  }
  const needsStepUp = score >= challengeAt || hits.some((h) => h.requiresStepUp);
  if (!needsStepUp) return { decision: 'allow', score, reasons, hits };
  if (facts.acr !== 'aal2') return { decision: 'challenge', score, reasons, requiredAcr: 'aal2', hits };
  if (uncleared.length === 0) {
    reasons.push({
      rule: 'step-up-satisfied',
      detail: 'The session has stepped up (aal2), which clears these signals.',
    });
    return { decision: 'allow', score, reasons, hits };
  }
  reasons.push({
    rule: 'step-up-insufficient',
    detail: `The session has already stepped up, but a step-up cannot clear: ${ruleNames(uncleared)}.`,
  });
  return { decision: 'deny', score, reasons, hits };
}

export function assess(facts: AssessmentFacts, signals: Signals, rules: RuleSet): Outcome {
  return decide(facts, evaluateRules(facts, signals, rules), rules);
}

/** Whether an outcome deserves an anomaly flag (every deny, and high scores). */
export function shouldFlag(outcome: Pick<Outcome, 'decision' | 'score'>, rules: RuleSet): boolean {
  return outcome.decision === 'deny' || outcome.score >= rules.decision.flagAt;
}
