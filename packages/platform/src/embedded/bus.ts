/**
 * The in-process message bus behind the embedded transport. One `EmbeddedBus` per process, shared by
 * every app in it: it plays the broker (topics, one consumer group per app id, redelivery, dead-letter
 * topics), the name resolver for service invocation (app id -> base URL) and the state store.
 *
 * It is deliberately in-memory: the embedded mode is for one developer machine. A process exit loses
 * deliveries in flight, which the outbox makes harmless (rows stay pending until published).
 */
import type { CloudEvent } from '@wallet/contracts';
import { backoffWithFullJitter } from '../internal/backoff.ts';
import { DEFAULT_PUBSUB_NAME } from '../internal/envelope.ts';
import { describeError, silentLogger } from '../logger.ts';
import type { PlatformLogger } from '../logger.ts';
import type { EventHandler, SubscriptionStatus } from '../port.ts';
import { traceConsume } from '../tracing.ts';

export interface EmbeddedBusOptions {
  logger?: PlatformLogger;
  /**
   * Hold every publish until `start()` is called. The embedded host builds all apps (so every
   * subscription exists) before anything is delivered, the way durable broker queues would.
   */
  startPaused?: boolean;
  /** Reported as `pubsubname` in envelopes; `pubsub` like the Dapr component. */
  pubsubName?: string;
}

export interface EmbeddedRetryPolicy {
  /** Deliveries per message before it goes to the dead-letter topic (first delivery included). */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

interface Member {
  owner: symbol;
  handler: EventHandler;
  deadLetterTopic: string | undefined;
  retry: EmbeddedRetryPolicy;
  logger: PlatformLogger;
}

/** All subscribers of one app id to one topic: a message goes to one of them (consumer group). */
interface ConsumerGroup {
  topic: string;
  appId: string;
  members: Member[];
  next: number;
}

interface StateEntry {
  json: string;
  etag: string;
  expiresAt: number | undefined;
}

const STATUSES: ReadonlySet<string> = new Set<SubscriptionStatus>(['SUCCESS', 'RETRY', 'DROP']);
const STATE_SWEEP_INTERVAL_MS = 1_000;

/** The bus's working parts; reachable by the embedded platform through `busCore`, not exported from the package. */
export class EmbeddedBusCore {
  readonly logger: PlatformLogger;
  readonly pubsubName: string;
  readonly #apps = new Map<string, string>();
  readonly #groups = new Map<string, Map<string, ConsumerGroup>>();
  readonly #state = new Map<string, Map<string, StateEntry>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #held: { topic: string; envelope: CloudEvent<unknown> }[] = [];
  #idleWaiters: (() => void)[] = [];
  #pending = 0;
  #paused: boolean;
  #closed = false;
  #etagSeq = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: EmbeddedBusOptions) {
    this.logger = options.logger ?? silentLogger;
    this.pubsubName = options.pubsubName ?? DEFAULT_PUBSUB_NAME;
    this.#paused = options.startPaused ?? false;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get pendingDeliveries(): number {
    return this.#pending;
  }

