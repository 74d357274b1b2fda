import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { KeyRingError, parseKeyRing } from '../../src/security/keyring.ts';

const key = () => randomBytes(32).toString('base64');

describe('key ring (AES-256-GCM at rest)', () => {
  it('round-trips any text and names the sealing key', () => {
    const ring = parseKeyRing(`k1:${key()}`);
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), (plain, aad) => {
        const sealed = ring.seal(plain, aad);
        expect(sealed.startsWith('v1.k1.')).toBe(true);
        expect(ring.open(sealed, aad)).toBe(plain);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a ciphertext moved to another row (AAD) or altered', () => {
    const ring = parseKeyRing(`k1:${key()}`);
    const sealed = ring.seal('JBSWY3DPEHPK3PXP', 'totp:alice');
    expect(() => ring.open(sealed, 'totp:bob')).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => ring.open(parts.join('.'), 'totp:alice')).toThrow();
  });

  it('keeps old data readable after rotation and seals new data with the new key', () => {
    const k1 = key();
    const old = parseKeyRing(`k1:${k1}`);
    const sealed = old.seal('secret', 'a');
    const hashed = old.hashCode('123456');
    const rotated = parseKeyRing(`k2:${key()},k1:${k1}`);
    expect(rotated.open(sealed, 'a')).toBe('secret');
    expect(rotated.seal('x', 'a').startsWith('v1.k2.')).toBe(true);
    expect(rotated.codeMatches('123456', hashed)).toBe(true);
    expect(rotated.codeMatches('123457', hashed)).toBe(false);
    expect(parseKeyRing(`k2:${key()}`).codeMatches('123456', hashed)).toBe(false);
  });

  it('refuses malformed rings', () => {
    expect(() => parseKeyRing('')).toThrow(KeyRingError);
    expect(() => parseKeyRing(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/32 bytes/);
    expect(() => parseKeyRing(`k1:${key()},k1:${key()}`)).toThrow(/duplicate/);
    expect(() => parseKeyRing(`bad kid:${key()}`)).toThrow(/key id/);
  });
});
