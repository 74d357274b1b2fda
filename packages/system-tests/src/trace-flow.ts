/**
 * One trace through the whole platform, seen by an OTLP receiver: a client sends a transfer through
 * the public gateway with its own W3C `traceparent`, and every hop must report spans of that one trace
 * id: the gateway, its invocation of wallet-ledger (through the sidecars), the ledger's invocation of
 * risk, the outbox relay's publish of `ledger.transfer.completed` (later, from a poll loop: the trace
 * context stored with the outbox row), and notification's consumer on the other side of the broker.
 *
 * The platform must run with OTEL_EXPORTER_OTLP_ENDPOINT = the receiver. With the sampler
 * `parentbased_traceidratio` at 0 (what the test sets, and a production-like choice) only requests that
 * arrive sampled are recorded, so this scenario's trace is the only one exported.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { OtlpSpanKind } from '@wallet/testing/otlp-receiver';
import type { OtlpReceiver, ReceivedSpan } from '@wallet/testing/otlp-receiver';
import { freshLoopbackAddress, gatewayClient } from './client.ts';

export interface TraceFlowReport {
  traceId: string;
  /** Spans of the trace per service. */
  perService: Record<string, number>;
  /** `service kind name` of the trace's server, client (but pg), producer and consumer spans, in arrival order. */
  hops: string[];
}

const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const TOPIC = 'ledger.transfer.completed';

function describeSpans(spans: readonly ReceivedSpan[]): string[] {
  return spans.map((s) => `${s.service} ${KIND_NAMES[s.kind] ?? s.kind} ${s.name}`);
}

export async function oneTraceAcrossThePlatform(
  gatewayUrl: string,
  certificate: string,
  receiver: OtlpReceiver,
  options: { timeoutMs?: number } = {},
): Promise<TraceFlowReport> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const client = gatewayClient(gatewayUrl, certificate, { localAddress: freshLoopbackAddress() });
  try {
    const payer = await client.onboard('trace-payer');
    const payee = await client.onboard('trace-payee');
    await client.deposit(payer, 10_000n);

    const traceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');
    const paid = await client.call<{ transferId?: string }>('POST', '/v1/transfers', {
      token: payer.token,
      body: { fromWalletId: payer.walletId, toWalletId: payee.walletId, amount: '100', currency: 'EUR' },
      headers: { 'idempotency-key': randomUUID(), traceparent: `00-${traceId}-${clientSpanId}-01` },
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);

    const inTrace = (spans: readonly ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);
    const consumerOf = (spans: readonly ReceivedSpan[]) =>
      inTrace(spans).find(
        (s) =>
          s.service === 'notification' &&
          s.kind === OtlpSpanKind.consumer &&
          s.attributes['messaging.destination.name'] === TOPIC,
      );
    // The consumer's span is the last to exist; the others were exported before or with it.
    await receiver.waitFor(
      consumerOf,
      timeoutMs,
      () => `trace ${traceId}: ${JSON.stringify(describeSpans(receiver.trace(traceId)), null, 1)}`,
    );
    // Spans are exported per process in batches: give the slower processes one more batch interval.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const spans = receiver.trace(traceId);
    const summary = JSON.stringify(describeSpans(spans), null, 1);
    const find = (what: string, predicate: (s: ReceivedSpan) => boolean): ReceivedSpan => {
      const found = spans.find(predicate);
      expect(found, `${what} in trace ${traceId}: ${summary}`).toBeDefined();
      return found!;
    };
    const isServer = (service: string) => (s: ReceivedSpan) =>
      s.service === service &&
      s.kind === OtlpSpanKind.server &&
      !String(s.attributes['url.path'] ?? s.attributes['http.target'] ?? '').startsWith('/dapr/');
    const invokes = (from: string, to: string) => (s: ReceivedSpan) =>
      s.service === from && s.kind === OtlpSpanKind.client && s.attributes['rpc.service'] === to;

    // The gateway continued the client's trace: its server span is the child of the client's span.
    const gateway = find('the gateway server span', isServer('api-gateway'));
    expect(gateway.parentSpanId).toBe(clientSpanId);
    find('the gateway invoking wallet-ledger', invokes('api-gateway', 'wallet-ledger'));
    find('wallet-ledger serving the transfer', isServer('wallet-ledger'));
    find('wallet-ledger invoking risk', invokes('wallet-ledger', 'risk'));
    find('risk serving the assessment', isServer('risk'));

    // The relay published later, from its poll loop, under the context stored with the outbox row:
    // its producer span's parent is one of the ledger's spans of this very request.
    const producer = find(
      `wallet-ledger's outbox relay publishing ${TOPIC}`,
      (s) =>
        s.service === 'wallet-ledger' &&
        s.kind === OtlpSpanKind.producer &&
        s.attributes['messaging.destination.name'] === TOPIC,
    );
    const ledgerSpanIds = new Set(spans.filter((s) => s.service === 'wallet-ledger').map((s) => s.spanId));
    expect(
      ledgerSpanIds.has(producer.parentSpanId),
      `producer's parent ${producer.parentSpanId}: ${summary}`,
    ).toBe(true);

    // Across daprd and the broker: notification's consumer links the producer's span, whose id only the
    // CloudEvent's traceparent carried (daprd's delivery header names daprd's own span) ...
    const consumer = consumerOf(spans)!;
    expect(consumer.links.map((l) => `${l.traceId}-${l.spanId}`)).toContain(`${traceId}-${producer.spanId}`);
    // ... and daprd's delivery request itself continued the trace: the consumer span is the child of
    // notification's server span for the delivery, in the same trace.
    const delivery = spans.find((s) => s.spanId === consumer.parentSpanId);
    expect(delivery?.service, `the consumer's parent ${consumer.parentSpanId}: ${summary}`).toBe(
      'notification',
    );
    expect(receiver.refusals()).toEqual([]);
    const perService: Record<string, number> = {};
    for (const s of spans) perService[s.service] = (perService[s.service] ?? 0) + 1;
    const hops = spans.filter(
      (s) => s.kind !== OtlpSpanKind.internal && !(s.kind === OtlpSpanKind.client && s.name.startsWith('pg')),
    );
    return { traceId, perService, hops: describeSpans(hops) };
  } finally {
    await client.close();
  }
}
