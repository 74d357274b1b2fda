import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One platform at a time: each is five services (and five sidecars) on a 2-core machine, and two
    // dapr platforms would share app ids (mDNS, consumer groups).
    fileParallelism: false,
    // Child processes (services, sidecars) die with the process that started them (parent-death
    // signal); a worker thread's exit would be taken for ours.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
