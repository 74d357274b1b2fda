import { describe, expect, it } from 'vitest';
import { cachedSessionStatuses, type SessionStatus } from '../../src/auth/current-roles.ts';

function countingSource(answers: (SessionStatus | Error)[]) {
  const calls: string[] = [];
  return {
    calls,
    source: {
      fetch(sessionId: string): Promise<SessionStatus> {
        calls.push(sessionId);
        const next = answers.shift();
        if (!next) throw new Error('no answer left');
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
      },
    },
  };
}

const admin: SessionStatus = { active: true, userId: 'u1', roles: ['user', 'admin'] };
const demoted: SessionStatus = { active: true, userId: 'u1', roles: ['user'] };

describe('cachedSessionStatuses', () => {
  it('asks identity again once the cache time has passed, never later', async () => {
    let now = 1_000;
    const { calls, source } = countingSource([admin, demoted]);
    const cache = cachedSessionStatuses(source, { ttlMs: 1_000, now: () => now });
    expect(await cache.fetch('s1')).toEqual(admin);
    now += 999;
    expect(await cache.fetch('s1')).toEqual(admin);
    now += 1;
    expect(await cache.fetch('s1')).toEqual(demoted);
    expect(calls).toEqual(['s1', 's1']);
  });

  it('shares one look-up between concurrent requests of a session', async () => {
    const { calls, source } = countingSource([admin]);
    const cache = cachedSessionStatuses(source, { ttlMs: 1_000 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => cache.fetch('s2')));
    expect(answers.every((a) => a === answers[0])).toBe(true);
    expect(calls).toEqual(['s2']);
  });

  it('does not remember a failure', async () => {
    const { calls, source } = countingSource([new Error('identity down'), admin]);
    const cache = cachedSessionStatuses(source, { ttlMs: 1_000 });
    await expect(cache.fetch('s3')).rejects.toThrow('identity down');
    expect(await cache.fetch('s3')).toEqual(admin);
    expect(calls).toEqual(['s3', 's3']);
  });

  it('with a cache time of 0 asks every time', async () => {
    const { calls, source } = countingSource([admin, demoted]);
    const cache = cachedSessionStatuses(source, { ttlMs: 0 });
    await cache.fetch('s4');
    expect(await cache.fetch('s4')).toEqual(demoted);
    expect(calls).toHaveLength(2);
  });
});
