// Entry point: `npm run devnet -- [--port N] [--host H] [--data-dir DIR] [--block-interval-ms N]
// [--min-fee-rate SATS_PER_KB] [--log-level L]`. Prints the devnet's URL as the first line of
// stdout (scripts read it); logs JSON lines to stderr. In memory unless --data-dir is given.
// Mines a block every 5 s unless told otherwise (tests pass 0 and mine on request).
import '../../polyfill.js'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { createLogger, LOG_LEVELS } from '../../telemetry/index.js'
import { DevnetServer } from './devnet-server.js'

const intArg = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))

/** Blocks come on their own, as on a real chain: sends and channel closes confirm in seconds. */
const DEFAULT_BLOCK_INTERVAL_MS = 5000

const ArgsSchema = z
  .object({
    port: intArg(0, 65535).default(18332),
    host: z.string().min(1).default('127.0.0.1'),
    'data-dir': z.string().min(1).optional(),
    'block-interval-ms': intArg(0, 24 * 60 * 60 * 1000).default(DEFAULT_BLOCK_INTERVAL_MS),
    'min-fee-rate': intArg(0, 1_000_000).default(50),
    'log-level': z.enum(LOG_LEVELS).default('info'),
  })
  .strict()

const USAGE = `usage: npm run devnet -- [--port N] [--host H] [--data-dir DIR] [--block-interval-ms N]
       [--min-fee-rate SATS_PER_KB] [--log-level error|warn|info|debug]

A local BSV chain for demos and tests: every transaction is validated (scripts, fees,
finality, double spends). Prints its URL, then serves:
  --port N                 default 18332; 0 picks a free port
  --data-dir DIR           keep the chain in DIR (default: in memory, gone on exit)
  --block-interval-ms N    mine a block every N ms (default ${DEFAULT_BLOCK_INTERVAL_MS}; 0: only on request)
  --min-fee-rate N         the fee floor in sat/kB (default 50)

Endpoints (JSON):
  POST /devnet/faucet   {"address":"<P2PKH address>","satoshis":N}   pays N sats to the address
  POST /devnet/mine     {"blocks":N}                                mines N blocks now
  GET  /devnet/status                                               height, mempool size, fee floor
  POST /devnet/replace  {"rawTx":"<hex>"}                           a double spend that wins (tests)
  POST /devnet/drop     {"txid":"<txid>"}                           a mempool tx that vanishes (tests)
  WhatsOnChain subset under /v1/bsv/devnet/... and ARC's POST /v1/tx: what the wallet uses.
Wallets point at it with --network devnet --chain-url <its URL>.`

function parseCli(argv: string[]): z.output<typeof ArgsSchema> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'block-interval-ms': { type: 'string' },
      'min-fee-rate': { type: 'string' },
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
  const logger = createLogger({ console: true, level: args['log-level'] }, 'devnet')
  const devnet = new DevnetServer({
    host: args.host,
    port: args.port,
    dataDir: args['data-dir'],
    blockIntervalMs: args['block-interval-ms'],
    minFeeRateSatsPerKb: args['min-fee-rate'],
    logger,
  })
  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info('stopping devnet', { signal })
    devnet.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('devnet did not stop cleanly', { err })
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  try {
    await devnet.start()
  } catch (err) {
    logger.error('devnet failed to start', { err })
    process.stderr.write(`devnet failed to start: ${(err as Error).message}\n`)
    process.exit(1)
  }
  process.stdout.write(`${devnet.url}\n`)
}

void main()
