/**
 * The dev outbox "provider": used outside production when a channel has no real provider. It sends
 * nothing; the worker records every rendered message in the dev_outbox table (GET /dev/outbox) in the
 * same transaction that marks the delivery sent.
 */
import type { Channel } from '../domain/preferences.ts';
import type { DeliveryProvider } from './types.ts';

export const DEV_OUTBOX_PROVIDER = 'dev-outbox';

export function createDevOutboxProvider(channel: Channel): DeliveryProvider {
  return {
    name: DEV_OUTBOX_PROVIDER,
    channel,
    send(message) {
      return Promise.resolve({ providerMessageId: `dev-outbox:${message.deliveryId}` });
    },
  };
}
