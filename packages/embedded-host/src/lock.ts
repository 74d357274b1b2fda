/**
 * One embedded platform per data folder. Two would share (and the second would restart) the same
 * embedded PostgreSQL, and Ctrl-C on either would hang on the other. The lock is a file created
 * exclusively (`wx`) holding the owner's pid and start time; a lock whose process no longer runs is
 * stale and taken over (moved aside atomically, so two starters cannot both take it).
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '@wallet/service-kit';
// The light entry (zod only): `npm start` checks the lock before it loads the services.
import { processIsRunning } from '@wallet/service-kit/runtime-file';

export const LOCK_FILE_NAME = 'platform.lock';

const holderSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.string(),
  command: z.string(),
});
type Holder = z.infer<typeof holderSchema>;

export class DataFolderInUseError extends Error {
  override name = 'DataFolderInUseError';
  readonly holder: Holder;
  constructor(dataDir: string, holder: Holder) {
    super(
      `the data folder ${dataDir} is in use by process ${holder.pid} (${holder.command}, running since ` +
        `${holder.startedAt}): stop it first (Ctrl-C in its terminal, or kill ${holder.pid}), ` +
        'or give this one another folder (WALLET_DATA_DIR)',
    );
    this.holder = holder;
  }
}

export interface DataFolderLock {
  file: string;
  /** Removes the lock if it is still ours. */
  release(): Promise<void>;
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    const parsed = holderSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const sameHolder = (a: Holder | undefined, b: Holder | undefined): boolean =>
  a?.pid === b?.pid && a?.startedAt === b?.startedAt;

/** Throws DataFolderInUseError if a live process holds the folder (a check only: it takes nothing). */
export async function assertDataFolderFree(dataDir: string): Promise<void> {
  const holder = await readHolder(join(dataDir, LOCK_FILE_NAME));
  if (holder && processIsRunning(holder.pid)) throw new DataFolderInUseError(dataDir, holder);
}

export async function acquireDataFolderLock(dataDir: string, logger: Logger): Promise<DataFolderLock> {
  const file = join(dataDir, LOCK_FILE_NAME);
  const me: Holder = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' ') || 'node',
  };
  const lock: DataFolderLock = {
    file,
    async release() {
      if (sameHolder(await readHolder(file), me)) await rm(file, { force: true });
    },
  };
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      await writeFile(file, `${JSON.stringify(me)}\n`, { flag: 'wx', mode: 0o644 });
      return lock;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(file);
    if (holder && processIsRunning(holder.pid)) throw new DataFolderInUseError(dataDir, holder);
    // Stale (or unreadable: a crash while writing it). Move it aside, then check that what we moved is
    // what we judged stale: a racing starter may have replaced it in between, and that one is live.
    const aside = `${file}.stale-${process.pid}`;
    try {
      await rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = await readHolder(aside);
    if (!sameHolder(moved, holder)) {
      await rename(aside, file).catch(() => undefined);
      continue;
    }
    await rm(aside, { force: true });
    logger.warn(
      { file, stalePid: holder?.pid, staleSince: holder?.startedAt },
      holder
        ? `taking over the lock of process ${holder.pid} (started ${holder.startedAt}), which is no longer running`
        : 'taking over an unreadable lock file',
    );
  }
  throw new Error(`could not lock ${dataDir}: ${file} keeps changing (several starts at once?)`);
}
