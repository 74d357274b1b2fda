/**
 * The Dapr transport. Outbound calls go to the app's own sidecar on 127.0.0.1:
 * - publish through the @dapr/dapr `DaprClient` (its `{error}` answer checked, never ignored), with
 *   CloudEvent overrides in publish metadata so the envelope carries our id, type, source and trace;
 * - invoke and state through the sidecar's HTTP API directly: the SDK throws away response headers on
 *   invocation and cannot express ETag preconditions (see DAPR-NOTES.md);
 * - readiness from `/v1.0/healthz/outbound`.
 * Inbound deliveries are served by `daprSubscriptionRouter` from the app's own Express app.
 */
import { randomUUID } from 'node:crypto';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import type { LoggerService } from '@dapr/dapr';
import {
  assertInvokePath,
  encodeInvokeRequest,
  readInvokeResponse,
  toInvocationError,
} from '../internal/http.ts';
import { assertPublishable, DEFAULT_PUBSUB_NAME } from '../internal/envelope.ts';
import { createInvokePolicy, type InvokePolicyOptions } from '../resilience/invoke-policy.ts';
import type { PlatformLogger } from '../logger.ts';
import { EtagMismatchError, InvocationError, PlatformUnavailableError } from '../port.ts';
import { activeTraceparent, traceInvoke } from '../tracing.ts';
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

export interface DaprPlatformOptions {
  appId: string;
  daprHttpPort: number;
  /** Only used when `publishProtocol` is `grpc`. */
  daprGrpcPort?: number;
  /** `http` (default) or `grpc` for the SDK client that publishes. Invoke and state always use HTTP. */
  publishProtocol?: 'http' | 'grpc';
  daprApiToken?: string;
  /** Default 127.0.0.1: the sidecar always runs beside the app. */
  daprHost?: string;
  logger: PlatformLogger;
  /** Timeout of each sidecar call (per invocation: `InvokeRequest.timeoutMs`). Default 5 s. */
  timeoutMs?: number;
  /** Dapr pub/sub component name. Default `pubsub`. */
  pubsubName?: string;
  /** Dapr state store component name. Default `statestore`. */
  stateStoreName?: string;
  /** Time budget, circuit breaker and retry of `invoke` (see `resilience/invoke-policy.ts`). */
  invokePolicy?: InvokePolicyOptions;
}

export interface DaprSubscription {
  topic: string;
  handler: EventHandler;
  deadLetterTopic: string | undefined;
}

export interface DaprPlatform extends Platform {
  readonly transport: 'dapr';
  readonly pubsubName: string;
  /** What `GET /dapr/subscribe` announces, in registration order. */
  subscriptions(): readonly DaprSubscription[];
}

/** Package-internal bookkeeping shared with the router. */
export interface DaprPlatformInternals {
  logger: PlatformLogger;
  byTopic: Map<string, DaprSubscription>;
  /** Set once daprd has read `/dapr/subscribe`; later subscriptions are not seen until it restarts. */
  announced: boolean;
}

const internals = new WeakMap<DaprPlatform, DaprPlatformInternals>();

export function daprPlatformInternals(platform: DaprPlatform): DaprPlatformInternals {
  const found = internals.get(platform);
  if (!found) throw new TypeError('daprSubscriptionRouter needs a platform made by createDaprPlatform');
  return found;
}

