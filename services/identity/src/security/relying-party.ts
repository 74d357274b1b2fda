/**
 * The WebAuthn relying party identity checks passkeys for: its id (a registrable domain the web app's
 * origins belong to) and the origins a browser may run the ceremony on. Settings:
 *   WEBAUTHN_RP_ID       default: the first origin's host (`localhost` in development)
 *   WEBAUTHN_ORIGINS     comma list; default: the origin of PUBLIC_BASE_URL, else https://localhost:8443
 *   WEBAUTHN_RP_NAME     shown by the authenticator; default `Wallet`
 *   WEBAUTHN_CHALLENGE_TTL_SECONDS  how long a ceremony's challenge may be answered; default 300
 */
import { z } from 'zod';
import { ConfigError } from '@wallet/service-kit';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Added to identity's config schema. */
export const relyingPartySettings = {
  PUBLIC_BASE_URL: optionalString,
  WEBAUTHN_RP_ID: optionalString,
  WEBAUTHN_ORIGINS: optionalString,
  WEBAUTHN_RP_NAME: z.string().trim().min(1).max(64).default('Wallet'),
  WEBAUTHN_CHALLENGE_TTL_SECONDS: z.coerce.number().int().min(30).max(600).default(300),
};

type RelyingPartyEnv = {
  APP_ENV: string;
  PUBLIC_BASE_URL?: string | undefined;
  WEBAUTHN_RP_ID?: string | undefined;
  WEBAUTHN_ORIGINS?: string | undefined;
  WEBAUTHN_RP_NAME: string;
  WEBAUTHN_CHALLENGE_TTL_SECONDS: number;
};

export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
  challengeTtlSeconds: number;
}

const DEVELOPMENT_ORIGIN = 'https://localhost:8443';

function originOf(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError([`${name}: ${JSON.stringify(value)} is not a URL`]);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError([`${name}: ${value} is not an http(s) origin`]);
  return url.origin;
}

/** The host is the RP id or one of its subdomains (WebAuthn's rule for which origins may use an RP id). */
function belongsTo(host: string, rpId: string): boolean {
  return host === rpId || host.endsWith(`.${rpId}`);
}

/** Resolves the defaults and checks the combination; throws ConfigError naming the setting. */
export function relyingPartyFrom(config: RelyingPartyEnv): RelyingParty {
  const origins = (
    config.WEBAUTHN_ORIGINS
      ? config.WEBAUTHN_ORIGINS.split(',')
          .map((o) => o.trim())
          .filter((o) => o !== '')
      : [config.PUBLIC_BASE_URL ?? DEVELOPMENT_ORIGIN]
  ).map((o) => originOf(o, config.WEBAUTHN_ORIGINS ? 'WEBAUTHN_ORIGINS' : 'PUBLIC_BASE_URL'));
  if (origins.length === 0) throw new ConfigError(['WEBAUTHN_ORIGINS: no origin']);
  const id = (config.WEBAUTHN_RP_ID ?? new URL(origins[0]!).hostname).toLowerCase();
  const problems: string[] = [];
  for (const origin of origins) {
    const url = new URL(origin);
    if (!belongsTo(url.hostname, id))
      problems.push(`WEBAUTHN_ORIGINS: ${origin} is not on ${id} (WEBAUTHN_RP_ID) or a subdomain of it`);
    // Browsers run WebAuthn only in secure contexts: https, or http on localhost.
    if (url.protocol === 'http:' && url.hostname !== 'localhost')
      problems.push(`WEBAUTHN_ORIGINS: ${origin} is plain http`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    id,
    name: config.WEBAUTHN_RP_NAME,
    origins,
    challengeTtlSeconds: config.WEBAUTHN_CHALLENGE_TTL_SECONDS,
  };
}

/** Production refuses a development relying party: localhost, plain http, or settings left to defaults. */
export function relyingPartyProductionProblems(config: RelyingPartyEnv): string[] {
  if (config.APP_ENV !== 'production') return [];
  if (!config.WEBAUTHN_ORIGINS || !config.WEBAUTHN_RP_ID)
    return [
      'WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS: required in production (the web app origins passkeys belong to)',
    ];
  try {
    const rp = relyingPartyFrom(config);
    const found: string[] = [];
    if (rp.id === 'localhost') found.push('WEBAUTHN_RP_ID: localhost in production');
    for (const origin of rp.origins)
      if (!origin.startsWith('https://')) found.push(`WEBAUTHN_ORIGINS: ${origin} is not https`);
    return found;
  } catch (error) {
    return error instanceof ConfigError ? error.problems : [String(error)];
  }
}
