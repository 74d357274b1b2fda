/**
 * W3C trace context through the platform's three doors, so that one client request is one trace from
 * the gateway to the last consumer of the events it caused:
 *
 *  - invocation: each `invoke` attempt is a CLIENT span whose `traceparent` the request carries (Node's
 *    fetch is not instrumented by the HTTP instrumentation, so the platform injects it itself);
 *  - outbox: a row stores the `traceparent` of the span that wrote it, and the relay, which publishes it
 *    later from a poll loop with no request around it, restores that context for a PRODUCER span and
 *    puts the producer's `traceparent` into the CloudEvent;
 *  - consumption: each delivery is a CONSUMER span under the CloudEvent's `traceparent` (daprd copies it
 *    from the envelope into its own delivery request only when its tracing samples; the envelope always has it).
 *
 * Only the OpenTelemetry API is used: without an SDK (unit tests, a process started without the
 * telemetry preload) every call here is a no-op and nothing is injected.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span } from '@opentelemetry/api';

const TRACER_NAME = '@wallet/platform';

const tracer = () => trace.getTracer(TRACER_NAME);

/** `traceparent` (and `tracestate`) of `ctx`, as the W3C propagator writes them; empty without an SDK. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The `traceparent` of the active span, or undefined when there is none (or no SDK). */
export function activeTraceparent(): string | undefined {
  return traceHeaders()['traceparent'];
}

/** The context a stored or received `traceparent` stands for (the root context when it is absent or malformed). */
export function contextFromTraceparent(traceparent: string | undefined, tracestate?: string): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  if (tracestate !== undefined) carrier['tracestate'] = tracestate;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * Sets the active context's trace headers on an outgoing request, replacing any the caller copied
 * from elsewhere: the platform's own span is the parent the callee must see.
 */
export function injectTraceHeaders(headers: Headers): void {
  const injected = traceHeaders();
  if (injected['traceparent'] === undefined) return;
  headers.set('traceparent', injected['traceparent']);
  if (injected['tracestate'] === undefined) headers.delete('tracestate');
  else headers.set('tracestate', injected['tracestate']);
}

interface SpanSpec {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
  parent?: Context;
  links?: Link[];
}

/** Runs `work` in a new active span; a throw marks the span as an error and is rethrown. */
async function inSpan<T>(spec: SpanSpec, work: (span: Span) => Promise<T>): Promise<T> {
  const options = {
    kind: spec.kind,
    attributes: spec.attributes,
    ...(spec.links ? { links: spec.links } : {}),
  };
  return tracer().startActiveSpan(spec.name, options, spec.parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** One `invoke` attempt as a CLIENT span; the request encoded inside `call` carries its context. */
export function traceInvoke<T extends { status: number }>(
  caller: string,
  target: { appId: string; method: string; path: string },
  call: () => Promise<T>,
): Promise<T> {
  const route = target.path.split('?', 1)[0]!;
  return inSpan(
    {
      name: `invoke ${target.appId} ${target.method}`,
      kind: SpanKind.CLIENT,
      attributes: {
        'rpc.system': 'dapr',
        'rpc.service': target.appId,
        'http.request.method': target.method,
        'url.path': route,
        'wallet.app_id': caller,
      },
    },
    async (span) => {
      const answer = await call();
      span.setAttribute('http.response.status_code', answer.status);
      // A refusal (4xx) is the callee's answer, not a failure of the call (DESIGN.md, "Principles").
      if (answer.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return answer;
    },
  );
}

/**
 * Publishes an outbox row in the trace that wrote it: a PRODUCER span whose parent is the row's
 * stored `traceparent`; `publish` gets the producer span's own `traceparent` for the CloudEvent
 * (or the stored one when no SDK runs).
 */
export function traceOutboxPublish<T>(
  row: { traceparent: string | null; topic: string; id: string; app: string },
  publish: (traceparent: string | undefined) => Promise<T>,
): Promise<T> {
  return inSpan(
    {
      name: `${row.topic} publish`,
      kind: SpanKind.PRODUCER,
      parent: contextFromTraceparent(row.traceparent ?? undefined),
      attributes: {
        'messaging.system': 'dapr',
        'messaging.operation.type': 'send',
        'messaging.destination.name': row.topic,
        'messaging.message.id': row.id,
        'wallet.app_id': row.app,
      },
    },
    () => publish(activeTraceparent() ?? row.traceparent ?? undefined),
  );
}

/**
 * Runs a subscriber's handler as a CONSUMER span in the event's trace. When the delivery request
 * already continues that trace (daprd's own span, or the embedded bus's publisher), the span is its
 * child; otherwise its parent is the envelope's `traceparent` and the delivery's span is a link. It
 * always links the envelope's span (the producer's, as OpenTelemetry's messaging conventions ask): only
 * the CloudEvent carries that span id through the broker, daprd's delivery header names daprd's own span.
 */
export function traceConsume<T>(
  event: { id: string; traceparent?: string | undefined; tracestate?: string | undefined },
  where: { topic: string; consumer: string },
  handle: (span: Span) => Promise<T>,
): Promise<T> {
  const delivery = trace.getSpanContext(context.active());
  const fromEvent = contextFromTraceparent(event.traceparent, event.tracestate);
  const eventSpan = trace.getSpanContext(fromEvent);
  const sameTrace =
    delivery !== undefined && eventSpan !== undefined && delivery.traceId === eventSpan.traceId;
  const parent = eventSpan === undefined || sameTrace ? context.active() : fromEvent;
  return inSpan(
    {
      name: `${where.topic} process`,
      kind: SpanKind.CONSUMER,
      parent,
      links: [
        ...(eventSpan === undefined ? [] : [{ context: eventSpan }]),
        ...(delivery !== undefined && eventSpan !== undefined && !sameTrace ? [{ context: delivery }] : []),
      ],
      attributes: {
        'messaging.system': 'dapr',
        'messaging.operation.type': 'process',
        'messaging.destination.name': where.topic,
        'messaging.message.id': event.id,
        'messaging.consumer.group.name': where.consumer,
        'wallet.app_id': where.consumer,
      },
    },
    handle,
  );
}
