import { existsSync, readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { parseRelayAddress } from '../p2p/relay-address.js'
import { type EngineConfig, EngineConfigSchema, crossKeyProblem, defaultDataDir } from './schema.js'

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    message: string,
    /** The offending key as a dotted path, e.g. `p2p.port`. */
    readonly key?: string,
  ) {
    super(message)
  }
}

type Plain = Record<string, unknown>

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Later layers win; nested objects merge, arrays replace. */
export function mergeLayers(...layers: Plain[]): Plain {
  const out: Plain = {}
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue
      out[key] = isPlain(value) && isPlain(out[key]) ? mergeLayers(out[key] as Plain, value) : value
    }
  }
  return out
}

/** Validate a merged layer; the error names the first bad key and where it came from. */
export function validateConfig(input: unknown, source = 'config', opts: { final?: boolean } = {}): EngineConfig {
  const parsed = EngineConfigSchema.safeParse(input)
  if (parsed.success) {
    const problem = valueProblem(parsed.data) ?? (opts.final ? crossKeyProblem(parsed.data) : null)
    if (problem) throw new ConfigError(`${source}: invalid ${problem.path}: ${problem.message}`, problem.path)
    return parsed.data
  }
  const issue = parsed.error.issues[0]!
  let path = keyPath(issue.path)
  if (issue.code === 'unrecognized_keys') path = keyPath([...issue.path, ...issue.keys])
  const what = issue.code === 'unrecognized_keys' ? 'unknown key' : z.prettifyError(new z.ZodError([issue])).replace(/^✖ /, '').split('\n')[0]
  throw new ConfigError(`${source}: invalid ${path || '(root)'}: ${what}`, path)
}

/** `p2p.relays[0]`, as a person reads a key. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${String(k)}` : String(k)), '')
}

/**
 * What a shape cannot judge: addresses that must parse as what they will be used for, so a
 * bad value stops start-up naming its key instead of being skipped at run time.
 */
function valueProblem(config: EngineConfig): { path: string; message: string } | null {
  for (const [i, relay] of config.p2p.relays.entries()) {
    try {
      parseRelayAddress(relay)
    } catch (err) {
      return { path: `p2p.relays[${i}]`, message: `"${relay}" is not a relay address (${(err as Error).message}); a relay is a full multiaddr ending in /p2p/<relay peer id>` }
    }
  }
  for (const [i, addr] of config.p2p.announce.entries()) {
    try {
      multiaddr(addr)
    } catch (err) {
      return { path: `p2p.announce[${i}]`, message: `"${addr}" is not a multiaddr (${(err as Error).message})` }
    }
  }
  if (config.p2p.host !== 'localhost' && isIP(config.p2p.host) === 0) return { path: 'p2p.host', message: `"${config.p2p.host}" is not an IPv4 or IPv6 address` }
  return null
}

