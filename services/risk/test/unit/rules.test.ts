import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/domain/rules.default.ts';
import {
  applyOverrides,
  InvalidRuleOverridesError,
  ruleSetSchema,
  stepUpPromiseViolations,
} from '../../src/domain/rules.ts';

describe('rules as data', () => {
  it('the defaults file is valid and versioned', () => {
    expect(ruleSetSchema.parse(DEFAULT_RULES)).toEqual(DEFAULT_RULES);
    expect(DEFAULT_RULES.version).toMatch(/^\d{4}\.\d{2}\.\d{2}-\d+$/);
    expect(DEFAULT_RULES.amount.currencies[DEFAULT_RULES.platformCurrency]).toMatchObject({
      largeAmount: '100000',
      stepUpCeiling: '5000000',
    });
  });

  it('overrides merge into the defaults and name their version', () => {
    const merged = applyOverrides(
      DEFAULT_RULES,
      { velocity: { limits: { user: { '10m': { maxCount: 3 } } } } },
      '7',
    );
    expect(merged.velocity.limits.user['10m']).toEqual({
      maxCount: 3,
      maxSum: DEFAULT_RULES.velocity.limits.user['10m'].maxSum,
    });
    expect(merged.velocity.limits.user['1h']).toEqual(DEFAULT_RULES.velocity.limits.user['1h']);
    expect(merged.version).toBe(`${DEFAULT_RULES.version}+override.7`);
  });

  it('refuses unknown keys, bad values and inconsistent thresholds, naming the field', () => {
    const refuse = (o: Record<string, unknown>) => {
      try {
        applyOverrides(DEFAULT_RULES, o, null);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidRuleOverridesError);
        return (error as InvalidRuleOverridesError).issues.map((i) => i.path);
      }
      throw new Error('accepted');
    };
    expect(refuse({ decision: { chalengeAt: 10 } })).toEqual(['decision']);
    expect(refuse({ amount: { currencies: { EUR: { largeAmount: '10.50' } } } })).toEqual([
      'amount.currencies.EUR.largeAmount',
    ]);
    expect(refuse({ decision: { challengeAt: 90, denyAt: 60 } })).toEqual(['decision.denyAt']);
    expect(
      refuse({
        amount: {
          currencies: { XXX: { largeAmount: '1', stepUpCeiling: '2', riskyAmountOnNewContext: '1' } },
        },
      }).length,
    ).toBe(1);
  });

  it('refuses limits under which a single transfer within the step-up ceiling is a velocity violation', () => {
    expect(stepUpPromiseViolations(DEFAULT_RULES)).toEqual([]);
    const refuse = (o: Record<string, unknown>) => {
      try {
        applyOverrides(DEFAULT_RULES, o, null);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidRuleOverridesError);
        return (error as InvalidRuleOverridesError).issues.map((i) => i.path);
      }
      throw new Error('accepted');
    };
    // The limit of the rules before 2026.11.28: 5,000.00 per 10 min, a tenth of the ceiling.
    expect(refuse({ velocity: { limits: { user: { '10m': { maxSum: { EUR: '500000' } } } } } })).toEqual([
      'velocity.limits.user.10m.maxSum.EUR',
    ]);
    expect(refuse({ velocity: { limits: { ip: { '1h': { maxCount: 1 } } } } })).toEqual([
      'velocity.limits.ip.1h.maxCount',
    ]);
    // Counting every attempt, a challenged transfer and its retry both count: twice the ceiling is needed.
    expect(refuse({ velocity: { sumOf: 'attempts' } })).toContain('velocity.limits.user.10m.maxSum.EUR');
    expect(() =>
      applyOverrides(
        DEFAULT_RULES,
        { velocity: { limits: { user: { '10m': { maxSum: { EUR: '5000000' } } } } } },
        null,
      ),
    ).not.toThrow();
  });

  it('ignores prototype keys', () => {
    const merged = applyOverrides(
      DEFAULT_RULES,
      JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>,
      null,
    );
    expect((merged as unknown as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
