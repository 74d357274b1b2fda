/** Builders for scoring tests: a quiet, established user on a known device, and ways to add one signal at a time. */
import type { AssessmentFacts, Signals } from '../../src/domain/scoring.ts';
import type { VelocityTotals } from '../../src/domain/velocity.ts';

export const NOW = new Date('2026-11-25T12:00:00Z');

export function quietTotals(count = 1, sum = 1_000n): VelocityTotals {
  return { '10m': { count, sum }, '1h': { count, sum }, '24h': { count, sum } };
}

export function facts(overrides: Partial<AssessmentFacts> = {}): AssessmentFacts {
  return {
    userId: 'u-1',
    action: 'transfer',
    amount: 1_000n,
    currency: 'EUR',
    counterparty: 'w-friend',
    sessionId: 's-1',
    deviceId: 'd-1',
    ip: '203.0.113.7',
    acr: 'aal1',
    ...overrides,
  };
}

export function signals(overrides: Partial<Signals> = {}): Signals {
  return {
    now: NOW,
    velocity: { user: quietTotals(), device: quietTotals(), ip: quietTotals() },
    counterpartyKnown: true,
    deviceKnown: true,
    sessionCreatedAt: new Date(NOW.getTime() - 3 * 3_600_000),
    sessionOnNewDevice: false,
    // An established user: another device moved money before, and an earlier session exists.
    otherDeviceKnown: true,
    earlierSession: true,
    amountStats: null,
    failedLogins: 0,
    recentRefunds: 0,
    lastDepositAt: null,
    ...overrides,
  };
}
