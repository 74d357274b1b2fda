/**
 * Keeps the users' risk profiles current from ledger and identity events. Every consumer is idempotent
 * (`consumeOnce`: the inbox row and the profile change commit together), so a redelivered or replayed
 * event changes nothing. A payload that breaks its contract is dropped to the dead-letter topic, where
 * an operator sees it; any other failure is retried by the broker.
 */
import type { Kysely, Transaction } from 'kysely';
import { Events, type CloudEvent, type EventData, type EventName } from '@wallet/contracts';
import { consumeOnce, contractEventHandler, subscribeWithDeadLetters, type Platform } from '@wallet/platform';
import type { Logger } from '@wallet/service-kit';
import {
  recordDeposit,
  recordLoginFailure,
  recordOutgoingAmount,
  rememberCounterparty,
  rememberDevice,
  recordRefund,
  recordSession,
} from '../db/profiles-repository.ts';
import type { RiskDatabase } from '../db/schema.ts';

type Effect<N extends EventName> = (
  trx: Transaction<RiskDatabase>,
  data: EventData<N>,
  event: CloudEvent<unknown>,
) => Promise<void>;

/** When the event happened: its payload's `occurredAt`, else the envelope's `time`, else now. */
function occurredAt(event: CloudEvent<unknown>, data: { occurredAt?: string }): Date {
  const text = data.occurredAt ?? event.time;
  const at = text ? new Date(text) : new Date();
  return Number.isNaN(at.getTime()) ? new Date() : at;
}

export interface ProfileConsumerDeps {
  platform: Platform;
  db: Kysely<RiskDatabase>;
  logger: Logger;
}

/** The handler of one event kind, exported so tests can drive it without a broker. */
export function profileHandler<N extends EventName>(deps: ProfileConsumerDeps, name: N, effect: Effect<N>) {
  const consumer = `risk.profile:${Events[name].topic}`;
  return contractEventHandler(
    name,
    async (data, event) => {
      await consumeOnce(deps.db, consumer, event, (trx) => effect(trx, data, event));
      return 'SUCCESS';
    },
    deps.logger,
  );
}

export const profileEffects: { [N in EventName]?: Effect<N> } = {
  async transferCompleted(trx, data, event) {
    const at = occurredAt(event, data);
    await recordOutgoingAmount(trx, data.fromUserId, data.currency, BigInt(data.amount), at);
    // The ledger may name the payee by wallet or by user when it asks for an assessment: remember both.
    await rememberCounterparty(trx, data.fromUserId, data.toWalletId, at);
    if (data.toUserId !== data.toWalletId)
      await rememberCounterparty(trx, data.fromUserId, data.toUserId, at);
    if (data.deviceId) await rememberDevice(trx, data.fromUserId, data.deviceId, at);
  },
  async withdrawalRequested(trx, data, event) {
    const at = occurredAt(event, data);
    await recordOutgoingAmount(trx, data.userId, data.currency, BigInt(data.amount), at);
    await rememberCounterparty(trx, data.userId, data.destination, at);
  },
  async refundCompleted(trx, data, event) {
    await recordRefund(trx, { ...data, occurredAt: occurredAt(event, data) });
  },
  async depositCompleted(trx, data, event) {
    await recordDeposit(trx, { ...data, occurredAt: occurredAt(event, data) });
  },
  async loginFailed(trx, data, event) {
    await recordLoginFailure(trx, {
      eventId: event.id,
      userId: data.userId,
      ip: data.ip,
      failedAttempts: data.failedAttempts,
      occurredAt: occurredAt(event, {}),
    });
  },
  async sessionCreated(trx, data, event) {
    await recordSession(trx, {
      sessionId: data.sessionId,
      userId: data.userId,
      newDevice: data.newDevice,
      ip: data.ip,
      createdAt: occurredAt(event, {}),
    });
  },
};

export const CONSUMED_EVENTS = [
  'transferCompleted',
  'withdrawalRequested',
  'refundCompleted',
  'depositCompleted',
  'loginFailed',
  'sessionCreated',
] as const satisfies readonly EventName[];

/** Subscribes every profile consumer (before the app listens: daprd reads subscriptions once). */
export function subscribeProfileConsumers(deps: ProfileConsumerDeps): void {
  for (const name of CONSUMED_EVENTS) {
    const effect = profileEffects[name] as Effect<typeof name>;
    subscribeWithDeadLetters(
      deps.platform,
      deps.db,
      'risk',
      Events[name].topic,
      profileHandler(deps, name, effect),
      { logger: deps.logger },
    );
  }
}
