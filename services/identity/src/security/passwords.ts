/**
 * argon2id through @node-rs/argon2 (prebuilt native binding; hashing runs off the event loop).
 * Parameters come from configuration; a hash made with other parameters is upgraded on the next
 * successful login. At most one hash per core runs at once; the rest wait only as long as their
 * request can still use the answer, else the request is answered 503 `overloaded` with Retry-After
 * (service-kit's work limiter), instead of hashes piling up until every sign-in times out.
 */
import { availableParallelism } from 'node:os';
import { hash, parseOptions, verify, type Algorithm } from '@node-rs/argon2';
import { createWorkLimiter, WorkOverloadedError, type WorkLimiter } from '@wallet/service-kit';
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

export async function createPasswordHasher(
  params: Argon2Parameters,
  limiter: WorkLimiter = createWorkLimiter({ what: 'password hashing', concurrency: availableParallelism() }),
): Promise<PasswordHasher> {
  const options = {
    algorithm: ARGON2ID,
    memoryCost: params.memoryKib,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
  const doHash = (password: string) => limiter.run(() => hash(normalisePassword(password), options));
  const doVerify = (hashed: string, password: string) =>
    limiter.run(() => verify(hashed, normalisePassword(password)));
  const dummy = await doHash(`dummy-${Math.random()}-never-a-password`);
  return {
    hash: doHash,
    async verify(hashed, password) {
      try {
        return await doVerify(hashed, password);
      } catch (error) {
        if (error instanceof WorkOverloadedError) throw error;
        return false;
      }
    },
    async verifyAgainstDummy(password) {
      await doVerify(dummy, password).catch((error: unknown) => {
        if (error instanceof WorkOverloadedError) throw error;
        return false;
      });
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
