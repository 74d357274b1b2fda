/** Chooses one provider per channel from the configuration. */
import type { Logger } from '@wallet/service-kit';
import { devOutboxEnabled, type Config } from '../config.ts';
import type { Channel } from '../domain/preferences.ts';
import { createDevOutboxProvider } from './dev-outbox.ts';
import { createFcmPushProvider } from './push-fcm.ts';
import { createTwilioSmsProvider } from './sms-twilio.ts';
import { createSmtpProvider } from './smtp.ts';
import type { DeliveryProvider } from './types.ts';

export type ProviderSet = Partial<Record<Channel, DeliveryProvider>>;

/**
 * A channel without a configured provider uses the dev outbox outside production and is switched off
 * in production (no delivery is planned for it, so nothing waits forever).
 */
export function providersFromConfig(config: Config, logger: Logger): ProviderSet {
  const dev = devOutboxEnabled(config);
  const providers: ProviderSet = {};
  if (config.SMTP_URL) {
    providers.email = createSmtpProvider({
      url: config.SMTP_URL,
      from: config.EMAIL_FROM,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      requireTls: config.APP_ENV === 'production' && config.SMTP_URL.startsWith('smtp://'),
    });
  } else if (dev) providers.email = createDevOutboxProvider('email');

  if (config.SMS_API_URL && config.SMS_ACCOUNT_SID && config.SMS_AUTH_TOKEN && config.SMS_FROM) {
    providers.sms = createTwilioSmsProvider({
      baseUrl: config.SMS_API_URL,
      accountSid: config.SMS_ACCOUNT_SID,
      authToken: config.SMS_AUTH_TOKEN,
      from: config.SMS_FROM,
    });
  } else if (dev) providers.sms = createDevOutboxProvider('sms');

  if (config.PUSH_API_URL && config.PUSH_BEARER_TOKEN) {
    providers.push = createFcmPushProvider({
      baseUrl: config.PUSH_API_URL,
      projectId: config.PUSH_PROJECT_ID,
      bearerToken: config.PUSH_BEARER_TOKEN,
    });
  } else if (dev) providers.push = createDevOutboxProvider('push');

  const chosen = Object.fromEntries(Object.entries(providers).map(([channel, p]) => [channel, p.name]));
  logger.info({ providers: chosen, devOutbox: dev }, 'notification providers');
  return providers;
}
