/**
 * Environment configuration, parsed by zod. Every service extends `runtimeEnvSchema` with its own
 * keys. `assertProductionSafe` refuses to start production with development secrets, plain HTTP, the
 * embedded database or the in-process transport.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

export const runtimeEnvSchema = z.object({
  APP_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535),
  /**
   * The internal listener (`/metrics`, detailed `/readyz`, `/healthz`): loopback by default; the chart
   * binds the pod address. Port 0 lets the kernel choose; a fixed one must lie below 32768 (Linux's
   * ephemeral range starts there) and differ from PORT.
   */
  INTERNAL_HOST: z.string().default('127.0.0.1'),
  INTERNAL_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(32767, 'must be 0 (the kernel chooses) or below 32768 (the ephemeral range)')
    .default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.string().url(),
  /** Read replica for read-only queries; falls back to the primary. */
  DATABASE_READ_URL: optionalString.pipe(z.string().url().optional()),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** Above this replay lag of the replica, read-only queries go to the primary. */
  DATABASE_READ_MAX_LAG_MS: z.coerce.number().int().min(0).default(2_000),
  DATABASE_READ_LAG_CHECK_MS: z.coerce.number().int().min(50).default(1_000),
  /** Set by the embedded host only; production refuses it. */
  EMBEDDED_DATABASE: booleanFromEnv,
  PLATFORM_TRANSPORT: z.enum(['embedded', 'dapr']).default('dapr'),
  DAPR_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(3500),
  DAPR_GRPC_PORT: z.coerce.number().int().min(1).max(65535).default(50001),
  /** Sent to the sidecar in `dapr-api-token`. */
  DAPR_API_TOKEN: optionalString,
  /** Expected from the sidecar in `dapr-api-token` on every call into the app. */
  APP_API_TOKEN: optionalString,
  /** JWKS (JSON) holding the gateway's public keys for internal tokens, or a path to a file with it. */
  INTERNAL_JWT_JWKS: optionalString,
  INTERNAL_JWT_JWKS_FILE: optionalString,
  /** This app's private ES256 JWK (JSON, with kid) for the internal tokens it mints. */
  INTERNAL_JWT_PRIVATE_JWK: optionalString,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.string().url().optional()),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /**
   * A request's time budget: from arrival at the gateway, or the smaller of this and what the caller
   * handed down in `x-deadline-ms`. Every call the request makes is capped by what is left of it.
   */
  REQUEST_BUDGET_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** Requests served at once; beyond it they queue (MAX_QUEUED, MAX_QUEUE_WAIT_MS) or get 503 overloaded. */
  MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(32),
  MAX_QUEUED: z.coerce.number().int().min(0).max(100_000).default(64),
  /** The longest a request waits for a place (never more than half of its remaining budget). */
  MAX_QUEUE_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
});

export type RuntimeEnv = z.infer<typeof runtimeEnvSchema>;

/** Parses the environment; throws ConfigError naming each bad key (never its value). */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return result.data;
}

/** Values that mark a development secret. A production process refuses any of them. */
const DEVELOPMENT_SECRET = /(^dev[_-])|dev[_-]?only|changeme|^secret$|^password$|insecure|^test[_-]/i;

export function isDevelopmentSecret(value: string): boolean {
  return DEVELOPMENT_SECRET.test(value);
}

export interface ProductionGuardInput {
  env: RuntimeEnv;
  /** Secrets of this service by env name, checked for development values and presence. */
  secrets?: Record<string, string | undefined>;
  /** Public URLs this service advertises or calls (must be https). */
  publicUrls?: Record<string, string | undefined>;
  /** Whether the process serves plain HTTP to clients (only the gateway's redirect listener may). */
  servesPlainHttpToClients?: boolean;
}

/** Returns the list of reasons production must refuse to start (empty when safe). */
export function productionProblems(input: ProductionGuardInput): string[] {
  const { env } = input;
  if (env.APP_ENV !== 'production') return [];
  const found: string[] = [];
  if (env.EMBEDDED_DATABASE) found.push('EMBEDDED_DATABASE: the embedded PostgreSQL is for development only');
  if (env.PLATFORM_TRANSPORT === 'embedded') found.push('PLATFORM_TRANSPORT: the in-process transport is for development only');
  if (env.PLATFORM_TRANSPORT === 'dapr') {
    if (!env.DAPR_API_TOKEN) found.push('DAPR_API_TOKEN: required in production (app -> sidecar authentication)');
    if (!env.APP_API_TOKEN) found.push('APP_API_TOKEN: required in production (sidecar -> app authentication)');
  }
  if (!env.INTERNAL_JWT_JWKS && !env.INTERNAL_JWT_JWKS_FILE) {
    found.push('INTERNAL_JWT_JWKS: required in production (verifies the gateway-minted internal tokens)');
  }
  if (!env.INTERNAL_JWT_PRIVATE_JWK) found.push('INTERNAL_JWT_PRIVATE_JWK: required in production');
  else if (env.INTERNAL_JWT_PRIVATE_JWK.includes('"dev-only"')) {
    found.push('INTERNAL_JWT_PRIVATE_JWK: a development key is not allowed in production');
  }
  for (const [name, value] of Object.entries({
    DAPR_API_TOKEN: env.DAPR_API_TOKEN,
    APP_API_TOKEN: env.APP_API_TOKEN,
    ...input.secrets,
  })) {
    if (value === undefined || value === '') {
      if (name in (input.secrets ?? {})) found.push(`${name}: required in production`);
    } else if (isDevelopmentSecret(value)) {
      found.push(`${name}: a development value is not allowed in production`);
    }
  }
  const dbUrl = new URL(env.DATABASE_URL);
  if (dbUrl.password && isDevelopmentSecret(decodeURIComponent(dbUrl.password))) {
    found.push('DATABASE_URL: a development password is not allowed in production');
  }
  for (const [name, value] of Object.entries(input.publicUrls ?? {})) {
    if (value !== undefined && !value.startsWith('https://')) found.push(`${name}: must be an https:// URL in production`);
  }
  if (input.servesPlainHttpToClients) found.push('plain HTTP to clients is not allowed in production');
  return found;
}

export function assertProductionSafe(input: ProductionGuardInput): void {
  const found = productionProblems(input);
  if (found.length > 0) throw new ConfigError(found);
}
