/**
 * The platform port: the one door from our code to Dapr's building blocks (service invocation,
 * pub/sub, state). Two transports implement it: `embedded` (in-process, same contract) and `dapr`
 * (the sidecar). Services depend on this interface only, never on @dapr/dapr.
 */
import type { CloudEvent } from '@wallet/contracts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface InvokeRequest {
  appId: string;
  method: HttpMethod;
  /** Path on the target app, starting with `/`, query string included. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Per-call timeout; defaults to the transport's. Inside a request (see `runWithDeadline`) it is
   * capped by what is left of that request's time budget.
   */
  timeoutMs?: number;
}

/** The callee's answer, passed through intact (problem+json included); never thrown for non-2xx. */
export interface InvokeResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the callee answered JSON, the raw text otherwise, undefined when empty. */
  body: unknown;
}

/**
 * Thrown when the target gave no answer: the call timed out (or the caller's budget was spent before
 * it could be made), the target could not be reached, or its circuit breaker is open after repeated
 * failures (then the call was not made at all; `retryAfterMs` says when a probe will be let through).
 */
export class InvocationError extends Error {
  override name = 'InvocationError';
  readonly appId: string;
  readonly reason: 'timeout' | 'unreachable' | 'circuit-open';
  readonly retryAfterMs: number | undefined;
  // Plain fields, not parameter properties: Node's type stripping only accepts erasable syntax.
  constructor(
    message: string,
    appId: string,
    reason: 'timeout' | 'unreachable' | 'circuit-open',
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.appId = appId;
    this.reason = reason;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * Thrown when the platform itself could not be reached (the app's sidecar is down or restarting, or
 * did not answer in time): a passing outage of a dependency, not a bug. Services answer it with 503
 * `dependency-unavailable` and Retry-After (service-kit's problem handler), never a 500.
 */
export class PlatformUnavailableError extends Error {
  override name = 'PlatformUnavailableError';
}

/** What a subscriber answers, exactly as Dapr defines it. */
export type SubscriptionStatus = 'SUCCESS' | 'RETRY' | 'DROP';

export type EventHandler = (event: CloudEvent<unknown>) => Promise<SubscriptionStatus>;

export interface SubscribeOptions {
  /** Where a message goes after DROP or after the retries are exhausted. */
  deadLetterTopic?: string;
}

export interface PublishOptions {
  /** CloudEvent id; set it to the outbox row id so consumers can de-duplicate. */
  id?: string;
  /** Ordering key (Kafka message key); use the aggregate id. */
  partitionKey?: string;
  /** W3C trace context to carry in the envelope. */
  traceparent?: string;
  subject?: string;
}

export interface OutgoingEvent {
  /** CloudEvents `type` (versioned). */
  type: string;
  /** Producing app id (CloudEvents `source`). */
  source: string;
  data: unknown;
}

export interface StateSetOptions {
  ttlSeconds?: number;
  /** Write only if the stored ETag still matches (first-write-wins when the key is new: pass null). */
  etag?: string | null;
}

export interface StateItem<T> {
  value: T;
  etag: string;
}

/** Thrown by `state.set`/`state.delete` when an ETag precondition fails. */
export class EtagMismatchError extends Error {
  override name = 'EtagMismatchError';
}

export interface StateStore {
  get<T = unknown>(key: string): Promise<StateItem<T> | undefined>;
  set(key: string, value: unknown, options?: StateSetOptions): Promise<void>;
  delete(key: string, options?: { etag?: string }): Promise<void>;
}

export interface Platform {
  readonly transport: 'embedded' | 'dapr';
  /** The app id this platform speaks for (the CloudEvents `source` of what the app publishes). */
  readonly appId: string;
  invoke(request: InvokeRequest): Promise<InvokeResponse>;
  publish(topic: string, event: OutgoingEvent, options?: PublishOptions): Promise<void>;
  /**
   * Registers a handler. On the dapr transport, subscriptions must be registered before the app
   * starts listening, because daprd reads `GET /dapr/subscribe` once at start.
   */
  subscribe(topic: string, handler: EventHandler, options?: SubscribeOptions): void;
  readonly state: StateStore;
  /** Whether the transport (sidecar) is ready; used by `/readyz`. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}
