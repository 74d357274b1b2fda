/**
 * api-gateway configuration: the runtime keys every service has, plus its own. Limits (rate limits,
 * WAF sizes, webhook tolerance) are configuration, not code. Development defaults carry a `dev_only`
 * marker so the production guard refuses them.
 */
import { runtimeEnvSchema } from '@wallet/service-kit';
import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const commaList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

/** `points/seconds`, e.g. `300/60` = 300 requests a minute. */
const limitSpec = z
  .string()
  .regex(/^\d+\/\d+$/, 'expected <points>/<seconds>, e.g. 300/60')
  .transform((v) => {
    const [points, seconds] = v.split('/').map(Number) as [number, number];
    return { points, durationSeconds: seconds };
  })
  .refine((l) => l.points > 0 && l.durationSeconds > 0, 'points and seconds must be positive');

export type LimitSpec = z.infer<typeof limitSpec>;

const DEV_WEB_SESSION_KEY = 'dev_only_web_session_key_change_me';
const DEV_CSRF_SECRET = 'dev_only_csrf_secret_change_me';
export const DEV_WEBHOOK_SECRET = 'whsec_dev_only';

export const configSchema = runtimeEnvSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  /** The public origin (https://...) the gateway is reached at. */
  PUBLIC_BASE_URL: optionalString.pipe(z.string().url().optional()),
  /** Serve TLS from the gateway process itself (dapr local mode). Behind an ingress, leave unset and set TRUSTED_PROXIES. */
  GATEWAY_TLS_CERT_FILE: optionalString,
  GATEWAY_TLS_KEY_FILE: optionalString,
  /** Plain-HTTP listener that only redirects to HTTPS (dapr local mode, with the TLS files). 0 = off. */
  GATEWAY_HTTP_REDIRECT_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** Express `trust proxy`: the ingress addresses/CIDRs whose X-Forwarded-* we believe. Empty = trust nobody. */
  TRUSTED_PROXIES: commaList,
  /** Browser origins allowed by CORS (exact match). Empty = no cross-origin access. */
  CORS_ALLOWED_ORIGINS: commaList,
  /** Redis for rate limits and nonces (dapr and cluster modes); memory when unset (embedded mode). */
  REDIS_URL: optionalString,
  REDIS_KEY_PREFIX: z.string().default('gw:'),
  /** Rate limits, `<points>/<seconds>`. */
  RATE_LIMIT_ANONYMOUS: limitSpec.prefault('120/60'),
  RATE_LIMIT_USER: limitSpec.prefault('600/60'),
  /**
   * Every attempt per client address, generous on purpose (offices and carriers put thousands of
   * people behind one address; identity throttles FAILED sign-ins per account and source):
   * registration and e-mail verification...
   */
  RATE_LIMIT_SIGNUP: limitSpec.prefault('120/60'),
  /** ...and sign-in, second factor, refresh and recovery. */
  RATE_LIMIT_LOGIN: limitSpec.prefault('600/60'),
  RATE_LIMIT_WEBHOOK: limitSpec.prefault('600/60'),
  /** WAF limits. */
  WAF_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(256)
    .default(64 * 1024),
  WAF_MAX_JSON_DEPTH: z.coerce.number().int().min(1).default(8),
  WAF_MAX_JSON_KEYS: z.coerce.number().int().min(1).default(100),
  WAF_MAX_ARRAY_LENGTH: z.coerce.number().int().min(1).default(500),
  WAF_MAX_STRING_LENGTH: z.coerce.number().int().min(16).default(8_192),
  WAF_MAX_HEADER_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024),
  WAF_MAX_URL_LENGTH: z.coerce.number().int().min(64).default(2_048),
  /** Payment-provider webhook secrets, comma-separated; several are active during rotation. */
  WEBHOOK_SECRETS: commaList.transform((l) => (l.length > 0 ? l : [DEV_WEBHOOK_SECRET])),
  WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  /** Partner request signatures: allowed clock skew. */
  PARTNER_SIGNATURE_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  /** Encrypts tokens kept in web sessions (AES-256-GCM; the key is derived with SHA-256 from this secret). */
  WEB_SESSION_KEY: z.string().min(16).default(DEV_WEB_SESSION_KEY),
  /** HMAC secrets of CSRF tokens, comma-separated (the first signs, all verify: rotation). */
  CSRF_SECRETS: commaList.transform((l) => (l.length > 0 ? l : [DEV_CSRF_SECRET])),
  /** Idle lifetime of a browser session (its refresh token lives longer at identity). */
  WEB_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(12 * 3600),
  /** Revoked session ids are remembered this long: at least the longest access-token lifetime. */
  REVOCATION_TTL_SECONDS: z.coerce.number().int().min(60).default(900),
  /** How long the JWKS is kept before a refresh, and the minimum gap between refreshes on unknown kids. */
  JWKS_CACHE_SECONDS: z.coerce.number().int().min(1).default(300),
  JWKS_REFRESH_COOLDOWN_MS: z.coerce.number().int().min(0).default(5_000),
  /**
   * How long the gateway trusts identity's answer about a privileged session's current roles: the
   * bound on how long a demoted admin or support user keeps their powers (plus one round trip).
   */
  ROLE_CHECK_CACHE_MS: z.coerce.number().int().min(0).max(1_500).default(1_000),
  ROLE_CHECK_TIMEOUT_MS: z.coerce.number().int().min(100).default(2_000),
  /**
   * Send `X-Upstream-App` (which internal app answered) to clients: a diagnostic for tests and
   * development only, ignored in production. Off by default (`npm start` included).
   */
  GATEWAY_EXPOSE_UPSTREAM_APP: z
    .enum(['true', 'false', ''])
    .optional()
    .transform((v) => v === 'true'),
  /** Upstream call timeout. */
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
});

export type Config = z.infer<typeof configSchema>;
