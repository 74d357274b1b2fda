/**
 * The settings of `npm start`: the same variables the services read in Dapr mode and in the chart
 * (each service's `src/config.ts`), from the process environment and a `.env` file at the repository
 * root, resolved per service:
 *
 *   1. the service's own default (its config schema);
 *   2. `.env` (parsed by Node's `util.parseEnv`);
 *   3. the process environment (wins over `.env`, as with every dotenv loader);
 *   4. `<APP>_<NAME>` for one service only, e.g. `IDENTITY_LOG_LEVEL`, `API_GATEWAY_RATE_LIMIT_USER`
 *      (`<APP>` is the app id in capitals with `_` for `-`); only names of that service's settings count,
 *      so `RISK_TIMEOUT_MS` (a ledger setting) stays what it is;
 *   5. what the embedded host generates itself (`HOST_OWNED`): ports, database URLs, dev keys, the
 *      transport. A stray variable of those names is ignored and named in a warning.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import type { AppId } from '@wallet/contracts';

export type Settings = Record<string, string>;

/** Set by the host for every service whatever the settings say (the embedded mode depends on them). */
export const HOST_OWNED = [
  'APP_ENV',
  'HOST',
  'PORT',
  'DATABASE_URL',
  'EMBEDDED_DATABASE',
  'PLATFORM_TRANSPORT',
  'INTERNAL_JWT_JWKS',
  'INTERNAL_JWT_PRIVATE_JWK',
] as const;

/** Meaningless or harmful in embedded mode (no replica, no sidecar, TLS and redirect by the host): dropped. */
export const NOT_APPLICABLE = [
  'DATABASE_READ_URL',
  'INTERNAL_JWT_JWKS_FILE',
  'DAPR_HTTP_PORT',
  'DAPR_GRPC_PORT',
  'DAPR_API_TOKEN',
  'APP_API_TOKEN',
  'GATEWAY_TLS_CERT_FILE',
  'GATEWAY_TLS_KEY_FILE',
  'GATEWAY_HTTP_REDIRECT_PORT',
] as const;

const IGNORED = new Set<string>([...HOST_OWNED, ...NOT_APPLICABLE]);

/** `IDENTITY_`, `WALLET_LEDGER_`, `API_GATEWAY_`... */
export function servicePrefix(appId: AppId): string {
  return `${appId.toUpperCase().replaceAll('-', '_')}_`;
}

/** The variable names a service reads (the keys of its zod config object). */
export function configKeys(schema: z.ZodType): string[] {
  if (!(schema instanceof z.ZodObject)) throw new Error('a service config schema must be a zod object');
  return Object.keys(schema.shape);
}

/** A `.env` file's variables; none when the file does not exist. */
export function readDotEnvFile(file: string): Settings {
  if (!existsSync(file)) return {};
  return parseEnv(readFileSync(file, 'utf8')) as Settings;
}

/** `.env` below the process environment. Unset variables of the process are left out. */
export function loadSettings(options: { processEnv: NodeJS.ProcessEnv; dotEnvFile: string }): {
  settings: Settings;
  dotEnvLoaded: boolean;
} {
  const settings: Settings = { ...readDotEnvFile(options.dotEnvFile) };
  for (const [name, value] of Object.entries(options.processEnv))
    if (value !== undefined) settings[name] = value;
  return { settings, dotEnvLoaded: existsSync(options.dotEnvFile) };
}

/** A service's own `<APP>_<NAME>` values, as `NAME`, for the names it reads and the host does not set. */
export function ownOverrides(
  appId: AppId,
  keys: readonly string[],
  settings: Settings,
  hostSets: ReadonlySet<string> = IGNORED,
): Settings {
  const prefix = servicePrefix(appId);
  const own: Settings = {};
  for (const key of keys) {
    const value = settings[`${prefix}${key}`];
    if (value !== undefined && !hostSets.has(key)) own[key] = value;
  }
  return own;
}

/** One service's environment: settings, its own `<APP>_` overrides, then the host's values. */
export function serviceEnvironment(options: {
  appId: AppId;
  keys: readonly string[];
  settings: Settings;
  host: Settings;
}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...options.settings,
    ...ownOverrides(options.appId, options.keys, options.settings),
  };
  for (const name of IGNORED) delete env[name];
  return Object.assign(env, options.host);
}

/**
 * `npm run start:dapr`'s per-service values (given to the harness as `serviceEnv`, which it applies
 * last): the `<APP>_<NAME>` overrides, except of what the harness sets itself.
 */
export function daprModeOverrides(
  services: readonly { appId: AppId; keys: readonly string[] }[],
  settings: Settings,
): Partial<Record<AppId, Settings>> {
  const harnessSets = new Set([...IGNORED, 'OTEL_SERVICE_NAME', 'PUBLIC_BASE_URL', 'REDIS_URL']);
  return Object.fromEntries(
    services.map((s) => [s.appId, ownOverrides(s.appId, s.keys, settings, harnessSets)]),
  );
}

/** Settings the host will not apply (its own names, globally or for one service), to warn about. */
export function ignoredSettings(settings: Settings, appIds: readonly AppId[]): string[] {
  const found: string[] = [];
  for (const name of IGNORED) {
    if (settings[name] !== undefined) found.push(name);
    for (const appId of appIds)
      if (settings[`${servicePrefix(appId)}${name}`] !== undefined)
        found.push(`${servicePrefix(appId)}${name}`);
  }
  return found;
}

/** Variables an operator command must not take from a running service: its own keys and tokens. */
const NOT_FOR_OPERATORS = /^(INTERNAL_JWT_|DAPR_|APP_API_TOKEN$)/;

/**
 * A running service's settings as the runtime file records them for operator commands (identity's key
 * ring and argon2 cost): only the names its config reads, without its keys and tokens.
 */
export function settingsForOperators(env: NodeJS.ProcessEnv, keys: readonly string[]): Settings {
  const found: Settings = {};
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && !NOT_FOR_OPERATORS.test(key)) found[key] = value;
  }
  return found;
}
