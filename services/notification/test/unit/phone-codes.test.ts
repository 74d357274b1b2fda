import { describe, expect, it } from 'vitest';
import {
  newPhoneCode,
  phoneCodeHash,
  phoneCodeMatches,
  PHONE_CODE_DIGITS,
} from '../../src/domain/phone-codes.ts';

const KEY = 'k'.repeat(32);

describe('phone verification codes', () => {
  it('are six random digits', () => {
    const codes = Array.from({ length: 200 }, () => newPhoneCode());
    for (const code of codes) expect(code).toMatch(new RegExp(`^[0-9]{${PHONE_CODE_DIGITS}}$`));
    expect(new Set(codes).size).toBeGreaterThan(190);
  });

  it('are kept as a keyed hash bound to the request and the number', () => {
    const hash = phoneCodeHash(KEY, 'v1', '+4915112345678', '123456');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain('123456');
    const stored = { id: 'v1', phone: '+4915112345678', codeHash: hash };
    expect(phoneCodeMatches(KEY, stored, '123456')).toBe(true);
    expect(phoneCodeMatches(KEY, stored, '123457')).toBe(false);
    expect(phoneCodeMatches(KEY, { ...stored, id: 'v2' }, '123456')).toBe(false);
    expect(phoneCodeMatches(KEY, { ...stored, phone: '+4915100000000' }, '123456')).toBe(false);
    expect(phoneCodeMatches('x'.repeat(32), stored, '123456')).toBe(false);
  });
});
