/**
 * The default rule set. Versioned: bump `version` with every change to this file, so every stored
 * assessment names the exact rules that produced it. Admins override values at run time
 * (`PUT /admin/risk/rules`); the overrides are stored, audited and versioned in the database.
 *
 * The policy clients rely on (see README): a transfer or withdrawal of 1,000.00 or more in the platform
 * currency is at least challenged; after a step-up such a transfer of up to 50,000.00 with no other strong
 * signal is allowed; deny needs a combination of strong signals.
 */
import { ruleSetSchema, type RuleSet } from './rules.ts';

const MONEY: RuleSet['amount']['actions'] = ['transfer', 'withdrawal'];

const twoDecimals = { largeAmount: '100000', stepUpCeiling: '5000000', riskyAmountOnNewContext: '50000' };

export const DEFAULT_RULES: RuleSet = ruleSetSchema.parse({
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
      // One IP can be a whole office or a carrier NAT: looser than per user.
      ip: {
        '10m': { maxCount: 50, maxSum: { EUR: '2500000' } },
        '1h': { maxCount: 150, maxSum: { EUR: '7500000' } },
        '24h': { maxCount: 500, maxSum: { EUR: '25000000' } },
      },
    },
    severeFactor: 2,
    exceeded: { score: 30, strong: false, stepUpClears: true },
    severe: { score: 50, strong: true, stepUpClears: false },
  },
  newCounterparty: {
    enabled: true,
    actions: ['transfer', 'withdrawal', 'payout-destination'],
    weight: { score: 15, strong: false, stepUpClears: true },
  },
  newDevice: {
    enabled: true,
    actions: ['transfer', 'withdrawal', 'payout-destination', 'login'],
    weight: { score: 20, strong: true, stepUpClears: true },
    withRiskyAmount: { score: 30, strong: true, stepUpClears: true },
  },
  youngSession: {
    enabled: true,
    actions: MONEY,
    maxAgeMinutes: 10,
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
