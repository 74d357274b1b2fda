/**
 * One embedded platform per data folder. Two would share (and the second would restart) the same
 * embedded PostgreSQL, and Ctrl-C on either would hang on the other. The lock is a file holding the
 * owner's pid and start time, created whole and exclusively: written to a file of our own, then
 * hard-linked to the lock's name (a link fails if the name exists), so nobody ever reads a half-written
 * lock. A lock whose process no longer runs is stale; only the starter holding the takeover file
 * (also created exclusively) may remove it, after checking again, and then everyone races for the
 * lock's name as at first: exactly one wins. (Moving a stale lock aside and back, as this once did,
 * could put a moved live lock back over a newer one: two starters then both held the folder.)
 */
import { link, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Gives `target` the content of `source`, unless `target` exists; true when it did. */
async function linkExclusive(source: string, target: string): Promise<boolean> {
  try {
    await link(source, target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** A takeover file older than this was left by a starter that died while taking over. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * Removes the stale lock `judged` if this starter gets the takeover file and the lock is still that
 * one; true when it did (or found the lock gone). False: someone else is taking over, try again.
 */
async function takeOver(file: string, judged: Holder | undefined, logger: Logger): Promise<boolean> {
  const takeover = `${file}.takeover`;
  try {
    await writeFile(takeover, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const age = await stat(takeover).then(
      (st) => Date.now() - st.mtimeMs,
      () => 0,
    );
    if (age > TAKEOVER_STALE_MS) await rm(takeover, { force: true });
    return false;
  }
  try {
    const now = await readHolder(file);
    if (now && processIsRunning(now.pid)) return true; // taken meanwhile: the next link attempt says so
    if (sameHolder(now, judged)) {
      await rm(file, { force: true });
      logger.warn(
        { file, stalePid: judged?.pid, staleSince: judged?.startedAt },
        judged
          ? `taking over the lock of process ${judged.pid} (started ${judged.startedAt}), which is no longer running`
          : 'taking over an unreadable lock file',
      );
    }
    return true;
  } finally {
    await rm(takeover, { force: true });
  }
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
  const mine = `${file}.${process.pid}.${Date.now()}`;
  await writeFile(mine, `${JSON.stringify(me)}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if (await linkExclusive(mine, file)) return lock;
      const holder = await readHolder(file);
      if (holder && processIsRunning(holder.pid)) throw new DataFolderInUseError(dataDir, holder);
      // Stale (or unreadable, which a whole-file lock is only when damaged): one starter removes it.
      if (await takeOver(file, holder, logger)) continue;
      await sleep(10 + Math.random() * 40);
    }
  } finally {
    await rm(mine, { force: true });
  }
  throw new Error(`could not lock ${dataDir}: ${file} keeps changing (several starts at once?)`);
}
