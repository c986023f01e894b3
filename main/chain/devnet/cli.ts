// Entry point: `npm run devnet -- [options]` (`--help` lists them). Prints the devnet's URL
// as the first line of stdout (scripts read it); logs JSON lines to stderr. In memory unless
// --data-dir is given. Mines a block every 5 s unless told otherwise (tests pass 0 and mine
// on request). Its option table and what it starts; the scaffold (main/hosts) does the rest.
import '../../polyfill.js'
import { z } from 'zod'
import { type ArgsOf, type OptionTable, type RunningHost, intArg, runHost } from '../../hosts/cli-host.js'
import { createLogger, LOG_LEVELS } from '../../telemetry/index.js'
import { DevnetServer } from './devnet-server.js'

/** Blocks come on their own, as on a real chain: sends and channel closes confirm in seconds. */
const DEFAULT_BLOCK_INTERVAL_MS = 5000

const DEVNET_OPTIONS = {
  port: { type: 'string', value: 'N', help: 'default 18332; 0 picks a free port', schema: intArg(0, 65535).default(18332) },
  host: { type: 'string', value: 'H', help: 'listen host (default 127.0.0.1)', schema: z.string().min(1).default('127.0.0.1') },
  'data-dir': { type: 'string', value: 'DIR', help: 'keep the chain in DIR (default: in memory, gone on exit)', schema: z.string().min(1).optional() },
  'block-interval-ms': { type: 'string', value: 'N', help: `mine a block every N ms (default ${DEFAULT_BLOCK_INTERVAL_MS}; 0: only on request)`, schema: intArg(0, 24 * 60 * 60 * 1000).default(DEFAULT_BLOCK_INTERVAL_MS) },
  'min-fee-rate': { type: 'string', value: 'SATS_PER_KB', help: 'the fee floor in sat/kB (default 50)', schema: intArg(0, 1_000_000).default(50) },
  'log-level': { type: 'string', value: 'L', help: 'error | warn | info | debug (default info)', schema: z.enum(LOG_LEVELS).default('info') },
} as const satisfies OptionTable

const ABOUT = `A local BSV chain for demos and tests: every transaction is validated (scripts, fees,
finality, double spends). Prints its URL, then serves (JSON):
  POST /devnet/faucet   {"address":"<P2PKH address>","satoshis":N}   pays N sats to the address
  POST /devnet/mine     {"blocks":N}                                mines N blocks now
  GET  /devnet/status                                               height, mempool size, fee floor
  POST /devnet/replace  {"rawTx":"<hex>"}                           a double spend that wins (tests)
  POST /devnet/drop     {"txid":"<txid>"}                           a mempool tx that vanishes (tests)
  WhatsOnChain subset under /v1/bsv/devnet/... and ARC's POST /v1/tx: what the wallet uses.
Wallets point at it with --network devnet --chain-url <its URL>.`

function createDevnet(args: ArgsOf<typeof DEVNET_OPTIONS>): RunningHost {
  const logger = createLogger({ console: true, level: args['log-level'] }, 'devnet')
  const devnet = new DevnetServer({
    host: args.host,
    port: args.port,
    dataDir: args['data-dir'],
    blockIntervalMs: args['block-interval-ms'],
    minFeeRateSatsPerKb: args['min-fee-rate'],
    logger,
  })
  return {
    logger,
    start: () => devnet.start(),
    stop: () => devnet.stop(),
    ready: () => void process.stdout.write(`${devnet.url}\n`),
  }
}

void runHost({ name: 'devnet', usage: 'npm run devnet -- [options]', epilog: ABOUT, options: DEVNET_OPTIONS, create: createDevnet })
