import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkPasswordPolicy } from '../../src/domain/password-policy.ts';
import { normaliseEmail, emailSchema } from '../../src/domain/email.ts';
import { hasPermission, withBaseRole } from '../../src/domain/rbac.ts';
import {
  MAX_DELAY_MS,
  MAX_LOCKOUT_SECONDS,
  delayAfterFailure,
  lockoutSeconds,
} from '../../src/domain/throttle.ts';
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
  const policy = { maxFailures: 5, lockoutSeconds: 900, delayBaseMs: 1000 };
  it('delays grow with failures and stay capped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (n) => {
        const d = delayAfterFailure(n, policy);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(MAX_DELAY_MS);
        expect(delayAfterFailure(n + 1, policy)).toBeGreaterThanOrEqual(d);
      }),
    );
    expect(delayAfterFailure(1, policy)).toBe(0);
    expect(delayAfterFailure(2, policy)).toBe(1000);
  });
  it('each lockout is at least as long as the previous, capped at a day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (k) => {
        const s = lockoutSeconds(k, policy);
        expect(s).toBeLessThanOrEqual(MAX_LOCKOUT_SECONDS);
        expect(lockoutSeconds(k + 1, policy)).toBeGreaterThanOrEqual(s);
      }),
    );
    expect(lockoutSeconds(0, policy)).toBe(900);
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
