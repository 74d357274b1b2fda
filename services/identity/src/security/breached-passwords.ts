/**
 * Breached-password check against a local list in Have I Been Pwned's range-file layout (ASVS 6.2.12):
 * a directory of `<PREFIX>.txt` files, PREFIX the first hex digits of the password's upper-case SHA-1,
 * each line the rest of a breached password's hash (`SUFFIX` or `SUFFIX:COUNT`). Like the k-anonymity
 * range API, a check reads only its prefix's file; nothing goes over the network, at run time or ever.
 * Files read are cached (a bounded number, so a full HIBP download of a million files stays small).
 */
import { opendirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { normalisePassword } from '../domain/password-policy.ts';

/** The list bundled with identity (data/breached-passwords/README.md says where it comes from). */
export const BUNDLED_BREACHED_PASSWORDS_DIR = resolve(import.meta.dirname, '../../data/breached-passwords');

const MAX_CACHED_FILES = 1024;

export interface BreachedPasswordList {
  /** True when the password (as typed, or lower-cased) is in the list. */
  isBreached(password: string): Promise<boolean>;
}

/** Reads the prefix length from the directory's first range file; refuses a directory without any. */
function prefixLengthOf(dir: string): number {
  const handle = opendirSync(dir);
  try {
    for (let entry = handle.readSync(); entry; entry = handle.readSync()) {
      const match = /^([0-9A-F]{1,5})\.txt$/.exec(entry.name);
      if (match?.[1]) return match[1].length;
    }
  } finally {
    handle.closeSync();
  }
  throw new Error(`BREACHED_PASSWORDS_DIR: no range files (<HEX>.txt) in ${dir}`);
}

export function createBreachedPasswordList(
  dir: string = BUNDLED_BREACHED_PASSWORDS_DIR,
): BreachedPasswordList {
  const prefixLength = prefixLengthOf(dir);
  const cache = new Map<string, Promise<Set<string>>>();

  function bucket(prefix: string): Promise<Set<string>> {
    let found = cache.get(prefix);
    if (!found) {
      found = readFile(join(dir, `${prefix}.txt`), 'utf8').then(
        (text) =>
          new Set(
            text
              .split('\n')
              .map((line) => line.split(':')[0]?.trim().toUpperCase() ?? '')
              .filter((s) => s.length > 0),
          ),
        (error: NodeJS.ErrnoException) => {
          // A missing file is an empty range; anything else is a broken installation.
          if (error.code === 'ENOENT') return new Set<string>();
          cache.delete(prefix);
          throw error;
        },
      );
      if (cache.size >= MAX_CACHED_FILES) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(prefix, found);
    }
    return found;
  }

  async function listed(candidate: string): Promise<boolean> {
    const hash = createHash('sha1').update(candidate, 'utf8').digest('hex').toUpperCase();
    return (await bucket(hash.slice(0, prefixLength))).has(hash.slice(prefixLength));
  }

  return {
    async isBreached(password) {
      const typed = normalisePassword(password);
      const lowered = typed.toLowerCase();
      return (await listed(typed)) || (lowered !== typed && (await listed(lowered)));
    },
  };
}
