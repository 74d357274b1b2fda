/**
 * TOTP (RFC 6238, SHA-1, 6 digits, 30 s) with otplib v13. A code is accepted within one step either
 * side of now, and only for a time step later than the last one accepted (replay refused).
 */
import { generateSecret, generateURI, verify } from 'otplib';

export const TOTP_PERIOD_SECONDS = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpUri(issuer: string, account: string, secret: string): string {
  return generateURI({
    issuer,
    label: account,
    secret,
    period: TOTP_PERIOD_SECONDS,
    digits: 6,
    algorithm: 'sha1',
  });
}

/** Returns the matched time step, or null. `afterStep`: the last accepted step (a replay otherwise). */
export async function verifyTotp(
  secret: string,
  code: string,
  afterStep: number | null,
  nowSeconds = Date.now() / 1000,
): Promise<number | null> {
  if (!/^[0-9]{6}$/.test(code)) return null;
  try {
    const result = await verify({
      secret,
      token: code,
      epoch: nowSeconds,
      period: TOTP_PERIOD_SECONDS,
      epochTolerance: TOTP_PERIOD_SECONDS,
      ...(afterStep === null ? {} : { afterTimeStep: afterStep }),
    });
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  } catch {
    return null;
  }
}
