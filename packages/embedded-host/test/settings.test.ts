/**
 * How `npm start` resolves each service's environment: `.env` below the process environment,
 * `<APP>_<NAME>` for one service, the host's own values above everything.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_IDS } from '@wallet/contracts';
import { service as identity } from '@wallet/identity';
import { service as walletLedger } from '@wallet/wallet-ledger';
import { service as risk } from '@wallet/risk';
import { service as notification } from '@wallet/notification';
import { service as apiGateway } from '@wallet/api-gateway';
import {
  HOST_OWNED,
  configKeys,
  daprModeOverrides,
  ignoredSettings,
  loadSettings,
  serviceEnvironment,
  servicePrefix,
} from '../src/settings.ts';

const MODULES = [identity, walletLedger, risk, notification, apiGateway];
const host = { PORT: '0', DATABASE_URL: 'postgres://host-made@127.0.0.1:1/db', APP_ENV: 'development' };

describe('embedded settings', () => {
  it('reads .env below the process environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wallet-settings-'));
    try {
      const file = join(dir, '.env');
      await writeFile(
        file,
        '# comment\nLOG_LEVEL=debug\nRATE_LIMIT_USER="50/60"\nexport RISK_TIMEOUT_MS=900\n',
      );
      const { settings, dotEnvLoaded } = loadSettings({
        processEnv: { LOG_LEVEL: 'error' },
        dotEnvFile: file,
      });
      expect(dotEnvLoaded).toBe(true);
      expect(settings).toMatchObject({
        LOG_LEVEL: 'error',
        RATE_LIMIT_USER: '50/60',
        RISK_TIMEOUT_MS: '900',
      });
      expect(loadSettings({ processEnv: {}, dotEnvFile: join(dir, 'absent') })).toEqual({
        settings: {},
        dotEnvLoaded: false,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives one service its <APP>_<NAME> value and leaves the others on the shared one', () => {
    const settings = { LOG_LEVEL: 'warn', IDENTITY_LOG_LEVEL: 'debug', API_GATEWAY_RATE_LIMIT_USER: '5/60' };
    const identityEnv = serviceEnvironment({
      appId: 'identity',
      keys: configKeys(identity.configSchema),
      settings,
      host,
    });
    const riskEnv = serviceEnvironment({
      appId: 'risk',
      keys: configKeys(risk.configSchema),
      settings,
      host,
    });
    const gatewayEnv = serviceEnvironment({
      appId: 'api-gateway',
      keys: configKeys(apiGateway.configSchema),
      settings,
      host,
    });
    expect(identityEnv['LOG_LEVEL']).toBe('debug');
    expect(riskEnv['LOG_LEVEL']).toBe('warn');
    expect(gatewayEnv['RATE_LIMIT_USER']).toBe('5/60');
    expect(identityEnv['RATE_LIMIT_USER']).toBeUndefined();
  });

  it("treats a prefix as one service's only for that service's own names", () => {
    // RISK_TIMEOUT_MS is the ledger's setting, not risk's TIMEOUT_MS.
    const env = serviceEnvironment({
      appId: 'risk',
      keys: configKeys(risk.configSchema),
      settings: { RISK_TIMEOUT_MS: '900' },
      host,
    });
    expect(env['TIMEOUT_MS']).toBeUndefined();
    expect(
      serviceEnvironment({
        appId: 'wallet-ledger',
        keys: configKeys(walletLedger.configSchema),
        settings: { RISK_TIMEOUT_MS: '900' },
        host,
      })['RISK_TIMEOUT_MS'],
    ).toBe('900');
  });

  it('never lets a setting replace what the host generates, and names what it ignores', () => {
    const settings = {
      PORT: '1',
      DATABASE_URL: 'postgres://stray@127.0.0.1:1/x',
      IDENTITY_DATABASE_URL: 'postgres://stray@127.0.0.1:1/y',
      DATABASE_READ_URL: 'postgres://replica@127.0.0.1:1/z',
      APP_ENV: 'production',
    };
    const env = serviceEnvironment({
      appId: 'identity',
      keys: configKeys(identity.configSchema),
      settings,
      host,
    });
    expect(env).toMatchObject(host);
    expect(env['DATABASE_READ_URL']).toBeUndefined();
    expect(ignoredSettings(settings, APP_IDS).sort()).toEqual(
      ['APP_ENV', 'DATABASE_READ_URL', 'DATABASE_URL', 'IDENTITY_DATABASE_URL', 'PORT'].sort(),
    );
  });

  it("gives start:dapr's harness only the per-service values it does not set itself", () => {
    const services = MODULES.map((m) => ({ appId: m.appId, keys: configKeys(m.configSchema) }));
    const overrides = daprModeOverrides(services, {
      LOG_LEVEL: 'warn',
      IDENTITY_LOG_LEVEL: 'debug',
      API_GATEWAY_RATE_LIMIT_LOGIN: '50/60',
      API_GATEWAY_REDIS_URL: 'redis://stray:1',
      IDENTITY_DATABASE_URL: 'postgres://stray@127.0.0.1:1/x',
      RISK_TIMEOUT_MS: '900',
    });
    expect(overrides).toEqual({
      identity: { LOG_LEVEL: 'debug' },
      'wallet-ledger': {},
      risk: {},
      notification: {},
      'api-gateway': { RATE_LIMIT_LOGIN: '50/60' },
    });
  });

  it('has no per-service name that is also a setting of its own (every <APP>_<NAME> is unambiguous)', () => {
    const all = new Set(MODULES.flatMap((m) => configKeys(m.configSchema)));
    for (const module of MODULES) {
      for (const key of configKeys(module.configSchema)) {
        expect(all.has(`${servicePrefix(module.appId)}${key}`), `${servicePrefix(module.appId)}${key}`).toBe(
          false,
        );
      }
    }
    for (const name of HOST_OWNED) expect(all.has(name), name).toBe(true);
  });

  it("documents every service's every setting in the README's one table", async () => {
    const readme = await readFile(join(import.meta.dirname, '../../../README.md'), 'utf8');
    const section = readme.split('\n## Settings\n')[1]?.split('\n## ')[0] ?? '';
    const documented = new Map<string, string>();
    for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
      const [, names = '', services = ''] = row.split('|');
      for (const [, name] of names.matchAll(/`([A-Z0-9_]+)`/g)) documented.set(name!, services.trim());
    }
    for (const module of MODULES) {
      for (const key of configKeys(module.configSchema)) {
        const services = documented.get(key);
        expect(services, `README Settings: no row for ${key}`).toBeDefined();
        const short = module.appId === 'api-gateway' ? 'gw' : module.appId;
        expect(services === 'all' || services!.split(/,\s*/).includes(short), `${key}: ${services}`).toBe(
          true,
        );
      }
    }
  });
});
