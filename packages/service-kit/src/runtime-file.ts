/**
 * The runtime file: how operator commands (`npm run identity`, `npm run ledger`) find the platform
 * that is running on this machine. `npm start` writes `.data/embedded/runtime.json`, `npm run
 * start:dapr` writes `.data/dapr/runtime.json` (both 0600: they hold database URLs), each removes its
 * own on a clean stop. A file left by a process that died is recognised by its pid and named.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const RUNTIME_FILE_NAME = 'runtime.json';

export const runtimeFileSchema = z.object({
  mode: z.enum(['embedded', 'dapr']),
  pid: z.number().int().positive(),
  startedAt: z.string(),
  gatewayUrl: z.string().url(),
  /** Per app: the runtime role's database URL and the settings an operator command must share with it. */
  services: z.record(
    z.string(),
    z.object({ databaseUrl: z.string().url(), settings: z.record(z.string(), z.string()).default({}) }),
  ),
});

export type RuntimeFile = z.infer<typeof runtimeFileSchema>;

/**
 * Whether `pid` is a live process that may be ours. `kill(pid, 0)` probes without signalling (EPERM:
 * alive, another user's). On Linux a live pid whose command line is not Node's is a reused pid.
 */
export function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  if (process.platform === 'linux' && existsSync(cmdline)) {
    try {
      return /node/.test(readFileSync(cmdline, 'utf8'));
    } catch {
      return true;
    }
  }
  return true;
}

export async function writeRuntimeFile(dataDir: string, content: RuntimeFile): Promise<string> {
  const file = join(dataDir, RUNTIME_FILE_NAME);
  await writeFile(file, `${JSON.stringify(runtimeFileSchema.parse(content), null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** Removes the runtime file if it is still the one `pid` wrote (a later run may have replaced it). */
export async function removeRuntimeFile(dataDir: string, pid = process.pid): Promise<void> {
  const file = join(dataDir, RUNTIME_FILE_NAME);
  try {
    const { pid: writer } = z.object({ pid: z.number() }).parse(JSON.parse(readFileSync(file, 'utf8')));
    if (writer === pid) await rm(file, { force: true });
  } catch {
    // absent or unreadable: nothing of ours to remove
  }
}

export class NoRunningPlatformError extends Error {
  override name = 'NoRunningPlatformError';
}

export interface RunningPlatform extends RuntimeFile {
  file: string;
}

/**
 * The running platform among `dataDirs` (default: `.data/embedded` and `.data/dapr` under `repoRoot`;
 * WALLET_DATA_DIR alone when set). Throws NoRunningPlatformError naming each stale file (its pid, mode
 * and start time) when none runs, and asks to choose when two do.
 */
export function findRunningPlatform(options: { repoRoot: string; env?: NodeJS.ProcessEnv }): RunningPlatform {
  const env = options.env ?? process.env;
  const dataDirs = env['WALLET_DATA_DIR']
    ? [env['WALLET_DATA_DIR']]
    : [join(options.repoRoot, '.data', 'embedded'), join(options.repoRoot, '.data', 'dapr')];
  const running: RunningPlatform[] = [];
  const stale: string[] = [];
  const files = dataDirs.map((dir) => join(dir, RUNTIME_FILE_NAME));
  for (const file of files.filter((f) => existsSync(f))) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      stale.push(`${file} is not valid JSON`);
      continue;
    }
    const pid = z.object({ pid: z.number().int().positive() }).safeParse(raw);
    if (!pid.success) {
      stale.push(`${file} names no process`);
      continue;
    }
    const parsed = runtimeFileSchema.safeParse(raw);
    const label = parsed.success
      ? `${parsed.data.mode} mode, started ${parsed.data.startedAt}`
      : 'an older format';
    if (!processIsRunning(pid.data.pid)) {
      stale.push(`${file} is stale: process ${pid.data.pid} (${label}) is no longer running`);
      continue;
    }
    if (!parsed.success) {
      stale.push(`${file} (process ${pid.data.pid}, running) is in ${label}: restart that platform`);
      continue;
    }
    running.push({ ...parsed.data, file });
  }
  if (running.length === 1) return running[0]!;
  if (running.length > 1) {
    throw new NoRunningPlatformError(
      `two platforms are running (${running.map((r) => `${r.mode}: pid ${r.pid}, ${r.file}`).join('; ')}); ` +
        'choose one with WALLET_DATA_DIR=<its folder> or set DATABASE_URL',
    );
  }
  const looked = stale.length > 0 ? stale.join('; ') : `no ${files.join(' or ')}`;
  throw new NoRunningPlatformError(
    `no running platform found (${looked}). Start one (npm start, or npm run start:dapr) or set DATABASE_URL`,
  );
}