/** The SDK logs through this; debug/verbose lines are dropped because they print request headers (the API token). */
function sdkLogger(logger: PlatformLogger): LoggerService {
  const text = (message: unknown): string => (typeof message === 'string' ? message : String(message));
  return {
    error: (message: unknown) => logger.error({ component: 'dapr-sdk' }, text(message)),
    warn: (message: unknown) => logger.warn({ component: 'dapr-sdk' }, text(message)),
    info: () => {},
    verbose: () => {},
    debug: () => {},
  };
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer from the sidecar within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** daprd's own error body: `{"errorCode": "ERR_...", "message": "..."}`. */
function daprErrorOf(body: unknown): { errorCode: string; message: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { errorCode, message } = body as Record<string, unknown>;
  if (typeof errorCode !== 'string') return undefined;
  return { errorCode, message: typeof message === 'string' ? message : '' };
}

async function readBodyText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

/** The ETag of a key that does not exist yet in the Redis state store (its versions start at 1). */
const ABSENT_KEY_ETAG = '0';

/** An ETag precondition failure as daprd reports it: 409 mismatch, 412, or 400 for an ETag the store cannot parse. */
function isEtagFailure(status: number, bodyText: string): boolean {
  if (status === 409 || status === 412) return true;
  return status === 400 && /etag/i.test(bodyText);
}

export function createDaprPlatform(options: DaprPlatformOptions): DaprPlatform {
  const { appId, logger } = options;
  const host = options.daprHost ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 5_000;
  const pubsubName = options.pubsubName ?? DEFAULT_PUBSUB_NAME;
  const stateStoreName = options.stateStoreName ?? 'statestore';
  const sidecarUrl = `http://${host}:${options.daprHttpPort}`;
  const protocol = options.publishProtocol ?? 'http';
  if (protocol === 'grpc' && options.daprGrpcPort === undefined) {
    throw new Error(`${appId}: publishProtocol grpc needs daprGrpcPort`);
  }
  const client = new DaprClient({
    daprHost: host,
    daprPort: String(protocol === 'grpc' ? options.daprGrpcPort : options.daprHttpPort),
    communicationProtocol:
      protocol === 'grpc' ? CommunicationProtocolEnum.GRPC : CommunicationProtocolEnum.HTTP,
    ...(options.daprApiToken === undefined ? {} : { daprApiToken: options.daprApiToken }),
    logger: { level: LogLevel.Warn, service: sdkLogger(logger) },
  });
  const own: DaprPlatformInternals = { logger, byTopic: new Map(), announced: false };
  const invokePolicy = createInvokePolicy(appId, logger, timeoutMs, options.invokePolicy);
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error(`platform for ${appId} is closed`);
  };

  const sidecarHeaders = (): Headers => {
    const headers = new Headers();
    if (options.daprApiToken !== undefined) headers.set('dapr-api-token', options.daprApiToken);
    return headers;
  };

  /** A call to the sidecar's HTTP API; network failures and timeouts surface as errors naming the sidecar. */
  const sidecarFetch = async (path: string, init: RequestInit, what: string): Promise<Response> => {
    try {
      return await fetch(`${sidecarUrl}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const reason =
        error instanceof DOMException && error.name === 'TimeoutError'
          ? `timed out after ${timeoutMs} ms`
          : 'unreachable';
      throw new PlatformUnavailableError(`${what}: Dapr sidecar ${reason}`, { cause: error });
    }
  };

  const stateKeyPath = (key: string): string =>
    `/v1.0/state/${encodeURIComponent(stateStoreName)}/${encodeURIComponent(key)}`;

  const state: StateStore = {
    async get<T = unknown>(key: string): Promise<StateItem<T> | undefined> {
      ensureOpen();
      const response = await sidecarFetch(
        `${stateKeyPath(key)}?consistency=strong`,
        { headers: sidecarHeaders() },
        `state.get ${key}`,
      );
      const text = await readBodyText(response);
      if (response.status === 204 || (response.ok && text.length === 0)) return undefined;
      if (!response.ok) {
        throw new Error(`state.get ${key}: sidecar answered ${response.status} ${text.slice(0, 200)}`);
      }
      return { value: JSON.parse(text) as T, etag: response.headers.get('etag') ?? '' };
    },

    async set(key: string, value: unknown, setOptions: StateSetOptions = {}): Promise<void> {
      ensureOpen();
      const { ttlSeconds, etag } = setOptions;
      if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)) {
        throw new RangeError(`state.set ${key}: ttlSeconds must be a positive integer`);
      }
      if (JSON.stringify(value) === undefined)
        throw new TypeError(`state.set ${key}: value is not JSON-serialisable`);
      const item: Record<string, unknown> = { key, value };
      if (etag !== undefined) {
        // first-write concurrency makes the store enforce the precondition. "Only if absent" (etag
        // null) is sent as ETag "0": the version the Redis store (our `statestore`) gives an absent
        // key, so a taken key is an ETag mismatch (409, not retried). Sent without an ETag, real
        // daprd + Redis refuses a taken key with a plain 500 that the resiliency policy retries for
        // about 2 s and that is not recognisable as a conflict (seen in test/dapr).
        item['options'] = { concurrency: 'first-write', consistency: 'strong' };
        item['etag'] = etag ?? ABSENT_KEY_ETAG;
      }
      if (ttlSeconds !== undefined) item['metadata'] = { ttlInSeconds: String(ttlSeconds) };
      const headers = sidecarHeaders();
      headers.set('content-type', 'application/json');
      const response = await sidecarFetch(
        `/v1.0/state/${encodeURIComponent(stateStoreName)}`,
        { method: 'POST', headers, body: JSON.stringify([item]) },
        `state.set ${key}`,
      );
      if (response.ok) {
        await readBodyText(response);
        return;
      }
      const text = await readBodyText(response);
      if (etag !== undefined && isEtagFailure(response.status, text)) {
        throw new EtagMismatchError(`state.set ${key}: ETag precondition failed`);
      }
      throw new Error(`state.set ${key}: sidecar answered ${response.status} ${text.slice(0, 200)}`);
    },

    async delete(key: string, deleteOptions: { etag?: string } = {}): Promise<void> {
      ensureOpen();
      const headers = sidecarHeaders();
      let query = '';
      if (deleteOptions.etag !== undefined) {
        headers.set('if-match', deleteOptions.etag);
        query = '?concurrency=first-write&consistency=strong';
      }
      const response = await sidecarFetch(
        `${stateKeyPath(key)}${query}`,
        { method: 'DELETE', headers },
        `state.delete ${key}`,
      );
      const text = await readBodyText(response);
      if (response.ok) return;
      if (deleteOptions.etag !== undefined && isEtagFailure(response.status, text)) {
        throw new EtagMismatchError(`state.delete ${key}: ETag precondition failed`);
      }
      throw new Error(`state.delete ${key}: sidecar answered ${response.status} ${text.slice(0, 200)}`);
    },
  };

  /** One call through the sidecar, no policy: the callee's answer, or InvocationError when there is none. */
  const invokeThroughSidecar = async (
    request: InvokeRequest,
    callTimeoutMs: number,
  ): Promise<InvokeResponse> => {
    const { headers, body } = encodeInvokeRequest(request, ['dapr-api-token']);
    if (options.daprApiToken !== undefined) headers.set('dapr-api-token', options.daprApiToken);
    let answer: InvokeResponse;
    try {
      const response = await fetch(
        `${sidecarUrl}/v1.0/invoke/${encodeURIComponent(request.appId)}/method${request.path}`,
        {
          method: request.method,
          headers,
          ...(body === undefined ? {} : { body }),
          redirect: 'manual',
          signal: AbortSignal.timeout(callTimeoutMs),
        },
      );
      answer = await readInvokeResponse(response);
    } catch (error) {
      throw toInvocationError(error, request.appId, callTimeoutMs);
    }
    // daprd answers for the callee only when it could not reach it; anything else is the callee's own answer.
    const daprError = answer.status >= 500 ? daprErrorOf(answer.body) : undefined;
    if (daprError?.errorCode === 'ERR_DIRECT_INVOKE') {
      const reason = /deadline exceeded|timeout/i.test(daprError.message) ? 'timeout' : 'unreachable';
      throw new InvocationError(`invoke ${request.appId}: ${daprError.message}`, request.appId, reason);
    }
    return answer;
  };

  const platform: DaprPlatform = {
    transport: 'dapr',
    appId,
    pubsubName,
    state,

    subscriptions(): readonly DaprSubscription[] {
      return [...own.byTopic.values()];
    },

    async publish(topic: string, event: OutgoingEvent, publishOptions: PublishOptions = {}): Promise<void> {
      ensureOpen();
      assertPublishable(topic, event);
      if (JSON.stringify(event.data) === undefined)
        throw new TypeError(`publish to ${topic}: data is not JSON`);
      const metadata: Record<string, string> = {
        // daprd builds the envelope; these overrides make it carry our identity instead of its own.
        'cloudevent.id': publishOptions.id ?? randomUUID(),
        'cloudevent.type': event.type,
        'cloudevent.source': event.source,
      };
      // daprd puts its own publish span's context into the envelope unless told otherwise: name ours
      // (the outbox relay's producer span, or the caller's active span), which exists even when
      // daprd's own tracing does not sample.
      const traceparent = publishOptions.traceparent ?? activeTraceparent();
      if (traceparent !== undefined) metadata['cloudevent.traceparent'] = traceparent;
      if (publishOptions.partitionKey !== undefined) metadata['partitionKey'] = publishOptions.partitionKey;
      const result = await withTimeout(
        client.pubsub.publish(pubsubName, topic, event.data as object, {
          contentType: 'application/json',
          metadata,
        }),
        timeoutMs,
        `publish to ${topic}`,
      );
      if (result.error) {
        throw new Error(`publish to ${topic} failed: ${result.error.message}`, { cause: result.error });
      }
    },

    subscribe(topic: string, handler: EventHandler, subscribeOptions: SubscribeOptions = {}): void {
      ensureOpen();
      if (own.byTopic.has(topic))
        throw new Error(`${appId} already subscribes to ${topic}: one handler per topic`);
      if (own.announced) {
        logger.warn(
          { topic },
          'subscribed after daprd read /dapr/subscribe: not delivered until the sidecar restarts',
        );
      }
      own.byTopic.set(topic, { topic, handler, deadLetterTopic: subscribeOptions.deadLetterTopic });
    },

    async invoke(request: InvokeRequest): Promise<InvokeResponse> {
      ensureOpen();
      assertInvokePath(request);
      return invokePolicy.invoke(request, (call, callTimeoutMs) =>
        traceInvoke(appId, call, () => invokeThroughSidecar(call, callTimeoutMs)),
      );
    },

    async ready(): Promise<boolean> {
      if (closed) return false;
      try {
        const response = await sidecarFetch(
          '/v1.0/healthz/outbound',
          { headers: sidecarHeaders() },
          'readiness',
        );
        await readBodyText(response);
        return response.status >= 200 && response.status < 300;
      } catch {
        return false;
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await client.stop();
    },
  };
  internals.set(platform, own);
  return platform;
}
