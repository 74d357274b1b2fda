/**
 * How operator commands find the running platform: the scenario of issue 20 (a stale
 * `.data/embedded/runtime.json` from an earlier `npm start` while `npm run start:dapr` runs), both
 * running, none running. Real files and real processes (pids).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  NoRunningPlatformError,
  RUNTIME_FILE_NAME,
  findRunningPlatform,
  processIsRunning,
  removeRuntimeFile,
  writeRuntimeFile,
  type RuntimeFile,
} from '../../src/runtime-file.ts';

let root: string;
let deadPid: number;

const content = (mode: RuntimeFile['mode'], pid: number, port: number): RuntimeFile => ({
  mode,
  pid,
  startedAt: '2026-11-28T15:00:00.000Z',
  gatewayUrl: 'https://localhost:8443',
  services: {
    identity: {
      databaseUrl: `postgres://u:p@127.0.0.1:${port}/wallet_identity`,
      settings: { ARGON2_TIME_COST: '3' },
    },
  },
});

async function place(mode: RuntimeFile['mode'], pid: number, port: number): Promise<string> {
  const dir = join(root, '.data', mode);
  await mkdir(dir, { recursive: true });
  return writeRuntimeFile(dir, content(mode, pid, port));
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'wallet-runtime-'));
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise<void>((ok) => child.once('exit', () => ok()));
  deadPid = child.pid!;
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('runtime file', () => {
  it('tells a live process from a dead one', () => {
    expect(processIsRunning(process.pid)).toBe(true);
    expect(processIsRunning(deadPid)).toBe(false);
  });

  it('finds the dapr-mode platform past a stale embedded file', async () => {
    await place('embedded', deadPid, 55400);
    await place('dapr', process.pid, 5432);
    const found = findRunningPlatform({ repoRoot: root, env: {} });
    expect(found.mode).toBe('dapr');
    expect(found.services['identity']).toEqual({
      databaseUrl: 'postgres://u:p@127.0.0.1:5432/wallet_identity',
      settings: { ARGON2_TIME_COST: '3' },
    });
  });

  it('names the stale file, its pid and its mode when nothing runs', async () => {
    const file = await place('embedded', deadPid, 55400);
    const error = (() => {
      try {
        findRunningPlatform({ repoRoot: root, env: {} });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(NoRunningPlatformError);
    expect((error as Error).message).toContain(`${file} is stale: process ${deadPid} (embedded mode`);
  });

  it('says where it looked when there is no runtime file at all', () => {
    expect(() => findRunningPlatform({ repoRoot: root, env: {} })).toThrow(
      /no running platform found .*runtime\.json/,
    );
  });

  it('asks to choose when both modes run, and WALLET_DATA_DIR chooses', async () => {
    await place('embedded', process.pid, 55400);
    await place('dapr', process.pid, 5432);
    expect(() => findRunningPlatform({ repoRoot: root, env: {} })).toThrow(/two platforms are running/);
    const chosen = findRunningPlatform({
      repoRoot: root,
      env: { WALLET_DATA_DIR: join(root, '.data', 'embedded') },
    });
    expect(chosen.mode).toBe('embedded');
  });

  it('names a file in an older format (no mode) by its pid', async () => {
    const dir = join(root, '.data', 'embedded');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, RUNTIME_FILE_NAME), JSON.stringify({ pid: deadPid, databases: {} }));
    expect(() => findRunningPlatform({ repoRoot: root, env: {} })).toThrow(
      new RegExp(`is stale: process ${deadPid} \\(an older format\\)`),
    );
  });

  it('is removed on stop only by the process that wrote it', async () => {
    const file = await place('dapr', process.pid, 5432);
    await removeRuntimeFile(join(root, '.data', 'dapr'), process.pid + 1);
    expect(findRunningPlatform({ repoRoot: root, env: {} }).file).toBe(file);
    await removeRuntimeFile(join(root, '.data', 'dapr'));
    expect(() => findRunningPlatform({ repoRoot: root, env: {} })).toThrow(NoRunningPlatformError);
  });
});
