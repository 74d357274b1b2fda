/**
 * Every domain event the platform publishes: its CloudEvents `type` (versioned), the topic it travels on
 * and the zod schema of its `data`. Producers and consumers import from here and nowhere else.
 *
 * A breaking change to a payload is a new version (`.v2`) published beside the old one until every
 * consumer has moved; additive fields are fine within a version. Each version has its own topic, so an
 * old version's topic can be drained and deleted as a whole (see `RETIRED_EVENTS`).
 *
 * No secret rides an event: events are kept by outboxes, brokers (Kafka for its whole retention),
 * inboxes and dead-letter tables. One-time codes travel by reference (`codeRef`): the notification
 * service asks identity for the code over an authorised service call at the moment it sends.
 */
import { z } from 'zod';
import { amountStringSchema, currencySchema } from './money.ts';

const id = z.string().min(1);
const isoTime = z.string().datetime({ offset: true });
/**
 * Reference of a one-time code identity holds for delivery (a uuid, not the code and not derived from
 * it). Only the notification service may exchange it for the code (identity's
 * `POST /internal/one-time-codes/{ref}/issue`, internal token from notification, Dapr ACL), at send time.
 */
const codeRef = z.uuid();

export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  /** CloudEvents `type`, e.g. `wallet.ledger.transfer.completed.v1`. */
  type: string;
  /** Pub/sub topic (a RabbitMQ exchange or Kafka topic). */
  topic: string;
  /** The app that owns and publishes it. */
  source: 'identity' | 'wallet-ledger' | 'risk' | 'notification' | 'api-gateway';
  schema: S;
}

function defineEvent<S extends z.ZodType>(def: EventDefinition<S>): EventDefinition<S> {
  return def;
}

export const Events = {
  userRegistered: defineEvent({
    type: 'wallet.identity.user.registered.v2',
    topic: 'identity.user.registered.v2',
    source: 'identity',
    schema: z.object({
      userId: id,
      email: z.string().email(),
      displayName: z.string().nullable(),
      locale: z.string().default('en'),
      /** Reference of the pending e-mail verification code (not the code): see `codeRef`. */
      verificationCodeRef: codeRef,
      verificationExpiresAt: isoTime,
    }),
  }),
  emailVerified: defineEvent({
    type: 'wallet.identity.email.verified.v1',
    topic: 'identity.email.verified',
    source: 'identity',
    schema: z.object({ userId: id, email: z.string().email() }),
  }),
  sessionCreated: defineEvent({
    type: 'wallet.identity.session.created.v1',
    topic: 'identity.session.created',
    source: 'identity',
    schema: z.object({
      userId: id,
      sessionId: id,
      email: z.string().email(),
      deviceName: z.string().nullable(),
      userAgent: z.string().nullable(),
      ip: z.string().nullable(),
      newDevice: z.boolean(),
    }),
  }),
  sessionRevoked: defineEvent({
    type: 'wallet.identity.session.revoked.v1',
    topic: 'identity.session.revoked',
    source: 'identity',
    schema: z.object({ userId: id, sessionIds: z.array(id), reason: z.string() }),
  }),
  recoveryRequested: defineEvent({
    type: 'wallet.identity.recovery.requested.v2',
    topic: 'identity.recovery.requested.v2',
    source: 'identity',
    schema: z.object({ userId: id, email: z.string().email(), codeRef, expiresAt: isoTime }),
  }),
  /**
   * Someone signed up with an address that already has an account (identity answers both alike): the
   * owner is told, with a recovery code by reference in case it was them and they forgot the password.
   */
  signUpAttempted: defineEvent({
    type: 'wallet.identity.sign-up.attempted.v1',
    topic: 'identity.sign-up.attempted',
    source: 'identity',
    schema: z.object({ userId: id, email: z.string().email(), codeRef, expiresAt: isoTime }),
  }),
  /** A new e-mail verification code was asked for (resend); the previous one stops working. */
  emailVerificationRequested: defineEvent({
    type: 'wallet.identity.email.verification.requested.v1',
    topic: 'identity.email.verification.requested',
    source: 'identity',
    schema: z.object({ userId: id, email: z.string().email(), codeRef, expiresAt: isoTime }),
  }),
  passwordChanged: defineEvent({
    type: 'wallet.identity.password.changed.v1',
    topic: 'identity.password.changed',
    source: 'identity',
    schema: z.object({ userId: id, email: z.string().email(), via: z.enum(['recovery', 'settings']) }),
  }),
  mfaChanged: defineEvent({
    type: 'wallet.identity.mfa.changed.v1',
    topic: 'identity.mfa.changed',
    source: 'identity',
    schema: z.object({ userId: id, email: z.string().email(), enabled: z.boolean() }),
  }),
  userLocked: defineEvent({
    type: 'wallet.identity.user.locked.v1',
    topic: 'identity.user.locked',
    source: 'identity',
    schema: z.object({
      userId: id,
      email: z.string().email(),
      reason: z.enum(['failed-logins', 'admin']),
      lockedUntil: isoTime.nullable(),
    }),
  }),
  loginFailed: defineEvent({
    type: 'wallet.identity.login.failed.v1',
    topic: 'identity.login.failed',
    source: 'identity',
    schema: z.object({ userId: id, ip: z.string().nullable(), failedAttempts: z.number().int() }),
  }),
  walletOpened: defineEvent({
    type: 'wallet.ledger.wallet.opened.v1',
    topic: 'ledger.wallet.opened',
    source: 'wallet-ledger',
    schema: z.object({ walletId: id, userId: id, currency: currencySchema }),
  }),
  transferCompleted: defineEvent({
    type: 'wallet.ledger.transfer.completed.v1',
    topic: 'ledger.transfer.completed',
    source: 'wallet-ledger',
    schema: z.object({
      transferId: id,
      fromWalletId: id,
      toWalletId: id,
      fromUserId: id,
      toUserId: id,
      amount: amountStringSchema,
      currency: currencySchema,
      deviceId: z.string().nullable().optional(),
      ip: z.string().nullable().optional(),
      occurredAt: isoTime,
    }),
  }),
  refundCompleted: defineEvent({
    type: 'wallet.ledger.refund.completed.v1',
    topic: 'ledger.refund.completed',
    source: 'wallet-ledger',
    schema: z.object({
      refundId: id,
      transferId: id,
      payerUserId: id,
      payeeUserId: id,
      amount: amountStringSchema,
      currency: currencySchema,
      occurredAt: isoTime,
    }),
  }),
  depositCompleted: defineEvent({
    type: 'wallet.ledger.deposit.completed.v1',
    topic: 'ledger.deposit.completed',
    source: 'wallet-ledger',
    schema: z.object({
      depositId: id,
      walletId: id,
      userId: id,
      amount: amountStringSchema,
      currency: currencySchema,
      providerEventId: z.string(),
      occurredAt: isoTime,
    }),
  }),
  withdrawalRequested: defineEvent({
    type: 'wallet.ledger.withdrawal.requested.v1',
    topic: 'ledger.withdrawal.requested',
    source: 'wallet-ledger',
    schema: z.object({
      withdrawalId: id,
      walletId: id,
      userId: id,
      amount: amountStringSchema,
      currency: currencySchema,
      destination: z.string(),
      occurredAt: isoTime,
    }),
  }),
  withdrawalSettled: defineEvent({
    type: 'wallet.ledger.withdrawal.settled.v1',
    topic: 'ledger.withdrawal.settled',
    source: 'wallet-ledger',
    schema: z.object({
      withdrawalId: id,
      walletId: id,
      userId: id,
      amount: amountStringSchema,
      currency: currencySchema,
      occurredAt: isoTime,
    }),
  }),
  withdrawalFailed: defineEvent({
    type: 'wallet.ledger.withdrawal.failed.v1',
    topic: 'ledger.withdrawal.failed',
    source: 'wallet-ledger',
    schema: z.object({
      withdrawalId: id,
      walletId: id,
      userId: id,
      amount: amountStringSchema,
      currency: currencySchema,
      reason: z.string(),
      occurredAt: isoTime,
    }),
  }),
  balanceLow: defineEvent({
    type: 'wallet.ledger.balance.low.v1',
    topic: 'ledger.balance.low',
    source: 'wallet-ledger',
    schema: z.object({
      walletId: id,
      userId: id,
      available: amountStringSchema,
      currency: currencySchema,
      threshold: amountStringSchema,
    }),
  }),
  anomalyFlagged: defineEvent({
    type: 'wallet.risk.anomaly.flagged.v1',
    topic: 'risk.anomaly.flagged',
    source: 'risk',
    schema: z.object({
      flagId: id,
      userId: id,
      assessmentId: id.nullable(),
      action: z.string(),
      score: z.number().int().min(0).max(100),
      reasons: z.array(z.object({ rule: z.string(), detail: z.string() })),
      occurredAt: isoTime,
    }),
  }),
  deliveryFailed: defineEvent({
    type: 'wallet.notification.delivery.failed.v1',
    topic: 'notification.delivery.failed',
    source: 'notification',
    schema: z.object({
      deliveryId: id,
      userId: id.nullable(),
      channel: z.enum(['email', 'sms', 'push']),
      template: z.string(),
      error: z.string(),
      permanent: z.boolean(),
    }),
  }),
} as const;

