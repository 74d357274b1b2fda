/**
 * The rule set as data: which signals exist, what each one scores, and the thresholds that turn a score
 * into a decision. Defaults ship in `rules.default.ts` (versioned); admins layer overrides on top (stored
 * and audited in the database). Everything is parsed here, so a bad override is refused before it is
 * ever used.
 */
import { z } from 'zod';
import { CURRENCY_EXPONENTS } from '@wallet/contracts';

/** A non-negative amount of minor units, kept as a decimal string in JSON (never a float). */
const minorUnits = z.string().regex(/^(0|[1-9][0-9]{0,29})$/, 'decimal string of integer minor units');
const currencyCode = z.string().refine((c) => Object.hasOwn(CURRENCY_EXPONENTS, c), 'unsupported currency');
const score = z.number().int().min(0).max(100);

export const ACTIONS = ['transfer', 'withdrawal', 'refund', 'login', 'payout-destination'] as const;
export type RiskAction = (typeof ACTIONS)[number];
const actionList = z.array(z.enum(ACTIONS));

export const WINDOWS = ['10m', '1h', '24h'] as const;
export type VelocityWindow = (typeof WINDOWS)[number];
export const SCOPES = ['user', 'device', 'ip'] as const;
export type VelocityScope = (typeof SCOPES)[number];

/** What a fired rule contributes: its points, whether it is a strong signal, whether a step-up clears it. */
const signalWeight = z.strictObject({
  score,
  /** Strong signals are the ones whose combination can deny. */
  strong: z.boolean(),
  /** Whether a stepped-up session (acr aal2) neutralises this signal. */
  stepUpClears: z.boolean(),
});

const currencyPolicy = z.strictObject({
  /** At or above: at least a challenge (step-up). */
  largeAmount: minorUnits,
  /** Above: a step-up no longer suffices on its own. */
  stepUpCeiling: minorUnits,
  /** A new device or a young session moving at least this much is a signal. */
  riskyAmountOnNewContext: minorUnits,
});

const windowLimit = z.strictObject({
  maxCount: z.number().int().min(1),
  /** Per currency; a currency without an entry is not sum-limited in this window. */
  maxSum: z.record(currencyCode, minorUnits).default({}),
});

const scopeLimits = z.strictObject({
  '10m': windowLimit,
  '1h': windowLimit,
  '24h': windowLimit,
});

export const ruleSetSchema = z.strictObject({
  version: z.string().min(1).max(64),
  /** The currency the default policy is written in (EUR unless configured). */
  platformCurrency: currencyCode,
  decision: z.strictObject({
    /** Score at or above which a step-up is needed. */
    challengeAt: score,
    /** Score at or above which a combination of strong signals denies. */
    denyAt: score,
    /** Strong signals (distinct rules) needed, with at least one a step-up cannot clear, to deny. */
    denyMinStrongSignals: z.number().int().min(1).max(10),
    /** Score at or above which an anomaly flag is raised (every deny raises one too). */
    flagAt: score,
    /** While a user has an open flag younger than this, further assessments do not raise another. */
    flagCooldownMinutes: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60),
  }),
  amount: z.strictObject({
    enabled: z.boolean(),
    actions: actionList,
    currencies: z.record(currencyCode, currencyPolicy),
    large: signalWeight,
    aboveCeiling: signalWeight,
    /** A currency without a policy is treated as large: fail safe, never silently unlimited. */
    unknownCurrency: signalWeight,
  }),
  velocity: z.strictObject({
    enabled: z.boolean(),
    actions: actionList,
    limits: z.strictObject({ user: scopeLimits, device: scopeLimits, ip: scopeLimits }),
    /** "Far over the limit": this many times a limit or more. */
    severeFactor: z.number().int().min(2).max(100),
    /**
     * What the sums add up: every assessed attempt, or only the amounts the engine allowed. With
     * `allowed`, a challenged transfer retried after a step-up counts once, and money that was refused
     * (it never left) does not push the user towards a limit. Counts always count every attempt.
     */
    sumOf: z.enum(['attempts', 'allowed']),
    /** Over a user or device limit, and far over it. */
    exceeded: signalWeight,
    severe: signalWeight,
    /** Over an IP limit, and far over it: an address is often shared (office, carrier NAT), so weaker. */
    ipExceeded: signalWeight,
    ipSevere: signalWeight,
  }),
  newCounterparty: z.strictObject({ enabled: z.boolean(), actions: actionList, weight: signalWeight }),
  newDevice: z.strictObject({
    enabled: z.boolean(),
    actions: actionList,
    /**
     * Whether a user's first device counts as new. When false, a device is new only against a history:
     * another device that moved money, or (for identity's "new device" session flag) an earlier session.
     */
    onFirstDevice: z.boolean(),
    /** A device never seen in this user's completed money movements. */
    weight: signalWeight,
    /** The same, moving at least `riskyAmountOnNewContext`. */
    withRiskyAmount: signalWeight,
  }),
  youngSession: z.strictObject({
    enabled: z.boolean(),
    actions: actionList,
    maxAgeMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
    /**
     * Whether a young session counts on a device that is not new. People open the app to pay: a thief
     * who just signed in does so on a new device, which is what makes a young session suspicious.
     */
    onKnownDevice: z.boolean(),
    weight: signalWeight,
  }),
  amountAnomaly: z.strictObject({
    enabled: z.boolean(),
    actions: actionList,
    /** History needed before the user's own statistic is trusted. */
    minSamples: z.number().int().min(3).max(1000),
    /** Fires when amount > median + madMultiplier x MAD ... */
    madMultiplier: z.number().int().min(1).max(1000),
    /** ... and amount >= minRatioToMedian x median (guards users whose amounts never vary). */
    minRatioToMedian: z.number().int().min(1).max(1000),
    weight: signalWeight,
  }),
  failedLogins: z.strictObject({
    enabled: z.boolean(),
    actions: actionList,
    windowMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
    threshold: z.number().int().min(1),
    weight: signalWeight,
  }),
  refundAfterTransfer: z.strictObject({
    enabled: z.boolean(),
    actions: actionList,
    windowHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 30),
    /** Refunds of this user's transfers (either side) within the window. */
    threshold: z.number().int().min(1),
    weight: signalWeight,
  }),
  withdrawalAfterDeposit: z.strictObject({
    enabled: z.boolean(),
    actions: actionList,
    windowMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
    weight: signalWeight,
  }),
});

