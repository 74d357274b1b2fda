import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startOtlpReceiver } from '@wallet/testing/otlp-receiver';
import { createLogger } from '../../src/logger.ts';

const preload = fileURLToPath(new URL('../../src/telemetry-preload.ts', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/traced-server.ts', import.meta.url));

describe('telemetry', () => {
  it('continues the caller W3C trace and stamps its ids on every log line (preloaded as in production)', async () => {
    const child = spawn(process.execPath, ['--import', preload, fixture], {
      env: { ...process.env, OTEL_SERVICE_NAME: 'traced-server', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const iterator = lines[Symbol.asyncIterator]();
      const first = await iterator.next();
      const { port } = JSON.parse(String(first.value)) as { port: number };
      await fetch(`http://127.0.0.1:${port}/`, {
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      });
      const logged = await iterator.next();
      const line = JSON.parse(String(logged.value)) as {
        trace_id?: string;
        span_id?: string;
        service?: string;
      };
      expect(line.service).toBe('traced-server');
      expect(line.trace_id).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
      expect(line.span_id).not.toBe('b7ad6b7169203331');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }, 20_000);

  it('exports its spans over OTLP/HTTP and flushes them at graceful shutdown, not on a timer', async () => {
    const receiver = await startOtlpReceiver();
    const child = spawn(process.execPath, ['--import', preload, fixture], {
      env: {
        ...process.env,
        OTEL_SERVICE_NAME: 'traced-server',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        // Far beyond the test: only the shutdown flush can deliver the span.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await lines[Symbol.asyncIterator]().next();
      const { port } = JSON.parse(String(first.value)) as { port: number };
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      await fetch(`http://127.0.0.1:${port}/pay`, {
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(receiver.trace(traceId)).toEqual([]);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
      const spans = receiver.trace(traceId);
      expect(spans.map((s) => [s.service, s.kind, s.parentSpanId])).toEqual([
        ['traced-server', 2, '00f067aa0ba902b7'],
      ]);
      expect(receiver.refusals()).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await receiver.close();
    }
  }, 20_000);

  it('redacts secrets wherever they appear in a logged object', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    createLogger('redaction-test', {}, sink).info(
      { body: { password: 'hunter2hunter2', code: '123456' } },
      'x',
    );
    expect(lines[0]).not.toContain('hunter2');
    expect(lines[0]).not.toContain('123456');
    // A service's answer logged whole: the code one level deeper is redacted too.
    createLogger('redaction-test', {}, sink).warn(
      { response: { status: 200, body: { purpose: 'recovery', code: '98765432' } } },
      'y',
    );
    expect(lines[1]).toContain('recovery');
    expect(lines[1]).not.toContain('98765432');
  });
});
