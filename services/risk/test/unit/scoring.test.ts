import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_RULES } from '../../src/domain/rules.default.ts';
import { applyOverrides } from '../../src/domain/rules.ts';
import { assess, combineScore, shouldFlag, type Outcome } from '../../src/domain/scoring.ts';
import { facts, NOW, quietTotals, signals } from './fixtures.ts';

const rules = DEFAULT_RULES;
const rulesFired = (o: Outcome) => o.reasons.map((r) => r.rule);

describe('a quiet user', () => {
  it('is allowed with no reasons', () => {
    const outcome = assess(facts(), signals(), rules);
    expect(outcome).toMatchObject({ decision: 'allow', score: 0, reasons: [] });
    expect(outcome.requiredAcr).toBeUndefined();
  });
});

describe('each rule alone', () => {
  it('amount-large: 1,000.00 EUR is challenged with requiredAcr aal2; 999.99 is not', () => {
    const at = assess(facts({ amount: 100_000n }), signals(), rules);
    expect(at).toMatchObject({ decision: 'challenge', requiredAcr: 'aal2' });
    expect(rulesFired(at)).toEqual(['amount-large']);
    expect(at.reasons[0]!.detail).toContain('1000.00 EUR');
    expect(assess(facts({ amount: 99_999n }), signals(), rules).decision).toBe('allow');
  });

  it('amount-large applies to withdrawals too, not to logins', () => {
    expect(assess(facts({ action: 'withdrawal', amount: 250_000n }), signals(), rules).decision).toBe(
      'challenge',
    );
    expect(assess(facts({ action: 'login', amount: null, currency: null }), signals(), rules).decision).toBe(
      'allow',
    );
  });

  it('amount-unknown-currency: a currency without a policy always needs a step-up', () => {
    const outcome = assess(facts({ currency: 'SEK', amount: 1n }), signals({ amountStats: null }), rules);
    expect(outcome.decision).toBe('challenge');
    expect(rulesFired(outcome)).toContain('amount-unknown-currency');
  });

  it('velocity: over a limit scores, far over it is a strong signal', () => {
    const over = assess(facts(), signals({ velocity: { user: quietTotals(6) } }), rules);
    expect(rulesFired(over)).toEqual(['velocity-user']);
    expect(over.score).toBe(rules.velocity.exceeded.score);
    expect(over.reasons[0]!.detail).toContain('6 requests in 10m (limit 5)');
    // Paying a friend back again and again is allowed; a burst to new payees is challenged.
    expect(over.decision).toBe('allow');
    expect(
      assess(facts(), signals({ velocity: { user: quietTotals(6) }, counterpartyKnown: false }), rules)
        .decision,
    ).toBe('challenge');

    const far = assess(facts(), signals({ velocity: { user: quietTotals(10) } }), rules);
    expect(far.reasons[0]!.detail).toContain('far over');
    expect(far.score).toBe(rules.velocity.severe.score);
    expect(far.decision).toBe('challenge');
    expect(
      assess(facts({ acr: 'aal2' }), signals({ velocity: { user: quietTotals(10) } }), rules).decision,
    ).toBe('deny');
  });

  it('velocity: the sum per currency counts as well as the count', () => {
    const outcome = assess(facts(), signals({ velocity: { user: quietTotals(2, 5_000_001n) } }), rules);
    expect(outcome.reasons[0]!.detail).toContain('50000.01 EUR in 10m (limit 50000.00 EUR)');
  });

  it('velocity over user, device and IP at once counts once (the worst)', () => {
    const outcome = assess(
      facts(),
      signals({ velocity: { user: quietTotals(6), device: quietTotals(6), ip: quietTotals(201) } }),
      rules,
    );
    expect(rulesFired(outcome)).toEqual(['velocity-user', 'velocity-device', 'velocity-ip']);
    expect(outcome.score).toBe(rules.velocity.exceeded.score);
  });

  it('velocity-ip is a weak signal: even far over its limits, an office behind one address is allowed', () => {
    const outcome = assess(
      facts(),
      signals({ velocity: { user: quietTotals(), ip: quietTotals(5_000) } }),
      rules,
    );
    expect(rulesFired(outcome)).toEqual(['velocity-ip']);
    expect(outcome.reasons[0]!.detail).toContain('far over');
    expect(outcome.decision).toBe('allow');
    expect(rules.velocity.ipSevere.strong).toBe(false);
  });

  it('a single transfer within the step-up ceiling is never by itself a velocity violation', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 5_000_000n }), (amount) => {
        // The transfer alone in every window (its count may include the challenged first attempt).
        const totals = quietTotals(2, amount);
        const outcome = assess(
          facts({ amount }),
          signals({ velocity: { user: totals, device: totals, ip: totals } }),
          rules,
        );
        expect(outcome.hits.filter((h) => h.group === 'velocity')).toEqual([]);
      }),
    );
  });

  it('new-counterparty: the first transfer to someone is noted but allowed', () => {
    const outcome = assess(facts(), signals({ counterpartyKnown: false }), rules);
    expect(rulesFired(outcome)).toEqual(['new-counterparty']);
    expect(outcome.decision).toBe('allow');
  });

  it('new-device: a first device is not new; a device is new against a history', () => {
    const firstDevice = { otherDeviceKnown: false, earlierSession: false };
    // The user's first session (identity marks every first session "new device") and first payments.
    expect(
      assess(facts(), signals({ ...firstDevice, deviceKnown: false, sessionOnNewDevice: true }), rules)
        .reasons,
    ).toEqual([]);
    // Another device moved money before: this unknown one is new.
    expect(
      rulesFired(
        assess(facts(), signals({ ...firstDevice, deviceKnown: false, otherDeviceKnown: true }), rules),
      ),
    ).toEqual(['new-device']);
    // identity saw a new device, and the user had signed in before: new.
    expect(
      rulesFired(
        assess(
          facts({ deviceId: null }),
          signals({ ...firstDevice, deviceKnown: null, sessionOnNewDevice: true, earlierSession: true }),
          rules,
        ),
      ),
    ).toEqual(['new-device']);
    // A second session on the first device, before it moved money: not new.
    expect(
      assess(facts(), signals({ ...firstDevice, deviceKnown: false, earlierSession: true }), rules).reasons,
    ).toEqual([]);
    // The rule set can count first devices too.
    const strict = applyOverrides(rules, { newDevice: { onFirstDevice: true } }, '4');
    expect(
      rulesFired(assess(facts(), signals({ ...firstDevice, sessionOnNewDevice: true }), strict)),
    ).toEqual(['new-device']);
  });

  it('new-device with a new payee is challenged at any amount (the shape of an account takeover)', () => {
    const outcome = assess(
      facts({ amount: 100n }),
      signals({ deviceKnown: false, counterpartyKnown: false }),
      rules,
    );
    expect(rulesFired(outcome)).toEqual(['new-counterparty', 'new-device']);
    expect(outcome.decision).toBe('challenge');
  });

  it('new-device: weighs more with a risky amount', () => {
    const small = assess(facts(), signals({ deviceKnown: false }), rules);
    const risky = assess(facts({ amount: 60_000n }), signals({ deviceKnown: false }), rules);
    expect(rulesFired(small)).toEqual(['new-device']);
    expect(risky.score).toBeGreaterThan(small.score);
    expect(
      assess(facts({ deviceId: null }), signals({ deviceKnown: null, sessionOnNewDevice: true }), rules)
        .reasons[0]!.rule,
    ).toBe('new-device');
    // Once money has moved from it, the device of a "new device" session is no longer new.
    expect(assess(facts(), signals({ deviceKnown: true, sessionOnNewDevice: true }), rules).reasons).toEqual(
      [],
    );
  });

  it('young-session: on a new device and with a risky amount only', () => {
    const young = { sessionCreatedAt: new Date(NOW.getTime() - 2 * 60_000), deviceKnown: false };
    expect(rulesFired(assess(facts({ amount: 50_000n }), signals(young), rules))).toEqual([
      'new-device',
      'young-session',
    ]);
    expect(rulesFired(assess(facts({ amount: 49_999n }), signals(young), rules))).toEqual(['new-device']);
    // Paying right after signing in on one's own device is what people do.
    expect(
      assess(facts({ amount: 50_000n }), signals({ ...young, deviceKnown: true }), rules).reasons,
    ).toEqual([]);
    const strict = applyOverrides(rules, { youngSession: { onKnownDevice: true } }, '5');
    expect(
      rulesFired(assess(facts({ amount: 50_000n }), signals({ ...young, deviceKnown: true }), strict)),
    ).toEqual(['young-session']);
  });

  it('amount-anomaly: far above the median, once there is enough history', () => {
    const stats = { samples: 10, median: 2_000n, mad: 100n };
    expect(rulesFired(assess(facts({ amount: 9_000n }), signals({ amountStats: stats }), rules))).toEqual([
      'amount-anomaly',
    ]);
    expect(assess(facts({ amount: 2_500n }), signals({ amountStats: stats }), rules).reasons).toEqual([]);
    expect(
      assess(facts({ amount: 9_000n }), signals({ amountStats: { ...stats, samples: 4 } }), rules).reasons,
    ).toEqual([]);
  });

  it('failed-logins: a burst scores from the threshold on', () => {
    expect(assess(facts(), signals({ failedLogins: 4 }), rules).reasons).toEqual([]);
    expect(rulesFired(assess(facts(), signals({ failedLogins: 5 }), rules))).toEqual(['failed-logins']);
  });

  it('refund-after-transfer: repeated refunds of the user’s transfers', () => {
    const refunded = assess(facts(), signals({ recentRefunds: 3 }), rules);
    expect(rulesFired(refunded)).toEqual(['refund-after-transfer']);
    expect(refunded.decision).toBe('allow');
    // To a new payee it is challenged, and the abuser's own step-up does not clear it.
    const cashOut = signals({ recentRefunds: 3, counterpartyKnown: false });
    expect(assess(facts(), cashOut, rules).decision).toBe('challenge');
    expect(assess(facts({ acr: 'aal2' }), cashOut, rules).decision).toBe('deny');
    expect(assess(facts(), signals({ recentRefunds: 2 }), rules).reasons).toEqual([]);
  });

  it('withdrawal-after-deposit: cashing out right after a deposit', () => {
    const justDeposited = { lastDepositAt: new Date(NOW.getTime() - 5 * 60_000) };
    expect(rulesFired(assess(facts({ action: 'withdrawal' }), signals(justDeposited), rules))).toEqual([
      'withdrawal-after-deposit',
    ]);
    expect(assess(facts({ action: 'transfer' }), signals(justDeposited), rules).reasons).toEqual([]);
  });

  it('a disabled rule never fires', () => {
    const off = applyOverrides(rules, { newCounterparty: { enabled: false } }, '1');
    expect(assess(facts(), signals({ counterpartyKnown: false }), off).reasons).toEqual([]);
  });
});

