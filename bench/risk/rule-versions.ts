/**
 * The rule versions the corpus bench compares: the defaults in force (`rules.default.ts`) and the ones
 * before them, kept here as data in today's schema. New knobs take the values that reproduce the old
 * engine: sums of every attempt, per-IP velocity as heavy as per-user, a first device counted as new,
 * a young session counted on any device.
 */
import { DEFAULT_RULES, ruleSetSchema, type RuleSet } from '@wallet/risk/engine';

const twoDecimals = { largeAmount: '100000', stepUpCeiling: '5000000', riskyAmountOnNewContext: '50000' };
const MONEY: RuleSet['amount']['actions'] = ['transfer', 'withdrawal'];

/** The defaults of 2026-11-25 (issue 14 was measured against them). */
export const RULES_2026_11_25_1: RuleSet = ruleSetSchema.parse({
  version: '2026.11.25-1',
  platformCurrency: 'EUR',
  decision: { challengeAt: 50, denyAt: 80, denyMinStrongSignals: 2, flagAt: 70, flagCooldownMinutes: 15 },
  amount: {
    enabled: true,
    actions: MONEY,
    currencies: {
      EUR: twoDecimals,
      USD: twoDecimals,
      GBP: twoDecimals,
      CHF: twoDecimals,
      JPY: { largeAmount: '150000', stepUpCeiling: '7500000', riskyAmountOnNewContext: '75000' },
    },
    large: { score: 40, strong: false, stepUpClears: true },
    aboveCeiling: { score: 30, strong: true, stepUpClears: false },
    unknownCurrency: { score: 40, strong: false, stepUpClears: true },
  },
  velocity: {
    enabled: true,
    actions: MONEY,
    limits: {
      user: {
        '10m': { maxCount: 10, maxSum: { EUR: '500000' } },
        '1h': { maxCount: 30, maxSum: { EUR: '1500000' } },
        '24h': { maxCount: 100, maxSum: { EUR: '5000000' } },
      },
      device: {
        '10m': { maxCount: 10, maxSum: { EUR: '500000' } },
        '1h': { maxCount: 30, maxSum: { EUR: '1500000' } },
        '24h': { maxCount: 100, maxSum: { EUR: '5000000' } },
      },
      ip: {
        '10m': { maxCount: 50, maxSum: { EUR: '2500000' } },
        '1h': { maxCount: 150, maxSum: { EUR: '7500000' } },
        '24h': { maxCount: 500, maxSum: { EUR: '25000000' } },
      },
    },
    severeFactor: 2,
    sumOf: 'attempts',
    exceeded: { score: 30, strong: false, stepUpClears: true },
    severe: { score: 50, strong: true, stepUpClears: false },
    ipExceeded: { score: 30, strong: false, stepUpClears: true },
    ipSevere: { score: 50, strong: true, stepUpClears: false },
  },
  newCounterparty: {
    enabled: true,
    actions: ['transfer', 'withdrawal', 'payout-destination'],
    weight: { score: 15, strong: false, stepUpClears: true },
  },
  newDevice: {
    enabled: true,
    actions: ['transfer', 'withdrawal', 'payout-destination', 'login'],
    onFirstDevice: true,
    weight: { score: 20, strong: true, stepUpClears: true },
    withRiskyAmount: { score: 30, strong: true, stepUpClears: true },
  },
  youngSession: {
    enabled: true,
    actions: MONEY,
    maxAgeMinutes: 10,
    onKnownDevice: true,
    weight: { score: 25, strong: true, stepUpClears: true },
  },
  amountAnomaly: {
    enabled: true,
    actions: MONEY,
    minSamples: 5,
    madMultiplier: 6,
    minRatioToMedian: 3,
    weight: { score: 25, strong: false, stepUpClears: true },
  },
  failedLogins: {
    enabled: true,
    actions: ['transfer', 'withdrawal', 'payout-destination', 'login'],
    windowMinutes: 60,
    threshold: 5,
    weight: { score: 30, strong: true, stepUpClears: true },
  },
  refundAfterTransfer: {
    enabled: true,
    actions: MONEY,
    windowHours: 24,
    threshold: 3,
    weight: { score: 20, strong: false, stepUpClears: false },
  },
  withdrawalAfterDeposit: {
    enabled: true,
    actions: ['withdrawal'],
    windowMinutes: 30,
    weight: { score: 15, strong: false, stepUpClears: true },
  },
});

/** Oldest first; the last one is the defaults in force. */
export const RULE_VERSIONS: readonly RuleSet[] = [RULES_2026_11_25_1, DEFAULT_RULES];
