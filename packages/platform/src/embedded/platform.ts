/**
 * The embedded transport: the platform port implemented in-process on a shared `EmbeddedBus`, with
 * the same observable contract as the Dapr transport (CloudEvents envelopes, consumer groups per app
 * id, redelivery with backoff, dead-letter topics, HTTP invocation, state with TTL and ETags).
 */
import {
  assertInvokePath,
  encodeInvokeRequest,
  readInvokeResponse,
  toInvocationError,
} from '../internal/http.ts';
import { assertPublishable, buildCloudEvent } from '../internal/envelope.ts';
import { createInvokePolicy, type InvokePolicyOptions } from '../resilience/invoke-policy.ts';
import type { PlatformLogger } from '../logger.ts';
import { EtagMismatchError, InvocationError } from '../port.ts';
/* jscpd:ignore-start -- the port's types, imported by both transports */
import type {
  EventHandler,
  InvokeRequest,
  InvokeResponse,
  OutgoingEvent,
  Platform,
  PublishOptions,
  StateItem,
  StateSetOptions,
  StateStore,
  SubscribeOptions,
} from '../port.ts';
/* jscpd:ignore-end */
import { activeTraceparent, traceInvoke } from '../tracing.ts';
import { busCore } from './bus.ts';
import type { EmbeddedBus, EmbeddedRetryPolicy } from './bus.ts';

export interface EmbeddedPlatformOptions {
  appId: string;
  bus: EmbeddedBus;
  logger: PlatformLogger;
  /** Redelivery policy for this app's subscriptions (Dapr: the pub/sub inbound Resiliency policy). */
  retry?: Partial<EmbeddedRetryPolicy>;
  /** Default invocation timeout (per call: `InvokeRequest.timeoutMs`). Default 10 s. */
  invokeTimeoutMs?: number;
  /** Time budget, circuit breaker and retry of `invoke`, as on the Dapr transport. */
  invokePolicy?: InvokePolicyOptions;
}

export const DEFAULT_EMBEDDED_RETRY: EmbeddedRetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
};

function resolveRetry(appId: string, retry: Partial<EmbeddedRetryPolicy> | undefined): EmbeddedRetryPolicy {
  const policy = { ...DEFAULT_EMBEDDED_RETRY, ...retry };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`${appId}: retry.maxAttempts must be an integer >= 1`);
  }
  if (policy.initialBackoffMs < 0 || policy.maxBackoffMs < policy.initialBackoffMs) {
    throw new RangeError(`${appId}: retry backoff needs 0 <= initialBackoffMs <= maxBackoffMs`);
  }
  return policy;
}

export function createEmbeddedPlatform(options: EmbeddedPlatformOptions): Platform {
  const { appId, bus, logger } = options;
  const core = busCore(bus);
  const retry = resolveRetry(appId, options.retry);
  const invokeTimeoutMs = options.invokeTimeoutMs ?? 10_000;
  const invokePolicy = createInvokePolicy(appId, logger, invokeTimeoutMs, options.invokePolicy);
  const owner = Symbol(appId);
  const unsubscribers: (() => void)[] = [];
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error(`platform for ${appId} is closed`);
    core.ensureOpen();
  };

  const state: StateStore = {
    get<T = unknown>(key: string): Promise<StateItem<T> | undefined> {
      ensureOpen();
      const store = core.stateOf(appId);
      const entry = store.get(key);
      if (!entry) return Promise.resolve(undefined);
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
        store.delete(key);
        return Promise.resolve(undefined);
      }
      return Promise.resolve({ value: JSON.parse(entry.json) as T, etag: entry.etag });
    },

    set(key: string, value: unknown, setOptions: StateSetOptions = {}): Promise<void> {
      ensureOpen();
      const json = JSON.stringify(value);
      if (json === undefined)
        return Promise.reject(new TypeError(`state.set ${key}: value is not JSON-serialisable`));
      const { ttlSeconds, etag } = setOptions;
      if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)) {
        return Promise.reject(new RangeError(`state.set ${key}: ttlSeconds must be a positive integer`));
      }
      const store = core.stateOf(appId);
      const now = Date.now();
      const current = store.get(key);
      const live =
        current && (current.expiresAt === undefined || current.expiresAt > now) ? current : undefined;
      if (etag === null && live) {
        return Promise.reject(
          new EtagMismatchError(`state.set ${key}: key already exists (first write wins)`),
        );
      }
      if (typeof etag === 'string' && live?.etag !== etag) {
        return Promise.reject(new EtagMismatchError(`state.set ${key}: ETag does not match`));
      }
      store.set(key, {
        json,
        etag: core.nextEtag(),
        expiresAt: ttlSeconds === undefined ? undefined : now + ttlSeconds * 1000,
      });
      if (ttlSeconds !== undefined) core.ensureStateSweeper();
      return Promise.resolve();
    },

    delete(key: string, deleteOptions: { etag?: string } = {}): Promise<void> {
      ensureOpen();
      const store = core.stateOf(appId);
      const current = store.get(key);
      const live =
        current && (current.expiresAt === undefined || current.expiresAt > Date.now()) ? current : undefined;
      if (deleteOptions.etag !== undefined && live?.etag !== deleteOptions.etag) {
        return Promise.reject(new EtagMismatchError(`state.delete ${key}: ETag does not match`));
      }
      store.delete(key);
      return Promise.resolve();
    },
  };

  return {
    transport: 'embedded',
    appId,
    state,

    publish(topic: string, event: OutgoingEvent, publishOptions: PublishOptions = {}): Promise<void> {
      try {
        ensureOpen();
        assertPublishable(topic, event);
        const traceparent = publishOptions.traceparent ?? activeTraceparent();
        core.publish(
          topic,
          buildCloudEvent(
            topic,
            event,
            { ...publishOptions, ...(traceparent ? { traceparent } : {}) },
            core.pubsubName,
          ),
        );
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },

    subscribe(topic: string, handler: EventHandler, subscribeOptions: SubscribeOptions = {}): void {
      ensureOpen();
      unsubscribers.push(
        core.subscribe(topic, appId, {
          owner,
          handler,
          deadLetterTopic: subscribeOptions.deadLetterTopic,
          retry,
          logger,
        }),
      );
    },

    async invoke(request: InvokeRequest): Promise<InvokeResponse> {
      ensureOpen();
      assertInvokePath(request);
      return invokePolicy.invoke(request, (call, timeoutMs) =>
        traceInvoke(appId, call, async () => {
          const baseUrl = core.resolveApp(call.appId);
          if (baseUrl === undefined) {
            throw new InvocationError(
              `invoke ${call.appId}: no such app on the embedded bus`,
              call.appId,
              'unreachable',
            );
          }
          const { headers, body } = encodeInvokeRequest(call, ['dapr-api-token', 'dapr-caller-app-id']);
          // daprd tells the callee who called; keep the embedded mode honest about it too.
          headers.set('dapr-caller-app-id', appId);
          try {
            const response = await fetch(`${baseUrl}${call.path}`, {
              method: call.method,
              headers,
              ...(body === undefined ? {} : { body }),
              redirect: 'manual',
              signal: AbortSignal.timeout(timeoutMs),
            });
            return await readInvokeResponse(response);
          } catch (error) {
            throw toInvocationError(error, call.appId, timeoutMs);
          }
        }),
      );
    },

    ready(): Promise<boolean> {
      return Promise.resolve(!closed && !core.closed);
    },

    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
      return Promise.resolve();
    },
  };
}
