/** Internal signing keys for every app id, generated once per test process. */
import { APP_IDS, type AppId } from '@wallet/contracts';
import { generateInternalSigningKey, type GeneratedSigningKey, type InternalKeys } from '@wallet/service-kit';

export type TestKeyring = Record<AppId, GeneratedSigningKey>;

let shared: Promise<TestKeyring> | undefined;

export function testKeyring(): Promise<TestKeyring> {
  shared ??= (async () => {
    const entries = await Promise.all(APP_IDS.map(async (id) => [id, await generateInternalSigningKey(id)] as const));
    return Object.fromEntries(entries) as TestKeyring;
  })();
  return shared;
}

export function internalKeysFor(keyring: TestKeyring, appId: AppId): InternalKeys {
  return {
    privateJwk: keyring[appId].privateJwk,
    jwks: { keys: Object.values(keyring).map((k) => k.publicJwk) },
  };
}
