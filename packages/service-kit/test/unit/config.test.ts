import { describe, expect, it } from 'vitest';
import { ConfigError, assertProductionSafe, loadConfig, productionProblems, runtimeEnvSchema } from '../../src/config.ts';

const base = {
  PORT: '3000',
  DATABASE_URL: 'postgres://svc:Zq8vL2x9@db.internal:5432/wallet',
};

describe('config', () => {
  it('names each invalid key without echoing its value', () => {
    try {
      loadConfig(runtimeEnvSchema, { PORT: 'eighty', DATABASE_URL: 'not a url with secret s3cr3t' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('DATABASE_URL');
      expect(message).not.toContain('s3cr3t');
    }
  });

  it('lets development run with the embedded database and transport', () => {
    const env = loadConfig(runtimeEnvSchema, { ...base, EMBEDDED_DATABASE: 'true', PLATFORM_TRANSPORT: 'embedded' });
    expect(productionProblems({ env })).toEqual([]);
  });

  it('refuses production with the embedded database, the in-process transport, dev secrets or plain HTTP', () => {
    const env = loadConfig(runtimeEnvSchema, {
      ...base,
      APP_ENV: 'production',
      EMBEDDED_DATABASE: 'true',
      PLATFORM_TRANSPORT: 'embedded',
    });
    const found = productionProblems({
      env,
      secrets: { WEBHOOK_SECRETS: 'whsec_dev_only' },
      publicUrls: { PUBLIC_BASE_URL: 'http://wallet.example' },
    });
    expect(found.join('\n')).toMatch(/EMBEDDED_DATABASE/);
    expect(found.join('\n')).toMatch(/PLATFORM_TRANSPORT/);
    expect(found.join('\n')).toMatch(/WEBHOOK_SECRETS/);
    expect(found.join('\n')).toMatch(/PUBLIC_BASE_URL/);
    expect(() => assertProductionSafe({ env })).toThrow(ConfigError);
  });

  it('refuses production without sidecar tokens or with a development database password', () => {
    const env = loadConfig(runtimeEnvSchema, {
      ...base,
      DATABASE_URL: 'postgres://svc:dev_ledger@db:5432/wallet',
      APP_ENV: 'production',
      INTERNAL_JWT_JWKS: '{"keys":[]}',
      INTERNAL_JWT_PRIVATE_JWK: '{"kid":"x"}',
    });
    const found = productionProblems({ env }).join('\n');
    expect(found).toMatch(/DAPR_API_TOKEN/);
    expect(found).toMatch(/APP_API_TOKEN/);
    expect(found).toMatch(/DATABASE_URL/);
  });

  it('accepts a production configuration with real secrets', () => {
    const env = loadConfig(runtimeEnvSchema, {
      ...base,
      APP_ENV: 'production',
      DAPR_API_TOKEN: 'b7f0c2d9e1a84c3f',
      APP_API_TOKEN: '9d8c7b6a5f4e3d2c',
      INTERNAL_JWT_JWKS: '{"keys":[]}',
      INTERNAL_JWT_PRIVATE_JWK: '{"kid":"identity:2026"}',
    });
    expect(productionProblems({ env, publicUrls: { PUBLIC_BASE_URL: 'https://wallet.example' } })).toEqual([]);
  });
});
