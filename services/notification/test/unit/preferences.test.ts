import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CATEGORIES,
  CHANNELS,
  DEFAULT_PREFERENCES,
  applyPreferencesUpdate,
  channelAllowed,
  effectivePreferences,
  preferencesUpdateSchema,
} from '../../src/domain/preferences.ts';

describe('notification preferences', () => {
  it('refuses to switch off a security or account channel', () => {
    const result = preferencesUpdateSchema.safeParse({ security: { sms: false } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['security', 'sms']);
    expect(preferencesUpdateSchema.safeParse({ account: { email: false } }).success).toBe(false);
    expect(preferencesUpdateSchema.safeParse({ payments: { email: 'no' } }).success).toBe(false);
    expect(preferencesUpdateSchema.safeParse({ marketing: { email: true } }).success).toBe(false);
  });

  it('a flat {email, sms, push} applies to every category that can be switched off', () => {
    const update = preferencesUpdateSchema.parse({ email: false, sms: true, push: false });
    const changed = applyPreferencesUpdate(DEFAULT_PREFERENCES, update);
    expect(Object.keys(changed).sort()).toEqual(['balance', 'payments']);
    expect(changed.payments).toEqual({ email: false, sms: true, push: false });
  });

  it('a per-category update keeps the channels it does not name', () => {
    const changed = applyPreferencesUpdate(
      DEFAULT_PREFERENCES,
      preferencesUpdateSchema.parse({ payments: { sms: true } }),
    );
    expect(changed).toEqual({ payments: { email: true, sms: true, push: true } });
  });

  it('stored rows for mandatory categories (e.g. written by hand) are ignored', () => {
    const prefs = effectivePreferences([{ category: 'security', email: false, sms: false, push: false }]);
    expect(prefs.security).toEqual(DEFAULT_PREFERENCES.security);
  });

  it('property: whatever the user sets, security and account messages are allowed on every channel', () => {
    const switches = fc.record({ email: fc.boolean(), sms: fc.boolean(), push: fc.boolean() });
    const rows = fc.array(
      fc
        .tuple(fc.constantFrom(...CATEGORIES, 'unknown'), switches)
        .map(([category, s]) => ({ category, ...s })),
    );
    fc.assert(
      fc.property(rows, (stored) => {
        const prefs = effectivePreferences(stored);
        for (const channel of CHANNELS) {
          expect(channelAllowed(prefs, 'security', channel)).toBe(true);
          expect(channelAllowed(prefs, 'account', channel)).toBe(true);
        }
        // The last stored row of a switchable category wins.
        const last = [...stored].reverse().find((r) => r.category === 'payments');
        if (last) expect(prefs.payments).toEqual({ email: last.email, sms: last.sms, push: last.push });
      }),
    );
  });
});
