/**
 * What the soak's clients saw: every request attempt (when, how long, which answer) and every fault
 * (when it began, when the harness had it repaired), in milliseconds since the run began.
 */
import { performance } from 'node:perf_hooks';

/** ok = 2xx; refused = a definite 4xx; retry-later = 409 in flight, 429; server-error = 5xx; lost = no answer. */
export type Outcome = 'ok' | 'refused' | 'retry-later' | 'server-error' | 'lost';

export interface RequestRecord {
  /** When the attempt was sent (ms since the run began). */
  at: number;
  ms: number;
  op: string;
  status: number;
  outcome: Outcome;
  /** 1 for the first attempt of an operation, 2.. for retries with the same Idempotency-Key. */
  attempt: number;
  /** Problem type of a 4xx/5xx, when the body carried one. */
  type?: string;
}

export interface FaultRecord {
  name: string;
  /** When it was injected. */
  startedAt: number;
  /** When the harness had repaired it (the part ready again, the process continued, the burst over). */
  repairedAt?: number;
  /** What the harness measured while repairing (e.g. "ready in 6.1 s"). */
  note?: string;
  /** The harness could not repair it (an error message). */
  error?: string;
}

export function outcomeOf(status: number, type?: string): Outcome {
  if (status === 0) return 'lost';
  if (status >= 500) return 'server-error';
  if (status === 429 || (status === 409 && type?.endsWith('/idempotency-in-flight'))) return 'retry-later';
  if (status >= 400) return 'refused';
  return 'ok';
}

export class Recorder {
  readonly requests: RequestRecord[] = [];
  readonly faults: FaultRecord[] = [];
  private readonly t0 = performance.now();
  readonly startedAtIso = new Date().toISOString();

  now(): number {
    return performance.now() - this.t0;
  }

  request(record: RequestRecord): void {
    this.requests.push(record);
  }

  beginFault(name: string): FaultRecord {
    const fault: FaultRecord = { name, startedAt: this.now() };
    this.faults.push(fault);
    return fault;
  }
}

/** Nearest-rank percentile, shared with the system tests. */
export { percentile } from '../src/client.ts';
