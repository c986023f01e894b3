// Entry point: `npm run relay -- --port N [--data-dir DIR] [--host H] [--max-reservations N]
// [--reservation-ttl-ms N] [--announce MA]... [--log-level L]`. Prints the relay's multiaddr
// as the first line of stdout (scripts read it), logs JSON lines to stderr.
import '../polyfill.js'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { defaultDataDir } from '../config/schema.js'
import { createLogger, LOG_LEVELS } from '../telemetry/index.js'
import { RelayServer } from './relay-server.js'

// Everything this process writes (its identity key, logs) is its owner's alone, as bitcoind does.
process.umask(0o077)

const intArg = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))

const ArgsSchema = z
  .object({
    port: intArg(0, 65535).default(4003),
    host: z.string().min(1).default('0.0.0.0'),
    'data-dir': z.string().min(1).default(() => join(defaultDataDir(), 'relay')),
    'max-reservations': intArg(1, 1_000_000).default(128),
    'reservation-ttl-ms': intArg(1000, 24 * 60 * 60 * 1000).default(60 * 60 * 1000),
    'max-connections': intArg(1, 1_000_000).default(1024),
    announce: z.array(z.string().min(2).max(1024)).max(16).default([]),
    'log-level': z.enum(LOG_LEVELS).default('info'),
  })
  .strict()

const USAGE = `usage: npm run relay -- [--port N] [--host H] [--data-dir DIR] [--max-reservations N]
       [--reservation-ttl-ms N] [--max-connections N] [--announce MULTIADDR]... [--log-level error|warn|info|debug]`

function parseCli(argv: string[]): z.output<typeof ArgsSchema> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'max-reservations': { type: 'string' },
      'reservation-ttl-ms': { type: 'string' },
      'max-connections': { type: 'string' },
      announce: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  const { help: _help, ...rest } = values
  const parsed = ArgsSchema.safeParse(rest)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n')
    throw new Error(`${problems}\n${USAGE}`)
  }
  return parsed.data
}

async function main(): Promise<void> {
  let args: z.output<typeof ArgsSchema>
  try {
    args = parseCli(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(2)
  }
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
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`)
    process.exit(2)
  }
  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info('stopping relay', { signal })
    relay.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('relay did not stop cleanly', { error: err })
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  try {
    await relay.start()
  } catch (err) {
    logger.error('relay failed to start', { error: err })
    process.exit(1)
  }
  process.stdout.write(`${relay.multiaddr}\n`)
}

void main()
