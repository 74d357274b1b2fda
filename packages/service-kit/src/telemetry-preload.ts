/**
 * Preload: `node --import @wallet/service-kit/telemetry-preload src/main.ts`. Telemetry must start
 * before http, express and pg are imported, or their instrumentation cannot hook them; an import
 * inside main.ts would come too late because ESM imports are evaluated first.
 * Reads OTEL_SERVICE_NAME (set per service) and OTEL_EXPORTER_OTLP_ENDPOINT.
 */
import { startTelemetry } from './telemetry.ts';

const stopTelemetry = startTelemetry(
  process.env['OTEL_SERVICE_NAME'] ?? 'wallet-service',
  process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] || undefined,
);

// Flush spans after the service's own graceful shutdown has run (it exits the process itself).
process.once('beforeExit', () => void stopTelemetry());