const intFrom = (key: string, raw: string): number => {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${key}: expected a whole number, got "${raw}"`, key)
  return Number(raw)
}

const boolFrom = (key: string, raw: string): boolean => {
  const v = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  if (['0', 'false', 'no', 'off'].includes(v)) return false
  throw new ConfigError(`${key}: expected true or false, got "${raw}"`, key)
}

const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

/** Environment variables: BSV_P2P_<NAME>. Only the documented ones are read. */
export function configFromEnv(env: NodeJS.ProcessEnv): Plain {
  const e = (name: string): string | undefined => env[`BSV_P2P_${name}`]
  const out: Plain = {}
  const p2p: Plain = {}
  const api: Plain = {}
  if (e('DATA_DIR')) out.dataDir = e('DATA_DIR')
  if (e('NETWORK')) out.network = e('NETWORK')
  if (e('CHAIN_URL')) out.chainUrl = e('CHAIN_URL')
  if (e('LOG_LEVEL')) out.logLevel = e('LOG_LEVEL')
  if (e('P2P_HOST')) p2p.host = e('P2P_HOST')
  if (e('P2P_PORT')) p2p.port = intFrom('BSV_P2P_P2P_PORT', e('P2P_PORT')!)
  if (e('WS_PORT')) p2p.wsPort = intFrom('BSV_P2P_WS_PORT', e('WS_PORT')!)
  if (e('RELAYS')) p2p.relays = list(e('RELAYS')!)
  if (e('MDNS')) p2p.mdns = boolFrom('BSV_P2P_MDNS', e('MDNS')!)
  if (e('API_HOST')) api.host = e('API_HOST')
  if (e('API_PORT')) api.port = intFrom('BSV_P2P_API_PORT', e('API_PORT')!)
  const chain: Plain = {}
  if (e('ARC_API_KEY')) chain.arcApiKey = e('ARC_API_KEY')
  if (e('WOC_API_KEY')) chain.wocApiKey = e('WOC_API_KEY')
  if (Object.keys(p2p).length) out.p2p = p2p
  if (Object.keys(api).length) out.api = api
  if (Object.keys(chain).length) out.chain = chain
  return out
}

export interface CliOptions {
  config: Plain
  configFile?: string
  help: boolean
  /** Check the database of the data dir (SQLite integrity_check, read-only) and exit. */
  checkDatabase: boolean
  /** Options a host reads itself (e.g. the passphrase file); not part of the engine config. */
  extra: Record<string, string | undefined>
}

export const DAEMON_USAGE = `Usage: npm run daemon -- [options]

  --data-dir DIR        data directory (default ${defaultDataDir()})
  --config FILE         JSON config file (default <data-dir>/config.json when present)
  --network NAME        mainnet | testnet | devnet
  --chain-url URL       chain service URL (devnet: the devnet's URL)
  --p2p-host HOST       listen host for P2P (default 0.0.0.0)
  --p2p-port N          TCP port for P2P (default 4001; 0 = any free port)
  --ws-port N           WebSocket listener for browser peers (default: none; 0 = any free port)
  --listen-best-effort  run even if a P2P listener cannot bind (health says which)
  --api-host HOST       API host (default 127.0.0.1)
  --api-port N          API port (default 4002; 0 = any free port)
  --relay MULTIADDR     circuit relay to keep a reservation on (repeatable)
  --log-level LEVEL     error | warn | info | debug
  --no-mdns             do not use mDNS on the LAN
  --passphrase-file F   file holding the wallet passphrase
  --check-database      check the data dir's database (read-only; safe while it runs) and exit:
                        0 sound, 1 damaged
  --restore-backup F    put backup F (from <data-dir>/backups) in place of the database and exit;
                        refused while the daemon runs or for another wallet's backup
  --accept-wallet ADDR  with --restore-backup: the backup's wallet, when the database there is too
                        damaged to tell whose it is
  --restore-words-file F  once started, replace the wallet with the recovery words in file F
                        (its keys, then a resync from the chain); with a passphrase the
                        daemon's passphrase seals them
  --restore-channels F  once started (and after --restore-words-file), restore channel backup
                        file F: channels this wallet lacks come back and close out on chain
  -h, --help            this text

Environment: BSV_P2P_DATA_DIR, BSV_P2P_NETWORK, BSV_P2P_CHAIN_URL, BSV_P2P_P2P_HOST, BSV_P2P_P2P_PORT,
BSV_P2P_WS_PORT, BSV_P2P_API_HOST, BSV_P2P_API_PORT, BSV_P2P_RELAYS (comma separated), BSV_P2P_LOG_LEVEL,
BSV_P2P_MDNS, BSV_P2P_PASSPHRASE, BSV_P2P_ARC_API_KEY, BSV_P2P_WOC_API_KEY. Flags beat the environment, which beats the config file.`

export function configFromArgs(argv: string[]): CliOptions {
  let values: Record<string, string | boolean | string[] | undefined>
  try {
    ;({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        config: { type: 'string' },
        network: { type: 'string' },
        'chain-url': { type: 'string' },
        'p2p-host': { type: 'string' },
        'p2p-port': { type: 'string' },
        'ws-port': { type: 'string' },
        'listen-best-effort': { type: 'boolean' },
        'api-host': { type: 'string' },
        'api-port': { type: 'string' },
        relay: { type: 'string', multiple: true },
        'log-level': { type: 'string' },
        'no-mdns': { type: 'boolean' },
        mdns: { type: 'boolean' },
        'passphrase-file': { type: 'string' },
        'check-database': { type: 'boolean' },
        'restore-backup': { type: 'string' },
        'accept-wallet': { type: 'string' },
        'restore-words-file': { type: 'string' },
        'restore-channels': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (err) {
    throw new ConfigError(`command line: ${(err as Error).message}`)
  }
  const s = (k: string): string | undefined => values[k] as string | undefined
  const p2p: Plain = {}
  const api: Plain = {}
  const out: Plain = {}
  if (s('data-dir')) out.dataDir = s('data-dir')
  if (s('network')) out.network = s('network')
  if (s('chain-url')) out.chainUrl = s('chain-url')
  if (s('log-level')) out.logLevel = s('log-level')
  if (s('p2p-host')) p2p.host = s('p2p-host')
  if (s('p2p-port') !== undefined) p2p.port = intFrom('--p2p-port', s('p2p-port')!)
  if (s('ws-port') !== undefined) p2p.wsPort = intFrom('--ws-port', s('ws-port')!)
  if (values['listen-best-effort']) p2p.listenBestEffort = true
  if (values.relay) p2p.relays = values.relay as string[]
  if (values['no-mdns']) p2p.mdns = false
  else if (values.mdns) p2p.mdns = true
  if (s('api-host')) api.host = s('api-host')
  if (s('api-port') !== undefined) api.port = intFrom('--api-port', s('api-port')!)
  if (Object.keys(p2p).length) out.p2p = p2p
  if (Object.keys(api).length) out.api = api
  return { config: out, configFile: s('config'), help: values.help === true, checkDatabase: values['check-database'] === true, extra: { passphraseFile: s('passphrase-file'), restoreBackup: s('restore-backup'), acceptWallet: s('accept-wallet'), restoreWordsFile: s('restore-words-file'), restoreChannels: s('restore-channels') } }
}

export function readConfigFile(path: string): Plain {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`config file ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`config file ${path}: not valid JSON (${(err as Error).message})`)
  }
  if (!isPlain(parsed)) throw new ConfigError(`config file ${path}: must hold a JSON object`)
  return parsed
}