describe('the default policy clients rely on', () => {
  it('after a step-up, 1,000.00 to 50,000.00 EUR with no other strong signal is allowed', () => {
    for (const amount of [100_000n, 1_234_567n, 5_000_000n]) {
      const outcome = assess(facts({ amount, acr: 'aal2' }), signals(), rules);
      expect(outcome.decision).toBe('allow');
      expect(rulesFired(outcome)).toEqual(['amount-large', 'step-up-satisfied']);
    }
  });

  it('above 50,000.00 EUR a step-up alone is not enough', () => {
    expect(assess(facts({ amount: 5_000_001n }), signals(), rules).decision).toBe('challenge');
    const stepped = assess(facts({ amount: 5_000_001n, acr: 'aal2' }), signals(), rules);
    expect(stepped.decision).toBe('deny');
    expect(rulesFired(stepped)).toContain('step-up-insufficient');
  });

  it('a step-up clears a new device with a large amount', () => {
    const context = signals({ deviceKnown: false, counterpartyKnown: false });
    expect(assess(facts({ amount: 200_000n }), context, rules).decision).toBe('challenge');
    expect(assess(facts({ amount: 200_000n, acr: 'aal2' }), context, rules).decision).toBe('allow');
  });

  it('velocity far over the limits with a new device and a new counterparty is denied', () => {
    const outcome = assess(
      facts({ amount: 5_000n }),
      signals({ velocity: { user: quietTotals(25) }, deviceKnown: false, counterpartyKnown: false }),
      rules,
    );
    expect(outcome.decision).toBe('deny');
    expect(rulesFired(outcome)).toEqual(['velocity-user', 'new-counterparty', 'new-device']);
    expect(outcome.requiredAcr).toBeUndefined();
    expect(shouldFlag(outcome, rules)).toBe(true);
  });

  it('strong signals a step-up can clear challenge instead of denying (account takeover is what step-up is for)', () => {
    const outcome = assess(
      facts({ amount: 200_000n }),
      signals({
        deviceKnown: false,
        failedLogins: 9,
        sessionCreatedAt: new Date(NOW.getTime() - 60_000),
        counterpartyKnown: false,
      }),
      rules,
    );
    expect(outcome.score).toBe(100);
    expect(outcome.decision).toBe('challenge');
  });

  it('one strong signal alone never denies a session that has not stepped up', () => {
    const outcome = assess(facts(), signals({ velocity: { user: quietTotals(1_000) } }), rules);
    expect(outcome.decision).toBe('challenge');
  });
});

