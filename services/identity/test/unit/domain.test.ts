import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkPasswordPolicy } from '../../src/domain/password-policy.ts';
import { normaliseEmail, emailSchema } from '../../src/domain/email.ts';
import { hasPermission, withBaseRole } from '../../src/domain/rbac.ts';
import { delayAfterFailures, type ThrottlePolicy } from '../../src/domain/throttle.ts';
import { canonicalRecoveryCode, numericCode, recoveryCode } from '../../src/domain/codes.ts';

describe('password policy', () => {
  it('accepts a long passphrase and refuses short, common, weak or personal ones', () => {
    expect(checkPasswordPolicy('violet-harbour-cactus-49-lantern')).toEqual({ ok: true });
    expect(checkPasswordPolicy('Sh0rt!pw')).toMatchObject({ ok: false });
    const common = checkPasswordPolicy('password1234');
    expect(common.ok).toBe(false);
    expect(common.ok ? '' : common.reason).toContain('common');
    expect(checkPasswordPolicy('qwertyuiop123456')).toMatchObject({ ok: false });
    expect(checkPasswordPolicy('x'.repeat(129))).toMatchObject({ ok: false });
    expect(checkPasswordPolicy('margaret.h-rocket-blue', ['margaret.h@example.com'])).toMatchObject({
      ok: false,
    });
  });

  it('counts characters, not bytes (a 12-symbol non-Latin passphrase is long enough)', () => {
    expect(checkPasswordPolicy('ключ-дракон-7')).toEqual({ ok: true });
  });
});

describe('e-mail normalisation', () => {
  it('is idempotent and case-insensitive', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const once = normaliseEmail(email);
        expect(normaliseEmail(once)).toBe(once);
        expect(normaliseEmail(email.toUpperCase())).toBe(normaliseEmail(email.toUpperCase().toLowerCase()));
      }),
    );
    expect(emailSchema.parse('  Alice@Example.COM ')).toBe('alice@example.com');
    expect(emailSchema.safeParse('not-an-email').success).toBe(false);
  });
});

describe('RBAC', () => {
  it('maps roles to permissions in one place', () => {
    expect(hasPermission(['user'], 'users:read')).toBe(false);
    expect(hasPermission(['user', 'support'], 'users:lock')).toBe(true);
    expect(hasPermission(['user', 'support'], 'users:set-roles')).toBe(false);
    expect(hasPermission(['user', 'admin'], 'users:set-roles')).toBe(true);
    expect(withBaseRole(['admin'])).toEqual(['user', 'admin']);
  });
});

describe('sign-in throttling', () => {
  const policy: ThrottlePolicy = {
    freeFailures: 3,
    delayBaseMs: 1000,
    maxDelayMs: 900_000,
    sourceWindowSeconds: 3600,
    accountMaxFailures: 100,
    accountWindowSeconds: 3600,
    ipMaxFailures: 20,
    ipWindowSeconds: 900,
    trustedSourceSeconds: 90 * 86_400,
  };
  it('lets the free failures pass, then doubles the delay with each failure, capped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (n) => {
        const d = delayAfterFailures(n, policy);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(policy.maxDelayMs);
        expect(delayAfterFailures(n + 1, policy)).toBeGreaterThanOrEqual(d);
      }),
    );
    expect([0, 1, 2, 3, 4, 5, 13, 14].map((n) => delayAfterFailures(n, policy))).toEqual([
      0, 0, 0, 1000, 2000, 4000, 900_000, 900_000,
    ]);
  });
  it('never delays when the base is zero (tests only: production refuses it)', () => {
    expect(delayAfterFailures(50, { ...policy, delayBaseMs: 0 })).toBe(0);
  });
});

describe('codes', () => {
  it('have the shapes users type', () => {
    expect(numericCode(6)).toMatch(/^[0-9]{6}$/);
    const rc = recoveryCode();
    expect(rc).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect(canonicalRecoveryCode(` ${rc.toUpperCase()} `)).toBe(rc.replace('-', ''));
  });
});
