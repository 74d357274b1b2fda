/**
 * The default rule set. Versioned: bump `version` with every change to this file, so every stored
 * assessment names the exact rules that produced it. Admins override values at run time
 * (`PUT /admin/risk/rules`); the overrides are stored, audited and versioned in the database.
 *
 * The policy clients rely on (see README): a transfer or withdrawal of 1,000.00 or more in the platform
 * currency is at least challenged; after a step-up such a transfer of up to 50,000.00 with no other strong
 * signal is allowed; deny needs a combination of strong signals. A single transfer within the step-up
 * ceiling is never by itself a velocity violation (`stepUpPromiseViolations` refuses limits that would
 * break this), a shared address is normal (per-IP velocity is a weak signal), and a person's first device
 * is not suspicious. Measured on an ordinary and an attack corpus: `node bench/risk/corpus.ts`.
 *
 * 2026.11.28-1 (from 2026.11.25-1): sums count allowed money only; user/device sum limits at the
 * ceiling instead of a tenth of it, count limits 5/20/60, over one scores 35 (a challenge with a new payee); per-IP velocity
 * weak (10/15, never strong); new-device only against a history (35/40); young-session only on a new
 * device; refund-after-transfer strong and not cleared by a step-up (35).
 */
import { ruleSetSchema, type RuleSet } from './rules.ts';

const MONEY: RuleSet['amount']['actions'] = ['transfer', 'withdrawal'];

const twoDecimals = { largeAmount: '100000', stepUpCeiling: '5000000', riskyAmountOnNewContext: '50000' };

/** Per user and per device: a few payments in a row are normal, a burst is not. */
const personLimits = {
  '10m': { maxCount: 5, maxSum: { EUR: '5000000' } },
  '1h': { maxCount: 20, maxSum: { EUR: '10000000' } },
  '24h': { maxCount: 60, maxSum: { EUR: '20000000' } },
};

export const DEFAULT_RULES: RuleSet = ruleSetSchema.parse({
  version: '2026.11.28-1',
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
      user: personLimits,
      device: personLimits,
      // One address can be a whole office or a carrier NAT: far looser, and only a weak signal.
      ip: {
        '10m': { maxCount: 200, maxSum: { EUR: '25000000' } },
        '1h': { maxCount: 1000, maxSum: { EUR: '100000000' } },
        '24h': { maxCount: 5000, maxSum: { EUR: '500000000' } },
      },
    },
    severeFactor: 2,
    sumOf: 'allowed',
    // Over a limit with a new payee reaches a challenge (paying one friend back eight times does not);
    // far over it is strong, and a step-up cannot clear it.
    exceeded: { score: 35, strong: false, stepUpClears: true },
    severe: { score: 50, strong: true, stepUpClears: false },
    ipExceeded: { score: 10, strong: false, stepUpClears: true },
    ipSevere: { score: 15, strong: false, stepUpClears: true },
  },
  newCounterparty: {
    enabled: true,
    actions: ['transfer', 'withdrawal', 'payout-destination'],
    weight: { score: 15, strong: false, stepUpClears: true },
  },
  newDevice: {
    enabled: true,
    actions: ['transfer', 'withdrawal', 'payout-destination', 'login'],
    onFirstDevice: false,
    // With a new payee, a challenge at any amount: the shape of an account takeover.
    weight: { score: 35, strong: true, stepUpClears: true },
    withRiskyAmount: { score: 40, strong: true, stepUpClears: true },
  },
  youngSession: {
    enabled: true,
    actions: MONEY,
    maxAgeMinutes: 10,
    // Paying right after signing in is what people do; right after signing in on a new device is not.
    onKnownDevice: false,
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
    // The abuser owns the account (and its second factor): a step-up proves nothing here.
    weight: { score: 35, strong: true, stepUpClears: false },
  },
  withdrawalAfterDeposit: {
    enabled: true,
    actions: ['withdrawal'],
    windowMinutes: 30,
    weight: { score: 15, strong: false, stepUpClears: true },
  },
});
