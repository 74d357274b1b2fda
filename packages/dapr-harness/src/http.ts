/** Polling an HTTP endpoint until it answers as expected, with a deadline (never a blind sleep). */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ManagedProcess } from './process.ts';
import { describeExit } from './process.ts';

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface ProbeOptions {
  headers?: Record<string, string>;
  /** Extra CA certificate (PEM) to trust for https (a self-signed development certificate). */
  ca?: string | Buffer;
  /** Per-attempt timeout. Default 2 s. */
  attemptTimeoutMs?: number;
}

/** One GET; resolves with status and body, rejects on connection errors and timeouts. */
export function probe(url: string, options: ProbeOptions = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'GET',
        headers: options.headers,
        timeout: options.attemptTimeoutMs ?? 2_000,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in time`)));
    req.on('error', reject);
    req.end();
  });
}

export interface WaitForHttpOptions extends ProbeOptions {
  /** Which answers count as ready. Default: 2xx. */
  accept?: (answer: HttpAnswer) => boolean;
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
  /** Give up at once if this process exits (and quote its last output). */
  process?: ManagedProcess;
}

/** Polls `url` until it answers as `accept` wants; throws at the deadline with the last answer or error. */
export async function waitForHttp(url: string, options: WaitForHttpOptions = {}): Promise<HttpAnswer> {
  const accept = options.accept ?? ((a: HttpAnswer) => a.status >= 200 && a.status < 300);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const what = options.what ?? url;
  let last: string;
  for (;;) {
    const exit = options.process?.exitInfo();
    if (exit) {
      throw new Error(
        `${what}: ${options.process!.name} ${describeExit(exit)} before it was ready; last output:\n${options.process!.tail(40)}`,
      );
    }
    try {
      const answer = await probe(url, options);
      if (accept(answer)) return answer;
      last = `HTTP ${answer.status} ${answer.body.slice(0, 300)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      const tail = options.process
        ? `; last output of ${options.process.name}:\n${options.process.tail(40)}`
        : '';
      throw new Error(`${what}: not ready after ${timeoutMs} ms (last: ${last})${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
