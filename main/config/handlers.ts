import type { ApiHandlers, Settings } from '../../shared/contract/index.js'
import type { EngineConfig } from './schema.js'

/** The read-only settings view of the config. Numbers only in `limits`, so booleans and lists stay out. */
export function settingsFromConfig(config: EngineConfig): Settings {
  const limits: Record<string, number> = {}
  for (const [key, value] of Object.entries(config.limits)) if (typeof value === 'number') limits[key] = value
  return {
    network: config.network,
    dataDir: config.dataDir,
    logLevel: config.logLevel,
    p2p: { host: config.p2p.host, port: config.p2p.port, relays: [...config.p2p.relays], announce: [...config.p2p.announce], mdns: config.p2p.mdns },
    limits,
  }
}

export function settingsHandlers(config: EngineConfig): Pick<ApiHandlers, 'getSettings'> {
  return { getSettings: async () => settingsFromConfig(config) }
}
