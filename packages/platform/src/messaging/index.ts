export { messagingMigrations } from './schema.ts';
export type {
  ConsumerFailuresTable,
  DeadLetterOrigin,
  DeadLettersTable,
  InboxTable,
  MessagingTables,
  OutboxStatus,
  OutboxTable,
} from './schema.ts';
export { enqueueEvent, InvalidEventError, parseEventData } from './outbox.ts';
export type { EnqueueEventInput } from './outbox.ts';
export { createOutboxRelay } from './relay.ts';
export type { OutboxRelay, OutboxRelayOptions, RelayBatchResult } from './relay.ts';
export { consumeOnce } from './inbox.ts';
export type { ConsumeOutcome } from './inbox.ts';
export {
  DEFAULT_MAX_HANDLED_ATTEMPTS,
  listDeadLetters,
  pruneMessaging,
  replayDeadLetters,
  storeDeadLetter,
  subscribeWithDeadLetters,
} from './dead-letters.ts';
export type {
  DeadLetter,
  DeadLetterPage,
  ListDeadLettersOptions,
  PruneMessagingOptions,
  ReplayResult,
  ReplaySelector,
  StoreDeadLetterInput,
  SubscribeWithDeadLettersOptions,
} from './dead-letters.ts';
export { contractEventHandler, subscribeToEvent } from './consumer.ts';
export type { ContractEventHandler, SubscribeToEventOptions } from './consumer.ts';
