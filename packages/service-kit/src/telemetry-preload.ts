/**
 * Preload: `node --import @wallet/service-kit/telemetry-preload src/main.ts`, the one way every mode
 * starts telemetry (start:dapr, Tilt, the images' CMD, the chart's NODE_OPTIONS; `npm start` imports it
 * before loading the five services). Telemetry must start before http, express and pg are imported,
 * or their instrumentation cannot hook them; an import inside main.ts would come too late because ESM
 * imports are evaluated first.
 * Reads OTEL_SERVICE_NAME (set per service) and OTEL_EXPORTER_OTLP_ENDPOINT, and the SDK reads the
 * standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG / OTEL_BSP_* itself.
 */
import { startTelemetry } from './telemetry.ts';

const stopTelemetry = startTelemetry(
  process.env['OTEL_SERVICE_NAME'] ?? 'wallet-service',
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] || undefined,
);

// Graceful shutdown flushes through shutdownTelemetry before it exits; this covers a process that ends on its own.
process.once('beforeExit', () => void stopTelemetry());