describe('thresholds are configuration', () => {
  it('lowering largeAmount challenges smaller transfers', () => {
    const strict = applyOverrides(rules, { amount: { currencies: { EUR: { largeAmount: '10000' } } } }, '2');
    expect(assess(facts({ amount: 10_000n }), signals(), strict).decision).toBe('challenge');
    expect(strict.version).toBe(`${rules.version}+override.2`);
  });
  it('challengeAt decides when a score needs a step-up', () => {
    const strict = applyOverrides(rules, { decision: { challengeAt: 10 } }, '3');
    expect(assess(facts(), signals({ counterpartyKnown: false }), strict).decision).toBe('challenge');
  });
});

describe('explanations', () => {
  const signalArb = fc.record({
    count: fc.integer({ min: 1, max: 300 }),
    deviceKnown: fc.boolean(),
    counterpartyKnown: fc.boolean(),
    failedLogins: fc.integer({ min: 0, max: 20 }),
    refunds: fc.integer({ min: 0, max: 10 }),
    sessionAgeMin: fc.integer({ min: 0, max: 600 }),
  });
  it('every non-allow decision lists its reasons, and every score is 0..100', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 100_000_000n }),
        fc.constantFrom('aal1' as const, 'aal2' as const),
        fc.constantFrom(
          'transfer' as const,
          'withdrawal' as const,
          'login' as const,
          'payout-destination' as const,
        ),
        signalArb,
        (amount, acr, action, s) => {
          const outcome = assess(
            facts({ amount, acr, action }),
            signals({
              velocity: { user: quietTotals(s.count, amount * BigInt(s.count)) },
              deviceKnown: s.deviceKnown,
              counterpartyKnown: s.counterpartyKnown,
              failedLogins: s.failedLogins,
              recentRefunds: s.refunds,
              sessionCreatedAt: new Date(NOW.getTime() - s.sessionAgeMin * 60_000),
            }),
            rules,
          );
          expect(outcome.score).toBeGreaterThanOrEqual(0);
          expect(outcome.score).toBeLessThanOrEqual(100);
          expect(outcome.score).toBe(combineScore(outcome.hits));
          if (outcome.decision !== 'allow') {
            expect(outcome.reasons.length).toBeGreaterThan(0);
            for (const r of outcome.reasons) expect(r.detail.length).toBeGreaterThan(10);
          }
          if (outcome.decision === 'challenge') expect(outcome.requiredAcr).toBe('aal2');
          // A stepped-up session is never asked to step up again.
          if (acr === 'aal2') expect(outcome.decision).not.toBe('challenge');
        },
      ),
    );
  });
});
