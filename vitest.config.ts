import { configDefaults, defineConfig } from 'vitest/config'

const TEST_FILES = ['main/**/*.test.ts', 'shared/**/*.test.ts', 'renderer/**/*.test.ts', 'renderer/**/*.test.tsx', 'preload/**/*.test.ts', 'test/**/*.test.ts', 'soak/**/*.test.ts']

/**
 * The integration set (`npm run test:integration`): tests that start other processes, that
 * run real networks of several nodes, relays or a devnet and wait on them in real time, or
 * that run loops of thousands (fuzz, model, property, volume). Every other test file is a unit
 * test: in this process, on fake clocks where time matters, fast enough to run on every change
 * (`npm run test:unit`). A file is in exactly one of the two projects by construction (`unit`
 * takes everything this list does not); test/test-sets.test.ts checks it against the disk.
 */
const INTEGRATION_FILES = [
  // Other processes: daemons, devnet and relay CLIs, npm, git, node with a profiler.
  'test/**/*.test.ts',
  'main/chain/devnet/cli.test.ts',
  'main/electron/native-binding.test.ts',
  'main/relay/relay-server.test.ts',
  'main/telemetry/logger-stderr.test.ts',
  // Loops of thousands: a channel model, random keys on every signer, 100,000 stored
  // messages, 120,000 fuzzed frames, 10,000 pipelined messages, every retry interleaving.
  'main/channels/channel-model.test.ts',
  'main/channels/signer.test.ts',
  'main/idempotency/ledger.test.ts',
  'main/p2p/messaging/conversations.test.ts',
  'main/p2p/messaging/frames.fuzz.test.ts',
  'main/p2p/messaging/messaging.test.ts',
  // Real networks in real time: relays restarted, floods, server timeouts, channels and
  // wallets against a devnet.
  'main/channels/channel-backup.test.ts',
  'main/channels/channel-recovery.test.ts',
  'main/channels/channel-unreachable.test.ts',
  'main/daemon/api-connections.test.ts',
  'main/p2p/connection-cap.test.ts',
  'main/p2p/messaging/messaging-limits.test.ts',
  'main/p2p/messaging/messaging-relay.test.ts',
  'main/p2p/messaging/store-and-forward.test.ts',
  'main/p2p/node.test.ts',
  'main/p2p/relay-keeper.test.ts',
  'main/wallet/wallet-part.test.ts',
  'main/wallet/wallet-service.test.ts',
]

// Tests run real libp2p nodes, real SQLite files and (integration) real child processes on
// 127.0.0.1. Forks isolate native handles; two workers match the two cores of these machines.
export default defineConfig({
  test: {
    setupFiles: ['./test/setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    projects: [
      // Unit test files share a worker's loaded modules (no isolation): loading libp2p, zod and
      // SQLite once per worker instead of once per file is most of what makes this set fast.
      // A unit test therefore leaves no global state behind (fake timers restored, mocks reset).
      { extends: true, test: { name: 'unit', include: TEST_FILES, exclude: [...configDefaults.exclude, ...INTEGRATION_FILES], isolate: false } },
      { extends: true, test: { name: 'integration', include: INTEGRATION_FILES } },
    ],
  },
})
