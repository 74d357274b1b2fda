/** identity configuration: the runtime keys every service has, plus its own. */
import { runtimeEnvSchema } from '@wallet/service-kit';
import { z } from 'zod';
import { relyingPartyProductionProblems, relyingPartySettings } from './security/relying-party.ts';

/**
 * Development-only AES-256-GCM key ring. Its kid carries the dev-only marker, so the production guard
 * refuses it; any other environment may use it so `npm start` needs no set-up.
 */
export const DEV_ONLY_ENCRYPTION_KEYS = 'dev-only-1:ZGV2LW9ubHkgaWRlbnRpdHkga2V5LCBubyBzZWNyZXQ=';

/** OWASP Password Storage Cheat Sheet minimum for argon2id (m=19 MiB, t=2, p=1). */
export const OWASP_ARGON2 = { memoryKib: 19_456, timeCost: 2, parallelism: 1 } as const;

const seconds = (fallback: number, max = 10 * 365 * 24 * 3600) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

export const configSchema = runtimeEnvSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3101),
  /**
   * Key ring for secrets at rest (TOTP secrets, signing keys, keyed hashes of one-time codes):
   * `kid:base64(32 bytes),...`; the first key encrypts, every key decrypts.
   */
  TOTP_ENCRYPTION_KEYS: z.string().min(1).default(DEV_ONLY_ENCRYPTION_KEYS),
  ARGON2_MEMORY_KIB: z.coerce
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024)
    .default(OWASP_ARGON2.memoryKib),
  ARGON2_TIME_COST: z.coerce.number().int().min(1).max(20).default(OWASP_ARGON2.timeCost),
  ARGON2_PARALLELISM: z.coerce.number().int().min(1).max(16).default(OWASP_ARGON2.parallelism),
  /** Access-token lifetime: 10 minutes by default, at most 15. */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(900).default(600),
  STEP_UP_WINDOW_SECONDS: seconds(300, 900),
  /** A refresh token not used within this time is dead (the session idles out). */
  REFRESH_TOKEN_TTL_SECONDS: seconds(14 * 24 * 3600),
  /** Absolute session lifetime: re-authentication after this whatever the activity. */
  SESSION_MAX_AGE_SECONDS: seconds(30 * 24 * 3600),
  MFA_CHALLENGE_TTL_SECONDS: seconds(300, 3600),
  EMAIL_CODE_TTL_SECONDS: seconds(3600, 7 * 24 * 3600),
  /** At most 10 minutes: ASVS 6.5.5 (out-of-band codes). */
  RECOVERY_CODE_TTL_SECONDS: seconds(600, 24 * 3600),
  /** Wrong guesses allowed per one-time code (e-mail verification, recovery, MFA challenge). */
  CODE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  /**
   * Codes the notification service may mint for one pending code reference (one per send attempt;
   * each replaces the last). Bounds what a misbehaving caller can do with a reference.
   */
  CODE_MAX_ISSUES: z.coerce.number().int().min(1).max(50).default(10),
  /**
   * Codes sent without a signed-in request (verification resends, notices of a sign-up with a known
   * address): at most one per interval and this many an hour per account; beyond, silently none.
   */
  CODE_RESEND_INTERVAL_SECONDS: seconds(60, 3600),
  CODE_RESEND_MAX_PER_HOUR: z.coerce.number().int().min(1).max(100).default(5),
  /**
   * Sign-in throttling keyed on failures (wrong password, second-factor or recovery code); see
   * src/domain/throttle.ts. Per account and source address: this many failures are free...
   */
  LOGIN_FREE_FAILURES: z.coerce.number().int().min(1).max(100).default(3),
  /** ...then a delay of base * 2^(failures - free), capped at LOGIN_MAX_DELAY_SECONDS. */
  LOGIN_DELAY_BASE_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  LOGIN_MAX_DELAY_SECONDS: seconds(900, 24 * 3600),
  /** A source's failures on an account are forgotten after this long without a new one. */
  LOGIN_FAILURE_WINDOW_SECONDS: seconds(3600, 7 * 24 * 3600),
  /** Generous ceiling per account from every source; beyond it only the account's known sources are admitted. */
  LOGIN_ACCOUNT_MAX_FAILURES: z.coerce.number().int().min(1).max(100_000).default(100),
  LOGIN_ACCOUNT_WINDOW_SECONDS: seconds(3600, 7 * 24 * 3600),
  /** Failures per source address across accounts (password spraying); beyond it only known sources are admitted. */
  LOGIN_IP_MAX_FAILURES: z.coerce.number().int().min(1).max(100_000).default(20),
  LOGIN_IP_WINDOW_SECONDS: seconds(900, 7 * 24 * 3600),
  /** An address or device the account signed in from stays known this long after the last success. */
  LOGIN_TRUSTED_SOURCE_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  TOTP_ISSUER: z.string().min(1).max(64).default('Wallet'),
  /** How long a replica trusts its cached copy of the signing keys (a rotation reaches every replica within it). */
  SIGNING_KEY_CACHE_SECONDS: seconds(30, 600),
  /**
   * Directory of breached-password range files (HIBP layout, `<PREFIX>.txt`); unset = the list bundled
   * with identity (data/breached-passwords/).
   */
  BREACHED_PASSWORDS_DIR: z.string().min(1).optional(),
  /**
   * How recent the session's last full authentication (every factor the user has) must be to change a
   * factor (authenticator app, recovery codes): ASVS 7.5.1.
   */
  REAUTH_WINDOW_SECONDS: seconds(300, 3600),
  /**
   * A spent refresh token presented again within this time by the same client (two tabs refreshing at
   * once) gets a fresh sibling instead of revoking the session; 0 turns the grace off. Any other reuse
   * still revokes the session.
   */
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
  /**
   * A rotated-in signing key is published in the JWKS this long before it signs anything, so every
   * verifier's cached JWKS knows it first (gateway JWKS_CACHE_SECONDS=300 + the JWKS max-age of 60 s).
   */
  SIGNING_KEY_PREPUBLISH_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .default(900),
  /** Period of the housekeeping worker (expired codes, challenges, throttle rows). 0 disables it. */
  HOUSEKEEPING_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /** Passkeys (WebAuthn): relying party id, origins, name, challenge lifetime (security/relying-party.ts). */
  ...relyingPartySettings,
});