  ensureOpen(): void {
    if (this.#closed) throw new Error('the embedded bus is closed');
  }

  // ---- service invocation: name resolution -------------------------------------------------

  registerApp(appId: string, baseUrl: string): void {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`registerApp ${appId}: base URL must be http(s), got ${baseUrl}`);
    }
    this.#apps.set(appId, baseUrl.replace(/\/+$/, ''));
  }

  unregisterApp(appId: string): void {
    this.#apps.delete(appId);
  }

  resolveApp(appId: string): string | undefined {
    return this.#apps.get(appId);
  }

  // ---- pub/sub ---------------------------------------------------------------------------------

  subscribe(topic: string, appId: string, member: Member): () => void {
    this.ensureOpen();
    let byApp = this.#groups.get(topic);
    if (!byApp) {
      byApp = new Map();
      this.#groups.set(topic, byApp);
    }
    let group = byApp.get(appId);
    if (!group) {
      group = { topic, appId, members: [], next: 0 };
      byApp.set(appId, group);
    }
    if (group.members.some((m) => m.owner === member.owner)) {
      throw new Error(`app ${appId} already subscribes to ${topic}: one handler per topic per app`);
    }
    group.members.push(member);
    const joined = group;
    return () => {
      joined.members = joined.members.filter((m) => m !== member);
    };
  }

  publish(topic: string, envelope: CloudEvent<unknown>): void {
    this.ensureOpen();
    if (this.#paused) {
      this.#held.push({ topic, envelope });
      return;
    }
    this.#fanOut(topic, envelope);
  }

  start(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const { topic, envelope } of this.#held.splice(0)) this.#fanOut(topic, envelope);
  }

  #fanOut(topic: string, envelope: CloudEvent<unknown>): void {
    const groups = [...(this.#groups.get(topic)?.values() ?? [])].filter((g) => g.members.length > 0);
    if (groups.length === 0) {
      // Like a broker exchange with no queue bound: nobody subscribed, nothing to deliver.
      this.logger.debug({ topic, eventId: envelope.id }, 'embedded bus: no subscriber for topic');
      return;
    }
    for (const group of groups) this.#schedule(group, envelope, 1, 0);
  }

  #schedule(group: ConsumerGroup, envelope: CloudEvent<unknown>, attempt: number, delayMs: number): void {
    this.#pending += 1;
    // Always through the timer queue: the publisher never runs a handler synchronously.
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#deliver(group, envelope, attempt).finally(() => this.#settle());
    }, delayMs);
    this.#timers.add(timer);
  }

  #settle(): void {
    if (this.#closed) return;
    this.#pending -= 1;
    if (this.#pending === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  async #deliver(group: ConsumerGroup, envelope: CloudEvent<unknown>, attempt: number): Promise<void> {
    if (this.#closed) return;
    if (group.members.length === 0) {
      this.logger.warn(
        { topic: group.topic, consumer: group.appId, eventId: envelope.id },
        'embedded bus: subscriber went away; message not delivered',
      );
      return;
    }
    const member = group.members[group.next % group.members.length]!;
    group.next += 1;
    let failure: unknown;
    const status = await traceConsume(
      envelope,
      { topic: group.topic, consumer: group.appId },
      async (span): Promise<SubscriptionStatus> => {
        let outcome: SubscriptionStatus;
        try {
          const answer: unknown = await member.handler(structuredClone(envelope));
          if (typeof answer === 'string' && STATUSES.has(answer)) {
            outcome = answer as SubscriptionStatus;
          } else {
            outcome = 'RETRY';
            failure = new Error(`handler answered ${JSON.stringify(answer)}, not SUCCESS/RETRY/DROP`);
          }
        } catch (error) {
          // A throwing handler never loses the message: it is redelivered like RETRY.
          outcome = 'RETRY';
          failure = error;
        }
        span.setAttribute('wallet.delivery.status', outcome);
        return outcome;
      },
    );
    if (this.#closed) return;
    const where = { topic: group.topic, consumer: group.appId, eventId: envelope.id, attempt };
    if (status === 'SUCCESS') return;
    if (status === 'DROP') {
      member.logger.warn(where, 'handler answered DROP');
      this.#deadLetter(group, member, envelope, 'DROP');
      return;
    }
    if (attempt >= member.retry.maxAttempts) {
      member.logger.error(
        { ...where, ...(failure === undefined ? {} : { err: describeError(failure) }) },
        'delivery attempts exhausted',
      );
      this.#deadLetter(group, member, envelope, 'attempts exhausted');
      return;
    }
    const delayMs = backoffWithFullJitter(attempt, member.retry.initialBackoffMs, member.retry.maxBackoffMs);
    member.logger.warn(
      { ...where, delayMs, ...(failure === undefined ? {} : { err: describeError(failure) }) },
      'delivery failed; will redeliver',
    );
    this.#schedule(group, envelope, attempt + 1, delayMs);
  }

  #deadLetter(group: ConsumerGroup, member: Member, envelope: CloudEvent<unknown>, why: string): void {
    const where = { topic: group.topic, consumer: group.appId, eventId: envelope.id, why };
    if (member.deadLetterTopic === undefined) {
      member.logger.error(where, 'message dropped: the subscription has no dead-letter topic');
      return;
    }
    const hasSubscriber = [...(this.#groups.get(member.deadLetterTopic)?.values() ?? [])].some(
      (g) => g.members.length > 0,
    );
    if (!hasSubscriber) {
      member.logger.error(
        { ...where, deadLetterTopic: member.deadLetterTopic },
        'message dropped: nobody subscribes to the dead-letter topic',
      );
      return;
    }
    member.logger.warn(
      { ...where, deadLetterTopic: member.deadLetterTopic },
      'message sent to dead-letter topic',
    );
    // The original envelope travels unchanged (same id, type, source, data), as daprd forwards it.
    this.#fanOut(member.deadLetterTopic, envelope);
  }

  /** Resolves once no delivery is scheduled or running (retries included). Held messages do not count. */
  drain(timeoutMs: number): Promise<void> {
    if (this.#pending === 0 || this.#closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== wake);
        reject(
          new Error(`embedded bus still has ${this.#pending} deliveries in flight after ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#idleWaiters.push(wake);
    });
  }

  // ---- state -------------------------------------------------------------------------------------

  /** Keys are scoped per app id, like Dapr's default `keyPrefix: appid`. */
  stateOf(appId: string): Map<string, StateEntry> {
    let store = this.#state.get(appId);
    if (!store) {
      store = new Map();
      this.#state.set(appId, store);
    }
    return store;
  }

  nextEtag(): string {
    this.#etagSeq += 1;
    return String(this.#etagSeq);
  }

  /** Expired entries are hidden on read; this sweep only keeps memory from growing. */
  ensureStateSweeper(): void {
    if (this.#sweeper || this.#closed) return;
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const store of this.#state.values()) {
        for (const [key, entry] of store) {
          if (entry.expiresAt !== undefined && entry.expiresAt <= now) store.delete(key);
        }
      }
    }, STATE_SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#sweeper) clearInterval(this.#sweeper);
    if (this.#pending > 0) {
      this.logger.warn({ pending: this.#pending }, 'embedded bus closed with deliveries in flight');
    }
    this.#pending = 0;
    this.#held.length = 0;
    this.#groups.clear();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

export type { StateEntry as EmbeddedStateEntry, Member as EmbeddedSubscriptionMember };

const cores = new WeakMap<EmbeddedBus, EmbeddedBusCore>();

/** Package-internal: the embedded platform reaches the bus's working parts through this. */
export function busCore(bus: EmbeddedBus): EmbeddedBusCore {
  const core = cores.get(bus);
  if (!core) throw new TypeError('not an EmbeddedBus');
  return core;
}

/** Create one per process and hand it to every `createEmbeddedPlatform` in that process. */
export class EmbeddedBus {
  constructor(options: EmbeddedBusOptions = {}) {
    cores.set(this, new EmbeddedBusCore(options));
  }

  /** Makes `appId` reachable by `invoke` (e.g. `http://127.0.0.1:<port>`). */
  registerApp(appId: string, baseUrl: string): void {
    busCore(this).registerApp(appId, baseUrl);
  }

  unregisterApp(appId: string): void {
    busCore(this).unregisterApp(appId);
  }

  /** Releases messages held since construction with `startPaused: true`. */
  start(): void {
    busCore(this).start();
  }

  /** Deliveries scheduled or running (redeliveries waiting on their backoff included). */
  get pendingDeliveries(): number {
    return busCore(this).pendingDeliveries;
  }

  /**
   * Waits until nothing is in flight (every delivery settled: handled, dead-lettered or dropped).
   * Rejects after `timeoutMs` (default 10 s). Meant for tests and graceful shutdown.
   */
  drain(options: { timeoutMs?: number } = {}): Promise<void> {
    return busCore(this).drain(options.timeoutMs ?? 10_000);
  }

  /** Stops every timer; deliveries still pending are abandoned (logged). */
  close(): Promise<void> {
    busCore(this).close();
    return Promise.resolve();
  }
}
