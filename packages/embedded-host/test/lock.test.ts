/**
 * One platform per data folder: a lock held by a live process is refused at once, naming it; a lock
 * left by a process that died is taken over, with a log line. Real processes, real files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@wallet/service-kit';
import { acquireDataFolderLock, DataFolderInUseError, LOCK_FILE_NAME } from '../src/lock.ts';

let dir: string;
const children: ChildProcess[] = [];

function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return {
    logger: createLogger('lock-test', { level: 'info' }, { write: (line: string) => void lines.push(line) }),
    lines,
  };
}

/** A Node process that stays alive until killed. */
async function liveNodeProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await new Promise<void>((ok, fail) => child.once('spawn', ok).once('error', fail));
  return child.pid!;
}

/** The pid of a Node process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise<void>((ok) => child.once('exit', () => ok()));
  return child.pid!;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wallet-lock-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('data folder lock', () => {
  it('is taken on a free folder and released on request', async () => {
    const { logger } = captureLogger();
    const lock = await acquireDataFolderLock(dir, logger);
    const holder = JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8')) as { pid: number };
    expect(holder.pid).toBe(process.pid);
    await lock.release();
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
  });

  it('refuses at once while the holder runs, naming its pid and start time', async () => {
    const pid = await liveNodeProcess();
    const since = '2026-11-28T15:00:00.000Z';
    await writeFile(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid, startedAt: since, command: 'main.ts' }));
    const started = Date.now();
    const refusal = await acquireDataFolderLock(dir, captureLogger().logger).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(refusal).toBeInstanceOf(DataFolderInUseError);
    expect((refusal as Error).message).toContain(`process ${pid}`);
    expect((refusal as Error).message).toContain(since);
    // The holder's lock is untouched.
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid });
  });

  it('takes over the lock of a process that is no longer running, and says so', async () => {
    const pid = await deadPid();
    await writeFile(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid, startedAt: '2026-11-28T14:00:00.000Z', command: 'main.ts' }),
    );
    const { logger, lines } = captureLogger();
    const lock = await acquireDataFolderLock(dir, logger);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(lines.join('')).toContain(`taking over the lock of process ${pid}`);
    await lock.release();
  });

  it('takes over an unreadable lock file (a crash while writing it)', async () => {
    await writeFile(join(dir, LOCK_FILE_NAME), '{"pid": 12');
    const { logger, lines } = captureLogger();
    const lock = await acquireDataFolderLock(dir, logger);
    expect(lines.join('')).toContain('unreadable lock file');
    await lock.release();
  });

  it('lets exactly one of several simultaneous starters take a stale lock', async () => {
    const pid = await deadPid();
    await writeFile(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid, startedAt: 'x', command: 'main.ts' }));
    // Other processes: each child takes the lock and holds it (prints "locked") or prints the refusal.
    const script = `
      import { acquireDataFolderLock } from ${JSON.stringify(join(import.meta.dirname, '../src/lock.ts'))};
      import { createLogger } from '@wallet/service-kit';
      try {
        await acquireDataFolderLock(process.argv[1], createLogger('t', { level: 'silent' }));
        process.stdout.write('locked\\n');
        setInterval(() => {}, 1000);
      } catch (error) {
        process.stdout.write(error.name + '\\n');
        process.exit(0);
      }`;
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], {
          cwd: join(import.meta.dirname, '..'),
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.push(child);
        return new Promise<string>((ok) => {
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            if (out.includes('\n')) ok(out.trim());
          });
          child.once('exit', () => ok(out.trim()));
        });
      }),
    );
    expect(outcomes.filter((o) => o === 'locked')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'DataFolderInUseError')).toHaveLength(5);
  }, 60_000);
});