export type Config = z.infer<typeof configSchema>;

export interface Argon2Parameters {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

export function argon2Parameters(config: Config): Argon2Parameters {
  return {
    memoryKib: config.ARGON2_MEMORY_KIB,
    timeCost: config.ARGON2_TIME_COST,
    parallelism: config.ARGON2_PARALLELISM,
  };
}

/** The gateway's JWKS cache (300 s) plus the JWKS answer's max-age (60 s). */
export const MIN_PRODUCTION_PREPUBLISH_SECONDS = 360;

/** identity's own production refusals, beside the service kit's. */
export function identityProductionProblems(config: Config): string[] {
  if (config.APP_ENV !== 'production') return [];
  const found: string[] = [];
  const p = argon2Parameters(config);
  if (p.memoryKib < OWASP_ARGON2.memoryKib || p.timeCost < OWASP_ARGON2.timeCost) {
    found.push(
      `ARGON2_*: below OWASP's minimum (m=${OWASP_ARGON2.memoryKib} KiB, t=${OWASP_ARGON2.timeCost}, p=1)`,
    );
  }
  if (config.LOGIN_DELAY_BASE_MS === 0)
    found.push('LOGIN_DELAY_BASE_MS: throttling between failures cannot be off in production');
  found.push(...relyingPartyProductionProblems(config));
  if (config.SIGNING_KEY_PREPUBLISH_SECONDS < MIN_PRODUCTION_PREPUBLISH_SECONDS)
    found.push(
      `SIGNING_KEY_PREPUBLISH_SECONDS: at least ${MIN_PRODUCTION_PREPUBLISH_SECONDS} (verifiers cache the JWKS for up to 360 s)`,
    );
  return found;
}
