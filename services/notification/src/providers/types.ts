/** The one interface every delivery provider implements (e-mail, SMS, push, the dev outbox). */
import type { Channel } from '../domain/preferences.ts';
import type { FailureKind } from '../domain/retry.ts';

export interface OutgoingMessage {
  deliveryId: string;
  channel: Channel;
  /** E-mail address, E.164 phone number or push registration token. */
  to: string;
  subject: string | null;
  text: string;
  html: string | null;
  template: string;
}

export interface SendReceipt {
  /** The provider's id for the accepted message (SMTP Message-ID, Twilio SID, FCM message name). */
  providerMessageId: string;
}

/** A send that did not happen. `kind` decides between retry (transient) and giving up (permanent). */
export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly kind: FailureKind;
  /** What the provider asked us to wait (HTTP Retry-After), if anything. */
  readonly retryAfterMs: number | undefined;
  /** The provider says the address itself is gone (unregistered push token): forget it. */
  readonly addressGone: boolean;
  constructor(
    message: string,
    kind: FailureKind,
    options: { retryAfterMs?: number; addressGone?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
    this.addressGone = options.addressGone ?? false;
  }
}

export interface DeliveryProvider {
  /** Recorded on the delivery and its attempts, e.g. `smtp`, `twilio-sms`, `fcm`, `dev-outbox`. */
  readonly name: string;
  readonly channel: Channel;
  /** Sends one message; rejects with ProviderError. Must stop work when `signal` aborts. */
  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendReceipt>;
  close?(): Promise<void>;
}

/** Any error -> ProviderError; an abort (our deadline) is transient, an unknown error too. */
export function asProviderError(error: unknown, signal: AbortSignal): ProviderError {
  if (error instanceof ProviderError) return error;
  if (signal.aborted)
    return new ProviderError('provider did not answer before the deadline', 'transient', { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError(message, 'transient', { cause: error });
}
