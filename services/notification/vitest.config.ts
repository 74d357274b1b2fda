import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites talk to a real PostgreSQL and local provider fakes; room without hiding hangs.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
