import { type ConfigSource, type EngineConfig, loadConfig } from '../config/index.js'

export interface AppConfig {
  /** BSV_P2P_DATA_DIR, else Electron's userData folder. */
  dataDir: string
  config: EngineConfig
  /** Where saved settings go and what the environment set above the file. */
  source: ConfigSource
  /** The configuration as it is now, for a restart from Settings: what was saved there applies. */
  reload: () => EngineConfig
}

/**
 * The app's configuration, loaded as the daemon loads its own (`loadConfig`: defaults <
 * file < BSV_P2P_* < the data dir, each layer validated alone, BSV_P2P_CONFIG honoured).
 * The app has no flags; its data dir takes the flags' place, so a config file cannot move it.
 */
export function loadAppConfig(env: NodeJS.ProcessEnv, userDataDir: string): AppConfig {
  const dataDir = env.BSV_P2P_DATA_DIR || userDataDir
  const { config, source } = loadConfig({ 'data-dir': dataDir }, env)
  return { dataDir, config, source, reload: () => loadConfig({ 'data-dir': dataDir }, env).config }
}

