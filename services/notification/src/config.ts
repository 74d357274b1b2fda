/**
 * notification configuration: the runtime keys every service has, plus its providers and the delivery
 * worker's knobs. Production refuses the dev outbox, a missing SMTP server and development secrets.
 */
import { ConfigError, runtimeEnvSchema, type ProductionGuardInput } from '@wallet/service-kit';
import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

const optionalUrl = optionalString.pipe(z.string().url().optional());

/** `true`/`false`/unset, kept tri-state so "not said" can default by environment. */
const optionalBoolean = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v === 'true' || v === '1'));

export const DEV_ONLY_PHONE_CODE_HASH_KEY = 'dev-only-notification-phone-code-key';

const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

export const configSchema = runtimeEnvSchema
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(3104),

    /** `smtp://user:pass@host:587` or `smtps://...`; unset outside production means "dev outbox only". */
    SMTP_URL: optionalUrl,
    EMAIL_FROM: z.string().min(3).default('Wallet <no-reply@wallet.localhost>'),

    /** Twilio-style Messages API base URL (e.g. https://api.twilio.com); unset = SMS go to the dev outbox (or nowhere in production). */
    SMS_API_URL: optionalUrl,
    SMS_ACCOUNT_SID: optionalString,
    SMS_AUTH_TOKEN: optionalString,
    SMS_FROM: optionalString,

    /** FCM v1-style base URL (e.g. https://fcm.googleapis.com); unset = push goes to the dev outbox (or nowhere in production). */
    PUSH_API_URL: optionalUrl,
    PUSH_PROJECT_ID: z.string().min(1).default('wallet-dev'),
    PUSH_BEARER_TOKEN: optionalString,

    /**
     * Key of the keyed hash (HMAC-SHA-256) of phone verification codes: only the hash is stored, so a
     * read of the database does not yield a usable code. Production refuses the development value.
     */
    PHONE_CODE_HASH_KEY: z.string().min(16).default(DEV_ONLY_PHONE_CODE_HASH_KEY),
    /** How long a phone verification code works after it is sent. */
    PHONE_CODE_TTL_SECONDS: positiveInt(600),
    /** Wrong guesses that burn a phone verification code. */
    PHONE_CODE_MAX_GUESSES: positiveInt(5),
    /** Code SMS per user and per number within PHONE_CODE_WINDOW_SECONDS (so no one can spam a stranger). */
    PHONE_CODE_MAX_PER_USER: positiveInt(5),
    PHONE_CODE_MAX_PER_NUMBER: positiveInt(3),
    PHONE_CODE_WINDOW_SECONDS: positiveInt(3600),

    /** The dev outbox (GET /dev/outbox). Defaults to on outside production; production refuses it. */
    DEV_OUTBOX: optionalBoolean,

    /** Per-request deadline for every provider call. */
    PROVIDER_TIMEOUT_MS: positiveInt(10_000),
    /** Per-provider send rate caps (per replica), messages per second. */
    EMAIL_RATE_PER_SECOND: positiveInt(20),
    SMS_RATE_PER_SECOND: positiveInt(5),
    PUSH_RATE_PER_SECOND: positiveInt(50),

    /** Send attempts of one delivery before it is dead-lettered. */
    DELIVERY_MAX_ATTEMPTS: positiveInt(8),
    DELIVERY_RETRY_BASE_MS: positiveInt(2_000),
    DELIVERY_RETRY_MAX_MS: positiveInt(10 * 60_000),
    /** How long a claimed delivery stays ours before another replica may take it over (crash recovery). */
    DELIVERY_LEASE_MS: positiveInt(60_000),
    DELIVERY_BATCH_SIZE: positiveInt(20),
    DELIVERY_POLL_INTERVAL_MS: positiveInt(500),
    OUTBOX_POLL_INTERVAL_MS: positiveInt(500),
  })
  .refine((c) => c.DELIVERY_LEASE_MS > 2 * c.PROVIDER_TIMEOUT_MS, {
    // A lease shorter than a send could let a second replica take over a send still in flight.
    message: 'DELIVERY_LEASE_MS must exceed twice PROVIDER_TIMEOUT_MS',
    path: ['DELIVERY_LEASE_MS'],
  });

export type Config = z.infer<typeof configSchema>;

export function devOutboxEnabled(config: Config): boolean {
  return config.APP_ENV !== 'production' && config.DEV_OUTBOX !== false;
}

/** Production checks of this service; throws for what cannot be expressed as a secret or URL check. */
export function notificationProductionGuard(config: Config): Omit<ProductionGuardInput, 'env'> {
  if (config.APP_ENV !== 'production') return {};
  const found: string[] = [];
  if (config.DEV_OUTBOX === true)
    found.push('DEV_OUTBOX: the dev outbox exposes rendered messages (codes) and is refused in production');
  if (!config.SMTP_URL)
    found.push('SMTP_URL: required in production (there is no dev outbox to fall back on)');
  else if (!config.SMTP_URL.startsWith('smtps://') && !config.SMTP_URL.startsWith('smtp://')) {
    found.push('SMTP_URL: must be an smtp:// (STARTTLS is then required) or smtps:// URL');
  }
  if (config.SMS_API_URL && (!config.SMS_ACCOUNT_SID || !config.SMS_FROM)) {
    found.push('SMS_ACCOUNT_SID and SMS_FROM: required when SMS_API_URL is set');
  }
  if (found.length > 0) throw new ConfigError(found);
  const secrets: Record<string, string | undefined> = { PHONE_CODE_HASH_KEY: config.PHONE_CODE_HASH_KEY };
  if (config.SMS_API_URL) secrets['SMS_AUTH_TOKEN'] = config.SMS_AUTH_TOKEN;
  if (config.PUSH_API_URL) secrets['PUSH_BEARER_TOKEN'] = config.PUSH_BEARER_TOKEN;
  const smtpPassword = config.SMTP_URL ? new URL(config.SMTP_URL).password : '';
  if (smtpPassword) secrets['SMTP_URL password'] = decodeURIComponent(smtpPassword);
  return {
    secrets,
    publicUrls: { SMS_API_URL: config.SMS_API_URL, PUSH_API_URL: config.PUSH_API_URL },
  };
}
