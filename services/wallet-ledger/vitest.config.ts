import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites talk to a real PostgreSQL; give them room without hiding hangs.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
