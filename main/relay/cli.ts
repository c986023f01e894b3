// Entry point: `npm run relay -- [options]` (`--help` lists them). Prints the relay's
// multiaddr as the first line of stdout (scripts read it), logs JSON lines to stderr. Its
// option table and what it starts; the scaffold (main/hosts) does the rest.
import '../polyfill.js'
import { join } from 'node:path'
import { z } from 'zod'
import { defaultDataDir } from '../config/index.js'
import { EXIT_REFUSED, HostExit, type ArgsOf, type OptionTable, type RunningHost, intArg, runHost } from '../hosts/cli-host.js'
import { createLogger, LOG_LEVELS } from '../telemetry/index.js'
import { RelayServer } from './relay-server.js'

// Everything this process writes (its identity key, logs) is its owner's alone, as bitcoind does.
process.umask(0o077)

const RELAY_OPTIONS = {
  port: { type: 'string', value: 'N', help: 'TCP port (default 4003; 0 = any free port)', schema: intArg(0, 65535).default(4003) },
  host: { type: 'string', value: 'H', help: 'listen host (default 0.0.0.0)', schema: z.string().min(1).default('0.0.0.0') },
  'data-dir': { type: 'string', value: 'DIR', help: `its identity key, multiaddr file and log (default ${join(defaultDataDir(), 'relay')})`, schema: z.string().min(1).default(() => join(defaultDataDir(), 'relay')) },
  'max-reservations': { type: 'string', value: 'N', help: 'peers holding a reservation at once (default 128)', schema: intArg(1, 1_000_000).default(128) },
  'reservation-ttl-ms': { type: 'string', value: 'N', help: 'reservation lifetime (default 1 h)', schema: intArg(1000, 24 * 60 * 60 * 1000).default(60 * 60 * 1000) },
  'max-connections': { type: 'string', value: 'N', help: 'connections at once (default 1024)', schema: intArg(1, 1_000_000).default(1024) },
  announce: { type: 'string', multiple: true, value: 'MULTIADDR', help: 'an address to announce instead of the listen ones', schema: z.array(z.string().min(2).max(1024)).max(16).default([]) },
  'log-level': { type: 'string', value: 'L', help: 'error | warn | info | debug (default info)', schema: z.enum(LOG_LEVELS).default('info') },
} as const satisfies OptionTable

function createRelay(args: ArgsOf<typeof RELAY_OPTIONS>): RunningHost {
  const logger = createLogger({ console: true, logDir: args['data-dir'], fileName: 'relay.log', level: args['log-level'] }, 'relay-cli')
  let relay: RelayServer
  try {
    relay = new RelayServer(
      { logger },
      {
        dataDir: args['data-dir'],
        host: args.host,
        port: args.port,
        announce: args.announce,
        maxReservations: args['max-reservations'],
        reservationTtlMs: args['reservation-ttl-ms'],
        maxConnections: args['max-connections'],
      },
    )
  } catch (err) {
    // Its settings are what the command line gave: a person fixes how it is started.
    throw new HostExit(EXIT_REFUSED, (err as Error).message)
  }
  return {
    logger,
    start: () => relay.start(),
    stop: () => relay.stop(),
    ready: () => void process.stdout.write(`${relay.multiaddr}\n`),
  }
}

void runHost({ name: 'relay', usage: 'npm run relay -- [options]', options: RELAY_OPTIONS, create: createRelay })
