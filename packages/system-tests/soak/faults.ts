/**
 * Faults, one at a time, each repaired by the harness as Kubernetes would (a killed process is
 * started again with the same settings; a stopped server is started again) before the next one.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT, type DaprPlatform, type PubsubKind } from '@wallet/dapr-harness';
import { APP_IDS, type AppId } from '@wallet/contracts';
import type { FaultRecord, Recorder } from './recorder.ts';
import type { Workload } from './workload.ts';

export const FREEZE_SECONDS = 15;
export const BURST_SECONDS = 20;
export const BURST_FACTOR = 3;

/** Every fault the soak knows, in the order a full run injects them. */
export const ALL_FAULTS: readonly string[] = [
  'kill-service:wallet-ledger',
  'kill-daprd:notification',
  'freeze-risk',
  'restart-redis',
  'burst',
  'restart-broker',
  'restart-postgres',
  'kill-service:api-gateway',
  'kill-daprd:wallet-ledger',
  'kill-service:identity',
  'kill-daprd:api-gateway',
  'kill-service:notification',
  'kill-daprd:identity',
  'kill-service:risk',
  'kill-daprd:risk',
];

export function parseFault(name: string): string {
  const [kind, app] = name.split(':');
  const apps: readonly string[] = APP_IDS;
  if ((kind === 'kill-service' || kind === 'kill-daprd') && app && apps.includes(app)) return name;
  if (
    !app &&
    ['freeze-risk', 'restart-redis', 'burst', 'restart-broker', 'restart-postgres'].includes(kind!)
  ) {
    return name;
  }
  throw new Error(`unknown fault "${name}" (faults: ${ALL_FAULTS.join(', ')})`);
}

/** Rough seconds a fault takes until repaired on this machine (for fitting faults into a short run). */
export function estimatedSeconds(name: string, pubsub: PubsubKind): number {
  if (name === 'freeze-risk') return FREEZE_SECONDS + 5;
  if (name === 'burst') return BURST_SECONDS + 5;
  if (name === 'restart-broker') return pubsub === 'kafka' ? 35 : 20;
  if (name === 'restart-postgres') return 15;
  return 12;
}

function infra(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'infra', 'local.sh'), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`infra/local.sh ${args.join(' ')}: exit ${code}\n${output}`)),
    );
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Injects `name` and repairs it; resolves when repaired (the record says how long it took). */
export async function injectFault(
  name: string,
  platform: DaprPlatform,
  recorder: Recorder,
  load: Workload,
): Promise<FaultRecord> {
  const fault = recorder.beginFault(name);
  const t0 = performance.now();
  try {
    const [kind, app] = name.split(':') as [string, AppId | undefined];
    switch (kind) {
      case 'kill-service':
      case 'kill-daprd': {
        const part = kind === 'kill-service' ? 'service' : 'sidecar';
        const timings = await platform.restart(app!, part, { readyTimeoutMs: 90_000 });
        fault.note = `kill -9, exited in ${seconds(timings.exitedMs)}, restarted and ready in ${seconds(timings.readyMs)}`;
        break;
      }
      case 'freeze-risk': {
        const pid = platform.pidOf('risk', 'service');
        process.kill(pid, 'SIGSTOP');
        try {
          await sleep(FREEZE_SECONDS * 1000);
        } finally {
          process.kill(pid, 'SIGCONT');
        }
        fault.note = `SIGSTOP for ${FREEZE_SECONDS} s, then SIGCONT`;
        break;
      }
      case 'burst': {
        const base = load.rate;
        load.rate = base * BURST_FACTOR;
        try {
          await sleep(BURST_SECONDS * 1000);
        } finally {
          load.rate = base;
        }
        fault.note = `${BURST_FACTOR}x the rate (${base * BURST_FACTOR}/s) for ${BURST_SECONDS} s`;
        break;
      }
      case 'restart-broker':
      case 'restart-postgres':
      case 'restart-redis': {
        const part =
          kind === 'restart-broker' ? platform.pubsub : kind === 'restart-postgres' ? 'postgres' : 'redis';
        await infra(['restart', part]);
        fault.note = `${part} stopped and started again, answering after ${seconds(performance.now() - t0)}`;
        break;
      }
    }
  } catch (error) {
    fault.error = error instanceof Error ? error.message : String(error);
  }
  fault.repairedAt = recorder.now();
  return fault;
}
