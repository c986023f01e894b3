import { defineConfig } from 'vitest/config'

// The resilience suite (`npm run test:chaos`): long, bounded runs against real processes on
// 127.0.0.1. CHAOS_PROFILE=short (what `npm test` runs) scales every scenario down to a
// few minutes in all; the default profile is the full one the issue asks for.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    setupFiles: ['./test/setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
})
