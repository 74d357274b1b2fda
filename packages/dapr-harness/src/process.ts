/**
 * Child processes that cannot outlive us: every process started here is stopped (SIGKILL) when this
 * process exits, and on Linux the kernel also sends it a signal if we die without running exit
 * handlers (SIGKILL, OOM), through `setpriv --pdeathsig`. Output goes to an optional log file and a
 * bounded in-memory tail that error messages quote.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcessOptions {
  /** Shown in errors and log prefixes. */
  name: string;
  command: string;
  args?: readonly string[];
  /** The child's whole environment (default: ours). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Append stdout and stderr to this file (its folder is created). */
  logFile?: string;
  /** Lines kept in memory for `tail()`. Default 200. */
  tailLines?: number;
  /**
   * Start the child in its own process group, so a terminal's Ctrl-C reaches only us and we stop the
   * children in order (services before their sidecars). Default true.
   */
  ownProcessGroup?: boolean;
  /** Signal the kernel sends the child when we die (Linux, needs `setpriv`); null = none. Default SIGTERM. */
  parentDeathSignal?: NodeJS.Signals | null;
  /** Called for every output line (e.g. to echo it with a prefix). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface StopOptions {
  /** First signal. Default SIGTERM. */
  signal?: NodeJS.Signals;
  /** Deadline before SIGKILL. Default 10 s. */
  timeoutMs?: number;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Set once the process has exited. */
  exitInfo(): ExitInfo | undefined;
  /** The last output lines (all of them kept, or the last `lines`). */
  tail(lines?: number): string;
  /** Sends `signal`; no-op once exited. */
  kill(signal: NodeJS.Signals): void;
  /** Sends SIGTERM (or `signal`), waits, escalates to SIGKILL at the deadline. */
  stop(options?: StopOptions): Promise<ExitInfo>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a SIGKILL is the only thing that surely finishes in time.
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

let setprivPath: string | null | undefined;

/** `setpriv` (util-linux) sets the parent-death signal and then execs the command. */
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform === 'linux') {
    for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
      const candidate = join(dir, 'setpriv');
      if (dir && existsSync(candidate)) {
        setprivPath = candidate;
        break;
      }
    }
  }
  return setprivPath;
}

/** Processes started by this module and still running (for diagnostics and tests). */
export function liveProcessCount(): number {
  return live.size;
}

export function startProcess(options: ManagedProcessOptions): ManagedProcess {
  installExitHook();
  const tailLimit = options.tailLines ?? 200;
  const deathSignal = options.parentDeathSignal === undefined ? 'SIGTERM' : options.parentDeathSignal;
  const setpriv = deathSignal === null ? null : findSetpriv();
  let command = options.command;
  let args: string[] = [...(options.args ?? [])];
  if (setpriv !== null && deathSignal !== null) {
    args = ['--pdeathsig', deathSignal, '--', command, ...args];
    command = setpriv;
  }

  let log: WriteStream | undefined;
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    log = createWriteStream(options.logFile, { flags: 'a' });
  }
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownProcessGroup ?? true,
  });
  live.add(child);

  const lines: string[] = [];
  const remember = (stream: 'stdout' | 'stderr') => {
    let partial = '';
    return (chunk: Buffer): void => {
      log?.write(chunk);
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > tailLimit) lines.shift();
        options.onLine?.(line, stream);
      }
    };
  };
  child.stdout?.on('data', remember('stdout'));
  child.stderr?.on('data', remember('stderr'));

  let info: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    const done = (result: ExitInfo): void => {
      if (info) return;
      info = result;
      live.delete(child);
      log?.end();
      resolve(result);
    };
    child.once('exit', (code, signal) => done({ code, signal }));
    child.once('error', (error) => {
      lines.push(`[${options.name}] failed to start: ${error.message}`);
      done({ code: -1, signal: null });
    });
  });

  const kill = (signal: NodeJS.Signals): void => {
    if (info || child.exitCode !== null || child.signalCode !== null) return;
    try {
      child.kill(signal);
    } catch {
      // raced with its exit
    }
  };

  return {
    name: options.name,
    pid: child.pid ?? -1,
    exited,
    exitInfo: () => info,
    tail: (count?: number) => (count === undefined ? lines : lines.slice(-count)).join('\n'),
    kill,
    async stop(stopOptions: StopOptions = {}): Promise<ExitInfo> {
      if (info) return info;
      kill(stopOptions.signal ?? 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), stopOptions.timeoutMs ?? 10_000);
      });
      const first = await Promise.race([exited, deadline]);
      clearTimeout(timer);
      if (first !== 'late') return first;
      kill('SIGKILL');
      return exited;
    },
  };
}

/** A readable reason for an exit, for error messages. */
export function describeExit(info: ExitInfo): string {
  return info.signal ? `killed by ${info.signal}` : `exited with code ${String(info.code)}`;
}
