import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  freePorts,
  liveProcessCount,
  parseExportLines,
  parsePubsub,
  startProcess,
  waitForHttp,
} from '../src/index.ts';

const node = process.execPath;

describe('startProcess', () => {
  it('keeps the last output lines and reports the exit', async () => {
    const child = startProcess({
      name: 'printer',
      command: node,
      args: [
        '-e',
        'for (let i = 1; i <= 5; i++) process.stdout.write("line " + i + "\\n"); console.error("oops"); process.exit(3)',
      ],
    });
    const exit = await child.exited;
    expect(exit).toEqual({ code: 3, signal: null });
    expect(child.tail()).toContain('line 5');
    expect(child.tail()).toContain('oops');
    expect(child.tail(1)).not.toContain('line 1');
  });

  it('escalates to SIGKILL when a process ignores SIGTERM past the deadline', async () => {
    const child = startProcess({
      name: 'stubborn',
      command: node,
      args: [
        '-e',
        'process.on("SIGTERM", () => process.stdout.write("ignored\\n")); process.stdout.write("ready\\n"); setInterval(() => {}, 1000)',
      ],
    });
    await expect.poll(() => child.tail(), { timeout: 5_000 }).toContain('ready');
    const started = Date.now();
    const exit = await child.stop({ timeoutMs: 300 });
    expect(exit.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(child.tail()).toContain('ignored');
  });

  it('stops gracefully with SIGTERM and forgets exited processes', async () => {
    const before = liveProcessCount();
    const child = startProcess({
      name: 'sleeper',
      command: node,
      args: ['-e', 'setInterval(() => {}, 1000)'],
    });
    expect(liveProcessCount()).toBe(before + 1);
    const exit = await child.stop({ timeoutMs: 5_000 });
    expect(exit.signal).toBe('SIGTERM');
    expect(liveProcessCount()).toBe(before);
    expect(await child.stop()).toBe(exit);
  });

  it('takes its children along when it is SIGKILLed itself (parent-death signal)', async () => {
    const index = new URL('../src/index.ts', import.meta.url).pathname;
    const parent = startProcess({
      name: 'parent',
      command: node,
      args: [
        '--input-type=module',
        '-e',
        `import { startProcess } from ${JSON.stringify(index)};
         const c = startProcess({ name: 'grandchild', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] });
         process.stdout.write('child ' + c.pid + '\\n'); setInterval(() => {}, 1000);`,
      ],
    });
    await expect.poll(() => /child \d+/.test(parent.tail()), { timeout: 10_000 }).toBe(true);
    const pid = Number(/child (\d+)/.exec(parent.tail())![1]);
    const alive = (): boolean => {
      try {
        // A zombie (exited, not yet reaped by init) counts as gone.
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    parent.kill('SIGKILL');
    await parent.exited;
    await expect.poll(alive, { timeout: 5_000 }).toBe(false);
  });

  it('reports a command that cannot start as an exit, with the reason in the tail', async () => {
    const child = startProcess({ name: 'missing', command: '/nonexistent/binary', parentDeathSignal: null });
    const exit = await child.exited;
    expect(exit.code).not.toBe(0);
  });
});

describe('waitForHttp', () => {
  it('polls until the endpoint answers as wanted', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls += 1;
      res.writeHead(calls < 3 ? 500 : 204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const answer = await waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 5_000, intervalMs: 10 });
      expect(answer.status).toBe(204);
      expect(calls).toBe(3);
    } finally {
      server.close();
    }
  });

  it('fails at the deadline with the last answer', async () => {
    const [port] = await freePorts(1);
    await expect(
      waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 200, intervalMs: 20, what: 'nothing' }),
    ).rejects.toThrow(/nothing: not ready after 200 ms/);
  });

  it('gives up at once when the process it waits for exits, quoting its output', async () => {
    const child = startProcess({
      name: 'crasher',
      command: node,
      args: ['-e', 'console.error("bad config"); process.exit(2)'],
    });
    const [port] = await freePorts(1);
    await expect(
      waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 10_000, intervalMs: 20, process: child }),
    ).rejects.toThrow(/crasher exited with code 2[\s\S]*bad config/);
  });
});

describe('infra helpers', () => {
  it('parses the export lines of infra/local.sh env, single quotes included', () => {
    expect(
      parseExportLines(
        [
          "export A='x y'",
          "export B='it'\\''s'",
          'not a line',
          "export C=''",
          "  export D='postgres://u:p@h:1/d'",
        ].join('\n'),
      ),
    ).toEqual({ A: 'x y', B: "it's", C: '', D: 'postgres://u:p@h:1/d' });
  });

  it('accepts only the two brokers', () => {
    expect(parsePubsub(undefined)).toBe('rabbitmq');
    expect(parsePubsub('kafka')).toBe('kafka');
    expect(() => parsePubsub('nats')).toThrow(/rabbitmq, kafka/);
  });

  it('hands out distinct free ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
  });
});