export type RuleSet = z.infer<typeof ruleSetSchema>;
export type SignalWeight = z.infer<typeof signalWeight>;
export type CurrencyPolicy = z.infer<typeof currencyPolicy>;

/** Overrides: any subset of the rule set (objects merge key by key; arrays and scalars replace). */
export type RuleOverrides = Record<string, unknown>;

export const ruleOverridesSchema = z
  .record(z.string(), z.unknown())
  .refine(
    (o) => !('version' in o),
    'the version belongs to the defaults file; overrides are versioned by the database',
  );

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    out[key] = key in base ? deepMerge(base[key], value) : value;
  }
  return out;
}

export class InvalidRuleOverridesError extends Error {
  override name = 'InvalidRuleOverridesError';
  readonly issues: { path: string; message: string }[];
  constructor(issues: { path: string; message: string }[]) {
    super(`invalid rule overrides: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/**
 * The promise of the rules file, as a check on the limits: a single transfer within the step-up ceiling
 * is never by itself a velocity violation, even counted twice (challenged, then retried after the
 * step-up) when sums add up every attempt. So every sum limit is at least the ceiling (twice it with
 * `sumOf: 'attempts'`), and every count limit lets an attempt and its retry through.
 */
export function stepUpPromiseViolations(rules: RuleSet): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const attemptsPerTransfer = rules.velocity.sumOf === 'attempts' ? 2n : 1n;
  for (const scope of SCOPES) {
    for (const window of WINDOWS) {
      const limit = rules.velocity.limits[scope][window];
      const path = `velocity.limits.${scope}.${window}`;
      if (limit.maxCount < 2) {
        issues.push({
          path: `${path}.maxCount`,
          message: 'must let a challenged attempt and its retry through (>= 2)',
        });
      }
      for (const [currency, policy] of Object.entries(rules.amount.currencies)) {
        const maxSum = limit.maxSum[currency];
        if (maxSum === undefined) continue;
        const floor = BigInt(policy.stepUpCeiling) * attemptsPerTransfer;
        if (BigInt(maxSum) < floor) {
          issues.push({
            path: `${path}.maxSum.${currency}`,
            message: `must be >= ${floor} (a single transfer within the step-up ceiling is never a velocity violation)`,
          });
        }
      }
    }
  }
  return issues;
}

/** The effective rule set: defaults with overrides applied, validated as a whole. */
export function applyOverrides(
  defaults: RuleSet,
  overrides: RuleOverrides,
  overrideVersion: string | null,
): RuleSet {
  const merged = deepMerge(defaults, overrides);
  const parsed = ruleSetSchema.safeParse(
    isPlainObject(merged) ? { ...merged, version: defaults.version } : merged,
  );
  if (!parsed.success) {
    throw new InvalidRuleOverridesError(
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  const rules = parsed.data;
  const issues = [...stepUpPromiseViolations(rules)];
  if (rules.decision.denyAt < rules.decision.challengeAt) {
    issues.unshift({ path: 'decision.denyAt', message: 'must be >= decision.challengeAt' });
  }
  if (issues.length > 0) throw new InvalidRuleOverridesError(issues);
  return {
    ...rules,
    version: overrideVersion ? `${defaults.version}+override.${overrideVersion}` : defaults.version,
  };
}
