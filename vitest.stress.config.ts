import { defineConfig } from 'vitest/config';

/** `npm run test:stress`: the load suite only (minutes long; kept out of `npm test`). */
export default defineConfig({
  test: {
    include: ['test/stress/**/*.test.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
