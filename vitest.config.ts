import { defineConfig } from 'vitest/config'

// Tests run real libp2p nodes, real SQLite files and real child processes on 127.0.0.1.
// Forks isolate native handles; two workers match the two cores of these machines.
export default defineConfig({
  test: {
    include: ['main/**/*.test.ts', 'shared/**/*.test.ts', 'renderer/**/*.test.ts', 'renderer/**/*.test.tsx', 'preload/**/*.test.ts', 'test/**/*.test.ts', 'soak/**/*.test.ts'],
    setupFiles: ['./test/setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
})
