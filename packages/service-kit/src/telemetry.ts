/**
 * OpenTelemetry start-up, the same in every mode (the preload `telemetry-preload.ts` calls it): W3C
 * trace context through HTTP, spans for Express and pg, exported over OTLP/HTTP (JSON) when an endpoint
 * is set. Invocation, outbox and consumption spans come from @wallet/platform (`tracing.ts`).
 * Sampling follows the standard variables the SDK reads itself: `OTEL_TRACES_SAMPLER` (default
 * `parentbased_always_on`) and `OTEL_TRACES_SAMPLER_ARG`; batching `OTEL_BSP_SCHEDULE_DELAY` etc.
 * Call `startTelemetry` before the app's modules are imported so that instrumentation can hook them.
 */
import { register } from 'node:module';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

import { registerTelemetryShutdown } from './telemetry-shutdown.ts';

let sdk: NodeSDK | undefined;

type TraceExporter = NonNullable<ConstructorParameters<typeof NodeSDK>[0]>['traceExporter'] & object;

const discardingExporter: TraceExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

export function startTelemetry(service: string, otlpEndpoint: string | undefined): () => Promise<void> {
  if (sdk) return () => Promise.resolve();
  // ESM modules are instrumented through import-in-the-middle's loader hook.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: service }),
    // Without an endpoint spans are still created (so logs carry this service's span ids and the
    // context propagates) but discarded instead of exported.
    traceExporter: otlpEndpoint
      ? new OTLPTraceExporter({ url: `${otlpEndpoint}/v1/traces` })
      : discardingExporter,
    // Traces only: metrics are Prometheus' (prom-client, /metrics) and logs pino's. Without these the
    // SDK would also start OTLP metric and log exporters from the environment's defaults.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? ''),
        // Background HTTP (readiness polls of the sidecar, key refreshes) would be a trace of its own each time.
        requireParentforOutgoingSpans: true,
      }),
      // One span per route handler, not one per middleware layer (helmet, body parser, pino-http,
      // metrics, shedding...): per-middleware spans made ~40 spans of every request, cost the ledger
      // about a tenth of its CPU per transfer (bench/ledger/README.md) and said nothing the request span does not.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
      // A span per query, none per pool checkout; pollers (outbox relays, delivery workers) query every
      // few hundred ms outside any request: only queries made inside a trace get a span.
      new PgInstrumentation({ ignoreConnectSpans: true, requireParentSpan: true }),
    ],
  });
  sdk.start();
  const started = sdk;
  const stop = (): Promise<void> => started.shutdown();
  // The services' graceful shutdown ends with process.exit, which skips `beforeExit`: it flushes through this.
  registerTelemetryShutdown(stop);
  return stop;
}