/**
 * Where a host's config came from, for saving settings: the file they go to and what the
 * layers above it (environment, command line) set, which a saved value cannot beat.
 */
export interface ConfigSource {
  /** `--config`, BSV_P2P_CONFIG, else `<data-dir>/config.json` (made on the first save). */
  file: string
  /** The environment and command-line layers merged. */
  overrides: Record<string, unknown>
}

/**
 * Defaults < config file < environment < flags. The file is `--config`, else
 * `<data-dir>/config.json` when it exists. Each layer is validated on its own first so an
 * error names the layer the bad key came from.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): { config: EngineConfig; cli: CliOptions; source: ConfigSource } {
  const cli = configFromArgs(argv)
  const fromEnv = configFromEnv(env)
  validateConfig(fromEnv, 'environment')
  validateConfig(cli.config, 'command line')
  const dataDir = (cli.config.dataDir as string | undefined) ?? (fromEnv.dataDir as string | undefined) ?? defaultDataDir()
  const file = cli.configFile ?? env.BSV_P2P_CONFIG ?? join(dataDir, 'config.json')
  const fromFile = existsSync(file) || cli.configFile || env.BSV_P2P_CONFIG ? readConfigFile(file) : {}
  validateConfig(fromFile, `config file ${file}`)
  const overrides = mergeLayers(fromEnv, cli.config)
  const config = validateConfig(mergeLayers(fromFile, overrides), 'config', { final: true })
  return { config, cli, source: { file, overrides } }
}
