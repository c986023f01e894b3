import { existsSync } from 'node:fs'
import { ContractError, EDITABLE_KEYS, type Settings, type SettingsUpdate } from '../../shared/contract/index.js'
import type { EventBus } from '../kit/index.js'
import { parseRelayAddress } from '../p2p/index.js'
import { writeFileAtomically } from '../store/index.js'
import type { Logger } from '../telemetry/index.js'
import { ConfigError, type ConfigSource, mergeLayers, readConfigFile, validateConfig } from './load.js'
import type { EngineConfig } from './schema.js'

export interface SettingsEditorComponents {
  /** The engine's root logger: a new log level is set on its whole tree. */
  logger: Logger
  events: EventBus
}

type Plain = Record<string, unknown>

const valueAt = (layer: Plain, path: string): unknown => path.split('.').reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Plain)[key] : undefined), layer)

/**
 * The settings a person may change from the UI, saved to the config file the node was
 * started with. The log level applies at once; relays and limits shape the libp2p node
 * and apply from the next start, which `editable.next` shows. Keys the environment or
 * command line set are refused: a saved value would silently lose to them.
 */
export class SettingsEditor {
  private logLevel: EngineConfig['logLevel']
  private next: EngineConfig

  constructor(
    private readonly components: SettingsEditorComponents,
    /** What the engine runs with. */
    private readonly running: EngineConfig,
    private readonly source: ConfigSource,
  ) {
    this.logLevel = running.logLevel
    this.next = running
  }

  /** Keys (`logLevel`, `p2p.relays`, `limits.<name>`) the environment or command line set. */
  get fixed(): string[] {
    return EDITABLE_KEYS.filter((key) => valueAt(this.source.overrides, key) !== undefined)
  }

  get(): Settings {
    const c = this.running
    return {
      network: c.network,
      dataDir: c.dataDir,
      logLevel: this.logLevel,
      p2p: { host: c.p2p.host, port: c.p2p.port, relays: [...c.p2p.relays], announce: [...c.p2p.announce], mdns: c.p2p.mdns },
      limits: { ...c.limits },
      editable: {
        configFile: this.source.file,
        fixed: this.fixed,
        next: { relays: [...this.next.p2p.relays], limits: { ...this.next.limits } },
      },
    }
  }

  /** `update` has passed the contract's schema; this checks what a schema cannot and saves. */
  update(update: SettingsUpdate): Settings {
    const layer = this.layerOf(update)
    const fixed = new Set(this.fixed)
    for (const key of EDITABLE_KEYS) {
      if (valueAt(layer, key) !== undefined && fixed.has(key)) {
        throw new ContractError('conflict', `${key} is set on the command line or in the environment, which a saved setting cannot override; change it there`, { key })
      }
    }
    const file = this.source.file
    let saved: Plain
    try {
      saved = existsSync(file) ? readConfigFile(file) : {}
    } catch (err) {
      // Never write over a file a person can still mend: they may have been editing it.
      throw new ContractError('invalid_state', `${(err as Error).message}; mend or remove it, then save again`)
    }
    const merged = mergeLayers(saved, layer)
    let next: EngineConfig
    try {
      validateConfig(merged, `config file ${file}`)
      next = validateConfig(mergeLayers(merged, this.source.overrides), 'config', { final: true })
    } catch (err) {
      if (err instanceof ConfigError) throw new ContractError(err.key ? 'invalid_params' : 'invalid_state', err.message, err.key ? { key: err.key } : undefined)
      throw err
    }
    try {
      writeFileAtomically(file, `${JSON.stringify(merged, null, 2)}\n`, 0o600)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error'
      throw new ContractError('unavailable', `the settings could not be saved to ${file} (${code})`)
    }
    this.next = next
    if (update.logLevel && update.logLevel !== this.logLevel) {
      this.components.logger.setLevel(update.logLevel)
      this.logLevel = update.logLevel
    }
    this.components.logger.info('settings saved', { file, keys: EDITABLE_KEYS.filter((key) => valueAt(layer, key) !== undefined) })
    const settings = this.get()
    this.components.events.emit('settings', settings)
    return settings
  }

  /** The update as a config layer, each relay checked as the relay keeper will read it. */
  private layerOf(update: SettingsUpdate): Plain {
    const layer: Plain = {}
    if (update.logLevel) layer.logLevel = update.logLevel
    if (update.relays) {
      const seen = new Set<string>()
      const relays = update.relays.map((text, i) => {
        const relay = text.trim()
        try {
          parseRelayAddress(relay)
        } catch (err) {
          throw new ContractError('invalid_params', `relay ${i + 1} cannot be used: ${(err as Error).message}`, { key: `p2p.relays.${i}` })
        }
        if (seen.has(relay)) throw new ContractError('invalid_params', `relay ${i + 1} is listed twice`, { key: `p2p.relays.${i}` })
        seen.add(relay)
        return relay
      })
      layer.p2p = { relays }
    }
    if (update.limits && Object.keys(update.limits).length > 0) layer.limits = { ...update.limits }
    return layer
  }
}
