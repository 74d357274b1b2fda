/** One-time codes and recovery codes: generation and the shapes users type. */
import { randomInt } from 'node:crypto';

/** A numeric code of `digits` digits, uniformly random (leading zeros kept). */
export function numericCode(digits: number): string {
  let code = '';
  for (let i = 0; i < digits; i += 1) code += String(randomInt(10));
  return code;
}

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i
export const RECOVERY_CODE_COUNT = 10;

/** `xxxxx-xxxxx`: 10 symbols from 31 (uniform via randomInt), about 49 bits, easy to read aloud. */
export function recoveryCode(): string {
  const chars = Array.from({ length: 10 }, () =>
    RECOVERY_ALPHABET.charAt(randomInt(RECOVERY_ALPHABET.length)),
  );
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

/** What a user typed, in the canonical form codes are hashed in (case and separators ignored). */
export function canonicalRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '');
}

export const TOTP_CODE = /^[0-9]{6}$/;
export const RECOVERY_CODE_INPUT = /^[a-zA-Z0-9]{5}[\s-]?[a-zA-Z0-9]{5}$/;

export function looksLikeTotp(code: string): boolean {
  return TOTP_CODE.test(code.trim());
}