export type EventName = keyof typeof Events;
export type EventData<N extends EventName> = z.infer<(typeof Events)[N]['schema']>;
/** The shape a producer hands in (before defaults are applied). */
export type EventInput<N extends EventName> = z.input<(typeof Events)[N]['schema']>;

/**
 * Event versions no producer may publish any more, kept so that nobody reuses their type or topic.
 * Their payloads carried one-time codes; a deployment that ran them drains their topics, then
 * deletes them (and the consumers' queues, inbox and dead-letter rows of those topics): see
 * services/identity/README.md, "Upgrading from the v1 identity events".
 */
export const RETIRED_EVENTS: readonly { type: string; topic: string; replacedBy: EventName; why: string }[] =
  [
    {
      type: 'wallet.identity.user.registered.v1',
      topic: 'identity.user.registered',
      replacedBy: 'userRegistered',
      why: 'carried the e-mail verification code',
    },
    {
      type: 'wallet.identity.recovery.requested.v1',
      topic: 'identity.recovery.requested',
      replacedBy: 'recoveryRequested',
      why: 'carried the account recovery code',
    },
  ];

const byType = new Map<string, EventDefinition>(Object.values(Events).map((e) => [e.type, e]));
const byTopic = new Map<string, EventDefinition>(Object.values(Events).map((e) => [e.topic, e]));

export function eventDefinitionByType(type: string): EventDefinition | undefined {
  return byType.get(type);
}

export function eventDefinitionByTopic(topic: string): EventDefinition | undefined {
  return byTopic.get(topic);
}

/**
 * Dead-letter topic of one consumer's subscription. Per consumer, so that the app whose handler kept
 * failing is the one that stores (and later replays) the message.
 */
export function deadLetterTopicFor(consumerAppId: string, topic: string): string {
  return `dead-letter.${consumerAppId}.${topic}`;
}
