import { describe, expect, it } from 'vitest';
import { ConfigError, isDevelopmentSecret } from '@wallet/service-kit';
import {
  configSchema,
  DEV_ONLY_PHONE_CODE_HASH_KEY,
  devOutboxEnabled,
  notificationProductionGuard,
} from '../../src/config.ts';

const base = { DATABASE_URL: 'postgres://app:pw@db.internal:5432/wallet_notification' };

describe('notification configuration', () => {
  it('enables the dev outbox by default outside production only', () => {
    expect(devOutboxEnabled(configSchema.parse({ ...base, APP_ENV: 'development' }))).toBe(true);
    expect(devOutboxEnabled(configSchema.parse({ ...base, APP_ENV: 'test', DEV_OUTBOX: 'false' }))).toBe(
      false,
    );
    expect(devOutboxEnabled(configSchema.parse({ ...base, APP_ENV: 'production', DEV_OUTBOX: 'true' }))).toBe(
      false,
    );
  });

  it('refuses a claim lease that a slow send could outlive', () => {
    const result = configSchema.safeParse({
      ...base,
      PROVIDER_TIMEOUT_MS: '10000',
      DELIVERY_LEASE_MS: '15000',
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['DELIVERY_LEASE_MS']);
  });

  it('production refuses the dev outbox and a missing SMTP server', () => {
    const config = configSchema.parse({ ...base, APP_ENV: 'production', DEV_OUTBOX: 'true' });
    expect(() => notificationProductionGuard(config)).toThrow(ConfigError);
    try {
      notificationProductionGuard(config);
    } catch (error) {
      expect((error as ConfigError).problems.join('\n')).toMatch(/DEV_OUTBOX[\s\S]*SMTP_URL/);
    }
  });

  it('production with real providers hands their secrets and URLs to the shared guard', () => {
    const config = configSchema.parse({
      ...base,
      APP_ENV: 'production',
      SMTP_URL: 'smtps://mailer:s3cr3t-Value@smtp.example.com',
      SMS_API_URL: 'http://sms.example.com',
      SMS_ACCOUNT_SID: 'AC1',
      SMS_AUTH_TOKEN: 'dev-only-token',
      SMS_FROM: '+15550001111',
    });
    const guard = notificationProductionGuard(config);
    expect(guard.secrets).toMatchObject({
      // The default key of the phone codes' keyed hash is a development value: production refuses it.
      PHONE_CODE_HASH_KEY: DEV_ONLY_PHONE_CODE_HASH_KEY,
      SMS_AUTH_TOKEN: 'dev-only-token',
      'SMTP_URL password': 's3cr3t-Value',
    });
    expect(guard.publicUrls).toMatchObject({ SMS_API_URL: 'http://sms.example.com' });
  });

  it('the development phone code hash key is recognised as one', () => {
    expect(isDevelopmentSecret(DEV_ONLY_PHONE_CODE_HASH_KEY)).toBe(true);
  });
});
