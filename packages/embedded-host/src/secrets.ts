/**
 * Development-only secrets of the embedded mode, generated on first run and kept in
 * `.data/embedded/secrets.json` (mode 0600, git-ignored). Every key carries a dev-only marker so a
 * production process that is handed one refuses to start.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { JWK } from 'jose';
import { generate } from 'selfsigned';
import { APP_IDS, type AppId } from '@wallet/contracts';
import { generateInternalSigningKey } from '@wallet/service-kit';

export interface EmbeddedSecrets {
  postgresAdminPassword: string;
  databases: Record<AppId, { owner: string; app: string }>;
  internalKeys: Record<AppId, { privateJwk: JWK & { kid: string }; publicJwk: JWK & { kid: string } }>;
  tls: { key: string; cert: string };
}

const password = () => `dev_${randomBytes(18).toString('base64url')}`;

/** One ES256 key pair per app for the internal tokens, each private key marked dev-only. */
export async function generateDevInternalKeys(): Promise<EmbeddedSecrets['internalKeys']> {
  const internalKeys = {} as EmbeddedSecrets['internalKeys'];
  for (const appId of APP_IDS) {
    const key = await generateInternalSigningKey(appId);
    // The marker makes a production process refuse this key (see the service kit's production guard).
    const privateJwk = { ...key.privateJwk, 'x-wallet-env': 'dev-only' } as JWK & { kid: string };
    internalKeys[appId] = { privateJwk, publicJwk: key.publicJwk };
  }
  return internalKeys;
}

/** The JWKS every service verifies internal tokens with (all apps' public keys). */
export function devJwks(internalKeys: EmbeddedSecrets['internalKeys']): string {
  return JSON.stringify({ keys: Object.values(internalKeys).map((k) => k.publicJwk) });
}

/** A self-signed certificate for https://localhost (and 127.0.0.1, ::1), valid for a year. */
export async function generateDevTlsCertificate(): Promise<EmbeddedSecrets['tls']> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/**
 * The secrets of dapr mode (`npm run start:dapr`, the dapr system test): internal keys and the gateway's
 * certificate (the databases there are `infra/local.sh`'s). Given to `startDaprPlatform` of @wallet/dapr-harness.
 */
export async function generateDaprDevSecrets(): Promise<Pick<EmbeddedSecrets, 'internalKeys' | 'tls'>> {
  return { internalKeys: await generateDevInternalKeys(), tls: await generateDevTlsCertificate() };
}

async function generateSecrets(): Promise<EmbeddedSecrets> {
  const databases = {} as EmbeddedSecrets['databases'];
  for (const appId of APP_IDS) databases[appId] = { owner: password(), app: password() };
  return {
    postgresAdminPassword: password(),
    databases,
    internalKeys: await generateDevInternalKeys(),
    tls: await generateDevTlsCertificate(),
  };
}

export async function loadOrCreateSecrets(file: string): Promise<EmbeddedSecrets> {
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as EmbeddedSecrets;
  const secrets = await generateSecrets();
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
