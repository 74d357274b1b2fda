import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CURRENCY_EXPONENTS, ROLES, type CurrencyCode, type Role } from '@wallet/contracts';
import {
  ceilingFor,
  checkApproval,
  checkRequest,
  parseAdjustmentCeilings,
} from '../../src/domain/adjustment-policy.ts';

const currencies = Object.keys(CURRENCY_EXPONENTS) as CurrencyCode[];
const roles = fc.subarray([...ROLES] as Role[]);
const sub = fc.constantFrom('alice', 'bob', 'carol', 'dave');

describe('adjustment ceilings', () => {
  it('parses role=major-units and refuses unknown roles or malformed entries', () => {
    expect([...parseAdjustmentCeilings('admin=10000, support=50')]).toEqual([
      ['admin', 10000n],
      ['support', 50n],
    ]);
    expect(parseAdjustmentCeilings('').size).toBe(0);
    for (const bad of ['root=1', 'admin', 'admin=-1', 'admin=1.5', 'admin=1000000000000'])
      expect(() => parseAdjustmentCeilings(bad), bad).toThrow();
  });

  it('scales major units by the currency exponent and takes the highest of the caller’s roles', () => {
    const ceilings = parseAdjustmentCeilings('admin=100,support=1000');
    expect(ceilingFor(ceilings, ['user', 'admin'], 'EUR')).toBe(10_000n);
    expect(ceilingFor(ceilings, ['admin', 'support'], 'EUR')).toBe(100_000n);
    expect(ceilingFor(ceilings, ['admin'], 'JPY')).toBe(100n);
    expect(ceilingFor(ceilings, ['admin'], 'KWD')).toBe(100_000n);
    expect(ceilingFor(ceilings, ['user'], 'EUR')).toBe(0n);
  });
});

describe('four-eyes rules (properties)', () => {
  const facts = fc.record({
    walletOwnerId: sub,
    currency: fc.constantFrom(...currencies),
    amount: fc.bigInt({ min: 1n, max: 10n ** 15n }),
  });
  const ceilings = parseAdjustmentCeilings('admin=10000,support=100');

  it('never lets anyone approve their own request, act on their own wallet, or exceed their ceiling', () => {
    fc.assert(
      fc.property(
        sub,
        roles,
        sub,
        roles,
        facts,
        (makerSub, makerRoles, checkerSub, checkerRoles, request) => {
          const maker = { sub: makerSub, roles: makerRoles };
          const checker = { sub: checkerSub, roles: checkerRoles };
          const requested = checkRequest(ceilings, maker, request);
          if (requested === undefined) {
            expect(request.walletOwnerId).not.toBe(makerSub);
            expect(request.amount <= ceilingFor(ceilings, makerRoles, request.currency)).toBe(true);
          }
          const approved = checkApproval(ceilings, checker, makerSub, request);
          if (approved === undefined) {
            expect(checkerSub).not.toBe(makerSub);
            expect(request.walletOwnerId).not.toBe(checkerSub);
            expect(request.walletOwnerId).not.toBe(makerSub);
            expect(request.amount <= ceilingFor(ceilings, checkerRoles, request.currency)).toBe(true);
          }
          if (checkerSub === makerSub) expect(approved?.reason).toBe('four-eyes');
        },
      ),
      { numRuns: 500 },
    );
  });
});
