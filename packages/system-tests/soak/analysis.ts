/**
 * From the records to numbers: per fault (time to detect, to repair, to recover, requests retried,
 * operations lost) and per time bucket (throughput, p50/p99 latency, error rate).
 *
 * An error is an attempt without a definite answer: no answer in time, a reset, or a 5xx. A fault
 * owns the errors from its injection until the next fault (or the end); errors before the first
 * fault are "outside any fault". A fault has recovered when its last error is at most
 * `recoveryBoundMs` after the harness repaired it.
 */
import { percentile, type FaultRecord, type RequestRecord } from './recorder.ts';

export interface FaultAnalysis {
  name: string;
  startedAt: number;
  /** Injection to repaired (the part ready again, the freeze or burst over). */
  repairMs: number;
  /** Injection to the first error a client saw; undefined when no client noticed. */
  detectMs?: number;
  /** Injection to the last error a client saw (0 when none): full service from then on. */
  recoverMs: number;
  /** Last error after the repair (0 when none came after it). */
  afterRepairMs: number;
  errors: number;
  retried: number;
  inDoubt: number;
  withinBound: boolean;
  note?: string;
  error?: string;
}

export interface Bucket {
  at: number;
  ok: number;
  refused: number;
  errors: number;
  p50: number;
  p99: number;
}

export const isError = (r: RequestRecord): boolean => r.outcome === 'server-error' || r.outcome === 'lost';

export function analyseFaults(
  requests: readonly RequestRecord[],
  faults: readonly FaultRecord[],
  inDoubtAt: readonly number[],
  endAt: number,
  recoveryBoundMs: number,
): { faults: FaultAnalysis[]; errorsOutside: RequestRecord[] } {
  // An error belongs to the fault in force when its answer came (or its deadline passed).
  const errors = requests.filter(isError);
  const endOf = (r: RequestRecord): number => r.at + r.ms;
  const firstFault = faults[0]?.startedAt ?? Number.POSITIVE_INFINITY;
  const analysed = faults.map((fault, i): FaultAnalysis => {
    const until = faults[i + 1]?.startedAt ?? endAt;
    const mine = errors.filter((r) => endOf(r) >= fault.startedAt && endOf(r) < until);
    const repairedAt = fault.repairedAt ?? until;
    const last = mine.length > 0 ? Math.max(...mine.map((r) => r.at + r.ms)) : undefined;
    const afterRepairMs = last === undefined ? 0 : Math.max(0, last - repairedAt);
    return {
      name: fault.name,
      startedAt: fault.startedAt,
      repairMs: repairedAt - fault.startedAt,
      ...(mine.length > 0 ? { detectMs: Math.min(...mine.map((r) => r.at + r.ms)) - fault.startedAt } : {}),
      recoverMs: last === undefined ? 0 : last - fault.startedAt,
      afterRepairMs,
      errors: mine.length,
      retried: requests.filter((r) => r.attempt > 1 && r.at >= fault.startedAt && r.at < until).length,
      inDoubt: inDoubtAt.filter((at) => at >= fault.startedAt && at < until).length,
      withinBound: fault.error === undefined && afterRepairMs <= recoveryBoundMs,
      ...(fault.note ? { note: fault.note } : {}),
      ...(fault.error ? { error: fault.error } : {}),
    };
  });
  return { faults: analysed, errorsOutside: errors.filter((r) => endOf(r) < firstFault) };
}

export function buckets(
  requests: readonly RequestRecord[],
  fromMs: number,
  toMs: number,
  sizeMs: number,
): Bucket[] {
  const out: Bucket[] = [];
  for (let at = fromMs; at < toMs; at += sizeMs) {
    const inside = requests.filter((r) => r.at >= at && r.at < at + sizeMs);
    const answered = inside.filter((r) => r.outcome !== 'lost').map((r) => r.ms);
    out.push({
      at,
      ok: inside.filter((r) => r.outcome === 'ok').length,
      refused: inside.filter((r) => r.outcome === 'refused' || r.outcome === 'retry-later').length,
      errors: inside.filter(isError).length,
      p50: answered.length > 0 ? percentile(answered, 50) : Number.NaN,
      p99: answered.length > 0 ? percentile(answered, 99) : Number.NaN,
    });
  }
  return out;
}
