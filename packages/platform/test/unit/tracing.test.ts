/**
 * Trace context through the port's doors (src/tracing.ts) on the embedded transport, with a real
 * OpenTelemetry SDK (in-memory exporter): invocation carries the caller's span, publish carries the
 * active span into the CloudEvent, the relay restores a stored context, and a consumer joins the event's
 * trace, linked to the producer span. The Dapr transport runs the same code; the Dapr system test proves
 * it across daprd and both brokers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { CloudEvent } from '@wallet/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBus, createEmbeddedPlatform } from '../../src/embedded/index.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Platform } from '../../src/port.ts';
import { traceConsume, traceOutboxPublish } from '../../src/tracing.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(async () => {
  trace.disable();
  context.disable();
  propagation.disable();
  await provider.shutdown();
});

let bus: EmbeddedBus;
const open: Platform[] = [];
function platform(appId: string): Platform {
  const p = createEmbeddedPlatform({ appId, bus, logger: silentLogger });
  open.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  await bus?.close();
  exporter.reset();
});

const spanNamed = (name: string): ReadableSpan => {
  const span = exporter.getFinishedSpans().find((s) => s.name === name);
  expect(
    span,
    `span ${name} among ${exporter
      .getFinishedSpans()
      .map((s) => s.name)
      .join(', ')}`,
  ).toBeDefined();
  return span!;
};
const traceparentOf = (span: { spanContext(): { traceId: string; spanId: string } }): string =>
  `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

describe('trace context through the platform (embedded transport)', () => {
  it("invoke: the callee receives the invoke span's traceparent, not one the caller copied from elsewhere", async () => {
    bus = new EmbeddedBus();
    let received: string | undefined;
    const server = createServer((req, res) => {
      received = req.headers['traceparent'] as string | undefined;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      bus.registerApp('callee', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const caller = platform('caller');
      const stale = '00-11111111111111111111111111111111-2222222222222222-01';
      await tracer.startActiveSpan('request', async (request) => {
        await caller.invoke({ appId: 'callee', method: 'GET', path: '/x', headers: { traceparent: stale } });
        request.end();
      });
      const invoke = spanNamed('invoke callee GET');
      expect(invoke.parentSpanContext?.spanId).toBe(spanNamed('request').spanContext().spanId);
      expect(received).toBe(traceparentOf(invoke));
    } finally {
      server.close();
    }
  });

  it('publish inside a request: the consumer span joins that trace and links the publishing span', async () => {
    bus = new EmbeddedBus();
    const seen: CloudEvent[] = [];
    platform('consumer').subscribe('t', (event) => {
      seen.push(event);
      return Promise.resolve('SUCCESS');
    });
    const publisher = platform('publisher');
    await tracer.startActiveSpan('request', async (request) => {
      await publisher.publish('t', { type: 'wallet.test.v1', source: 'test', data: { n: 1 } });
      request.end();
    });
    await bus.drain();
    const request = spanNamed('request');
    expect(seen[0]?.traceparent).toBe(traceparentOf(request));
    const consumer = spanNamed('t process');
    expect(consumer.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(consumer.links.map((l) => l.context.spanId)).toContain(request.spanContext().spanId);
    expect(consumer.attributes['wallet.delivery.status']).toBe('SUCCESS');
  });

  it('relay: a row published later from no request is a producer span under the stored context', async () => {
    const stored = tracer.startSpan('request that wrote the row');
    stored.end();
    let published: string | undefined;
    // A poll loop: nothing active.
    await context.with(ROOT_CONTEXT, () =>
      traceOutboxPublish(
        { traceparent: traceparentOf(stored), topic: 'ledger.t', id: 'row-1', app: 'ledger' },
        (traceparent) => {
          published = traceparent;
          return Promise.resolve();
        },
      ),
    );
    const producer = spanNamed('ledger.t publish');
    expect(producer.spanContext().traceId).toBe(stored.spanContext().traceId);
    expect(producer.parentSpanContext?.spanId).toBe(stored.spanContext().spanId);
    expect(published).toBe(traceparentOf(producer));
  });

  it("consume: a delivery from another trace (a sidecar that does not trace) still joins the event's trace", async () => {
    const producer = tracer.startSpan('producer');
    producer.end();
    const unrelated = tracer.startSpan('delivery request');
    await context.with(trace.setSpan(ROOT_CONTEXT, unrelated), () =>
      traceConsume({ id: 'e-1', traceparent: traceparentOf(producer) }, { topic: 't', consumer: 'c' }, () =>
        Promise.resolve(),
      ),
    );
    unrelated.end();
    const consumer = spanNamed('t process');
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.links.map((l) => l.context.spanId)).toEqual([
      producer.spanContext().spanId,
      unrelated.spanContext().spanId,
    ]);
  });
});
