import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProblemType } from '@wallet/contracts';
import { canonicalJson, isFinalProblem, requestFingerprint } from '../../src/domain/idempotency.ts';
import { decideRisk, type RiskOutcome } from '../../src/domain/risk-policy.ts';

const policy = { platformCurrency: 'EUR', failOpenBelow: 5_000n };
const answered = (decision: 'allow' | 'challenge' | 'deny'): RiskOutcome => ({
  kind: 'answered',
  assessmentId: 'a-1',
  decision,
  score: 10,
  reasons: [],
});

describe('request fingerprint', () => {
  it('ignores key order but not values, paths or methods', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (body) => {
        const reordered = Object.fromEntries(Object.entries(body).reverse());
        expect(requestFingerprint('POST', '/transfers', reordered)).toBe(
          requestFingerprint('POST', '/transfers', body),
        );
      }),
    );
    expect(requestFingerprint('POST', '/transfers', { amount: '1' })).not.toBe(
      requestFingerprint('POST', '/transfers', { amount: '2' }),
    );
    expect(requestFingerprint('POST', '/a', {})).not.toBe(requestFingerprint('POST', '/b', {}));
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
  });

  it('keeps business refusals, releases step-up, conflicts and server errors', () => {
    expect(isFinalProblem(422, ProblemType.insufficientFunds)).toBe(true);
    expect(isFinalProblem(403, ProblemType.riskDenied)).toBe(true);
    expect(isFinalProblem(403, ProblemType.stepUpRequired)).toBe(false);
    expect(isFinalProblem(409, ProblemType.conflict)).toBe(false);
    expect(isFinalProblem(503, ProblemType.dependencyUnavailable)).toBe(false);
  });
});

describe('risk policy', () => {
  it('allow proceeds; deny refuses; challenge needs aal2', () => {
    expect(
      decideRisk(answered('allow'), { amount: 1n, currency: 'EUR', callerAcr: 'aal1' }, policy).action,
    ).toBe('proceed');
    expect(
      decideRisk(answered('deny'), { amount: 1n, currency: 'EUR', callerAcr: 'aal2' }, policy).action,
    ).toBe('deny');
    expect(
      decideRisk(answered('challenge'), { amount: 1n, currency: 'EUR', callerAcr: 'aal1' }, policy).action,
    ).toBe('step-up');
    const stepped = decideRisk(
      answered('challenge'),
      { amount: 1n, currency: 'EUR', callerAcr: 'aal2' },
      policy,
    );
    expect(stepped).toMatchObject({ action: 'proceed', record: { steppedUp: true, assessmentId: 'a-1' } });
  });

  it('without an answer: fails open strictly below the threshold in the platform currency, closed otherwise', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.constantFrom('EUR', 'USD'),
        (amount, currency) => {
          const verdict = decideRisk(
            { kind: 'unavailable', reason: 'risk timeout' },
            { amount, currency, callerAcr: 'aal1' },
            policy,
          );
          const open = currency === 'EUR' && amount < 5_000n;
          expect(verdict.action).toBe(open ? 'proceed' : 'unavailable');
          if (verdict.action === 'proceed')
            expect(verdict.record).toMatchObject({ failOpen: true, unavailableReason: 'risk timeout' });
        },
      ),
    );
  });
});
