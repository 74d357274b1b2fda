/**
 * An OTLP/HTTP trace receiver for tests: `POST /v1/traces` with the OTLP JSON encoding (what
 * `@opentelemetry/exporter-trace-otlp-http` sends; gzip accepted), on a free loopback port. It keeps
 * every span it is sent so a test can follow one trace across processes. Anything it cannot read is
 * answered 400/415 and remembered in `refusals`, so a test can assert that nothing was lost.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';

/** OTLP's SpanKind numbers. */
export const OtlpSpanKind = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

const anyValueSchema = z
  .object({
    stringValue: z.string().optional(),
    intValue: z.union([z.string(), z.number()]).optional(),
    boolValue: z.boolean().optional(),
    doubleValue: z.number().optional(),
  })
  .passthrough();
const keyValueSchema = z.object({ key: z.string(), value: anyValueSchema.optional() });
const hexId = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));

const spanSchema = z.object({
  traceId: hexId(32),
  spanId: hexId(16),
  parentSpanId: z.union([hexId(16), z.literal('')]).optional(),
  name: z.string(),
  kind: z.number().int().min(0).max(5),
  attributes: z.array(keyValueSchema).optional(),
  links: z.array(z.object({ traceId: hexId(32), spanId: hexId(16) }).passthrough()).optional(),
  status: z.object({ code: z.number().optional(), message: z.string().optional() }).optional(),
});
const exportRequestSchema = z.object({
  resourceSpans: z.array(
    z.object({
      resource: z.object({ attributes: z.array(keyValueSchema).optional() }).optional(),
      scopeSpans: z.array(
        z.object({ scope: z.object({ name: z.string().optional() }).optional(), spans: z.array(spanSchema) }),
      ),
    }),
  ),
});

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  /** The resource's `service.name`. */
  service: string;
  scope: string;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  statusCode: number;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the value of OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans(): readonly ReceivedSpan[];
  /** Every span of one trace. */
  trace(traceId: string): ReceivedSpan[];
  /** Requests it could not read (wrong content type, bad JSON, not OTLP). */
  refusals(): readonly string[];
  /** Polls until `predicate` holds for the spans received so far, or throws with `describe()` after `timeoutMs`. */
  waitFor<T>(
    predicate: (spans: readonly ReceivedSpan[]) => T | undefined,
    timeoutMs: number,
    describe: () => string,
  ): Promise<T>;
  close(): Promise<void>;
}

function flatten(value: z.infer<typeof anyValueSchema> | undefined): string | number | boolean {
  if (value?.stringValue !== undefined) return value.stringValue;
  if (value?.intValue !== undefined) return Number(value.intValue);
  if (value?.boolValue !== undefined) return value.boolValue;
  if (value?.doubleValue !== undefined) return value.doubleValue;
  return '';
}

function attributesOf(
  list: z.infer<typeof keyValueSchema>[] | undefined,
): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, flatten(kv.value)]));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const refused: string[] = [];

  const server: Server = createServer((req, res) => {
    const answer = (status: number, body: object): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      refused.push(`${req.method} ${req.url}`);
      answer(404, { message: 'only POST /v1/traces' });
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim();
    readBody(req).then(
      (body) => {
        if (type !== 'application/json') {
          refused.push(`content-type ${type || '(none)'}, ${body.length} bytes`);
          answer(415, { message: 'this receiver reads the OTLP JSON encoding only' });
          return;
        }
        let parsed;
        try {
          parsed = exportRequestSchema.safeParse(JSON.parse(body.toString('utf8')));
        } catch (error) {
          refused.push(`bad JSON: ${String(error)}`);
          answer(400, { message: 'bad JSON' });
          return;
        }
        if (!parsed.success) {
          refused.push(`not an OTLP export request: ${parsed.error.message.slice(0, 500)}`);
          answer(400, { message: 'not an OTLP ExportTraceServiceRequest' });
          return;
        }
        for (const resourceSpans of parsed.data.resourceSpans) {
          const resource = attributesOf(resourceSpans.resource?.attributes);
          for (const scopeSpans of resourceSpans.scopeSpans) {
            for (const span of scopeSpans.spans) {
              received.push({
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId ?? '',
                name: span.name,
                kind: span.kind,
                service: String(resource['service.name'] ?? ''),
                scope: scopeSpans.scope?.name ?? '',
                attributes: attributesOf(span.attributes),
                links: (span.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
                statusCode: span.status?.code ?? 0,
              });
            }
          }
        }
        answer(200, {});
      },
      (error: unknown) => {
        refused.push(`unreadable body: ${String(error)}`);
        answer(400, { message: 'unreadable body' });
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => received,
    trace: (traceId) => received.filter((s) => s.traceId === traceId),
    refusals: () => refused,
    async waitFor(predicate, timeoutMs, describe) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = predicate(received);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no such spans after ${timeoutMs} ms: ${describe()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
