import { existsSync, readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { parseRelayAddress } from '../p2p/index.js'
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
  // Parsed a few times per process: zod's compiled fast path would cost more to build (2-3 ms
  // of every start) than it saves.
  const parsed = EngineConfigSchema.safeParse(input, { jitless: true })
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

/**
 * The command-line options that set engine config keys, in the shape of a host's option
 * table (main/hosts): the daemon lists them with its own; `configFromFlags` reads them.
 */
export const ENGINE_FLAGS = {
  'data-dir': { type: 'string', value: 'DIR', help: `data directory (default ${defaultDataDir()})` },
  config: { type: 'string', value: 'FILE', help: 'JSON config file (default BSV_P2P_CONFIG, else <data-dir>/config.json when present)' },
  network: { type: 'string', value: 'NAME', help: 'mainnet | testnet | devnet' },
  'chain-url': { type: 'string', value: 'URL', help: "chain service URL (devnet: the devnet's URL)" },
  'p2p-host': { type: 'string', value: 'HOST', help: 'listen host for P2P (default 0.0.0.0)' },
  'p2p-port': { type: 'string', value: 'N', help: 'TCP port for P2P (default 4001; 0 = any free port)' },
  'ws-port': { type: 'string', value: 'N', help: 'WebSocket listener for browser peers (default: none; 0 = any free port)' },
  'listen-best-effort': { type: 'boolean', help: 'run even if a P2P listener cannot bind (health says which)' },
  'api-host': { type: 'string', value: 'HOST', help: 'API host (default 127.0.0.1)' },
  'api-port': { type: 'string', value: 'N', help: 'API port (default 4002; 0 = any free port)' },
  relay: { type: 'string', multiple: true, value: 'MULTIADDR', help: 'circuit relay to keep a reservation on' },
  'log-level': { type: 'string', value: 'LEVEL', help: 'error | warn | info | debug' },
  'no-mdns': { type: 'boolean', help: 'do not use mDNS on the LAN' },
  mdns: { type: 'boolean', help: 'use mDNS on the LAN (the default)' },
} as const

/** The values of `ENGINE_FLAGS` as the command line gave them (absent: undefined). */
export type EngineFlags = { [K in keyof typeof ENGINE_FLAGS]?: (typeof ENGINE_FLAGS)[K] extends { type: 'boolean' } ? boolean : (typeof ENGINE_FLAGS)[K] extends { multiple: true } ? string[] : string }

/** The command-line layer of the config, and the config file the command line named. */
export function configFromFlags(flags: EngineFlags): { layer: Plain; configFile?: string } {
  const p2p: Plain = {}
  const api: Plain = {}
  const out: Plain = {}
  if (flags['data-dir']) out.dataDir = flags['data-dir']
  if (flags.network) out.network = flags.network
  if (flags['chain-url']) out.chainUrl = flags['chain-url']
  if (flags['log-level']) out.logLevel = flags['log-level']
  if (flags['p2p-host']) p2p.host = flags['p2p-host']
  if (flags['p2p-port'] !== undefined) p2p.port = intFrom('--p2p-port', flags['p2p-port'])
  if (flags['ws-port'] !== undefined) p2p.wsPort = intFrom('--ws-port', flags['ws-port'])
  if (flags['listen-best-effort']) p2p.listenBestEffort = true
  if (flags.relay) p2p.relays = [...flags.relay]
  if (flags['no-mdns']) p2p.mdns = false
  else if (flags.mdns) p2p.mdns = true
  if (flags['api-host']) api.host = flags['api-host']
  if (flags['api-port'] !== undefined) api.port = intFrom('--api-port', flags['api-port'])
  if (Object.keys(p2p).length) out.p2p = p2p
  if (Object.keys(api).length) out.api = api
  return { layer: out, ...(flags.config ? { configFile: flags.config } : {}) }
}

/** The environment variables the config reads, for a host's `--help`. */
export const CONFIG_ENVIRONMENT = `Environment: BSV_P2P_CONFIG, BSV_P2P_DATA_DIR, BSV_P2P_NETWORK, BSV_P2P_CHAIN_URL, BSV_P2P_P2P_HOST,
BSV_P2P_P2P_PORT, BSV_P2P_WS_PORT, BSV_P2P_API_HOST, BSV_P2P_API_PORT, BSV_P2P_RELAYS (comma separated),
BSV_P2P_LOG_LEVEL, BSV_P2P_MDNS, BSV_P2P_ARC_API_KEY, BSV_P2P_WOC_API_KEY. Flags beat the environment,
which beats the config file.`

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
 * Defaults < config file < environment < flags: the one way every host loads its config.
 * The file is `--config`, else BSV_P2P_CONFIG, else `<data-dir>/config.json` when it exists.
 * Each layer is validated on its own first so an error names the layer the bad key came from.
 */
export function loadConfig(flags: EngineFlags, env: NodeJS.ProcessEnv = process.env): { config: EngineConfig; source: ConfigSource } {
  const cli = configFromFlags(flags)
  const fromEnv = configFromEnv(env)
  validateConfig(fromEnv, 'environment')
  validateConfig(cli.layer, 'command line')
  const dataDir = (cli.layer.dataDir as string | undefined) ?? (fromEnv.dataDir as string | undefined) ?? defaultDataDir()
  const file = cli.configFile ?? env.BSV_P2P_CONFIG ?? join(dataDir, 'config.json')
  const fromFile = existsSync(file) || cli.configFile || env.BSV_P2P_CONFIG ? readConfigFile(file) : {}
  validateConfig(fromFile, `config file ${file}`)
  const overrides = mergeLayers(fromEnv, cli.layer)
  const config = validateConfig(mergeLayers(fromFile, overrides), 'config', { final: true })
  return { config, source: { file, overrides } }
}
