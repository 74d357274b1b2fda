/**
 * argon2id through @node-rs/argon2 (prebuilt native binding; hashing runs off the event loop).
 * Parameters come from configuration; a hash made with other parameters is upgraded on the next
 * successful login.
 */
import { hash, parseOptions, verify, type Algorithm } from '@node-rs/argon2';
import type { Argon2Parameters } from '../config.ts';
import { normalisePassword } from '../domain/password-policy.ts';

// `Algorithm` is an ambient const enum, which isolated modules cannot read: 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hashed: string, password: string): Promise<boolean>;
  /** Spends the same time as a real verification, for accounts that do not exist. */
  verifyAgainstDummy(password: string): Promise<false>;
  needsRehash(hashed: string): boolean;
}

export async function createPasswordHasher(params: Argon2Parameters): Promise<PasswordHasher> {
  const options = {
    algorithm: ARGON2ID,
    memoryCost: params.memoryKib,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
  const doHash = (password: string) => hash(normalisePassword(password), options);
  const dummy = await doHash(`dummy-${Math.random()}-never-a-password`);
  return {
    hash: doHash,
    async verify(hashed, password) {
      try {
        return await verify(hashed, normalisePassword(password));
      } catch {
        return false;
      }
    },
    async verifyAgainstDummy(password) {
      await verify(dummy, normalisePassword(password)).catch(() => false);
      return false;
    },
    needsRehash(hashed) {
      try {
        const p = parseOptions(hashed);
        return (
          p.algorithm !== ARGON2ID ||
          p.memoryCost !== params.memoryKib ||
          p.timeCost !== params.timeCost ||
          p.parallelism !== params.parallelism
        );
      } catch {
        return true;
      }
    },
  };
}
