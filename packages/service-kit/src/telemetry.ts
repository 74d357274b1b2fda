/**
 * OpenTelemetry start-up: W3C trace context through HTTP (and so through Dapr invocation, which
 * forwards `traceparent`), spans for Express and pg, exported over OTLP/HTTP when an endpoint is set.
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
    traceExporter: otlpEndpoint ? new OTLPTraceExporter({ url: `${otlpEndpoint}/v1/traces` }) : discardingExporter,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? '') }),
      // One span per route handler, not one per middleware layer (helmet, body parser, pino-http,
      // metrics, shedding...): per-middleware spans cost the ledger about a tenth of its CPU per
      // transfer (bench/ledger/README.md) and say nothing the request span does not.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
      // A span per query, none per pool checkout; none for queries outside a request or job span.
      new PgInstrumentation({ ignoreConnectSpans: true, requireParentSpan: true }),
    ],
  });
  sdk.start();
  const started = sdk;
  return () => started.shutdown();
}
