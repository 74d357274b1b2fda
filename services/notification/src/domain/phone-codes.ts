/**
 * Phone verification codes: six random digits, kept only as a keyed hash (HMAC-SHA-256) bound to the
 * verification request and the number, so a database read yields no usable code and a code of one
 * request or number never serves another. No I/O.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

export const PHONE_CODE_DIGITS = 6;

export function newPhoneCode(): string {
  return String(randomInt(0, 10 ** PHONE_CODE_DIGITS)).padStart(PHONE_CODE_DIGITS, '0');
}

export function phoneCodeHash(key: string, verificationId: string, phone: string, code: string): string {
  return createHmac('sha256', key)
    .update(`phone-verification:${verificationId}:${phone}:${code}`)
    .digest('hex');
}

/** Constant-time comparison of a guess with the stored hash. */
export function phoneCodeMatches(
  key: string,
  stored: { id: string; phone: string; codeHash: string },
  guess: string,
): boolean {
  const expected = Buffer.from(stored.codeHash, 'hex');
  const actual = Buffer.from(phoneCodeHash(key, stored.id, stored.phone, guess), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
