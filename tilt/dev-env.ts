/**
 * What Tilt's no-cluster mode needs at load time, printed as one JSON document on stdout:
 * the local infrastructure's addresses (`infra/local.sh env`), development keys for the internal
 * tokens and the gateway's TLS certificate (shared with `npm run start:dapr`: .data/dapr/dev-secrets.json),
 * per-app sidecar tokens (kept in .data/tilt/tokens.json so a Tiltfile reload does not restart
 * every process), and each app's ports and its sidecar's (infra/ports.env, the same map as
 * `npm run start:dapr`). Idempotent and quick; everything it writes is development-only and git-ignored.
 *
 *   node tilt/dev-env.ts
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_IDS } from '@wallet/contracts';
import { daprModePorts, type DaprModePorts } from '@wallet/contracts/local-ports';
import { REPO_ROOT, parseExportLines } from '@wallet/dapr-harness';
import {
  devJwks,
  generateDevInternalKeys,
  generateDevTlsCertificate,
  type EmbeddedSecrets,
} from '@wallet/embedded-host/secrets';

interface DevSecrets {
  internalKeys: EmbeddedSecrets['internalKeys'];
  tls: EmbeddedSecrets['tls'];
}

const daprDir = join(REPO_ROOT, '.data', 'dapr');
const tiltDir = join(REPO_ROOT, '.data', 'tilt');
mkdirSync(daprDir, { recursive: true });
mkdirSync(tiltDir, { recursive: true });

const secretsFile = join(daprDir, 'dev-secrets.json');
let secrets: DevSecrets;
if (existsSync(secretsFile)) {
  secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as DevSecrets;
} else {
  secrets = { internalKeys: await generateDevInternalKeys(), tls: await generateDevTlsCertificate() };
  writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
}
const certFile = join(daprDir, 'localhost.crt');
const keyFile = join(daprDir, 'localhost.key');
writeFileSync(certFile, secrets.tls.cert);
writeFileSync(keyFile, secrets.tls.key, { mode: 0o600 });

const tokensFile = join(tiltDir, 'tokens.json');
const token = (): string => `dev-only-${randomBytes(24).toString('base64url')}`;
const tokens: Record<string, { dapr: string; app: string }> = existsSync(tokensFile)
  ? (JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, { dapr: string; app: string }>)
  : {};
for (const appId of APP_IDS) tokens[appId] ??= { dapr: token(), app: token() };
writeFileSync(tokensFile, JSON.stringify(tokens, null, 2), { mode: 0o600 });

const infra = parseExportLines(
  execFileSync('bash', [join(REPO_ROOT, 'infra', 'local.sh'), 'env'], { encoding: 'utf8' }),
);

const privateJwk: Record<string, string> = {};
for (const appId of APP_IDS) privateJwk[appId] = JSON.stringify(secrets.internalKeys[appId].privateJwk);
const ports: Record<string, DaprModePorts> = {};
for (const appId of APP_IDS) ports[appId] = daprModePorts(appId);

process.stdout.write(
  JSON.stringify({
    infra,
    tokens,
    jwks: devJwks(secrets.internalKeys),
    privateJwk,
    ports,
    tls: { cert: certFile, key: keyFile },
  }),
);
