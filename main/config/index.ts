export { EngineConfigSchema, defaultDataDir, type EngineConfig, type Network } from './schema.js'
export { CONFIG_ENVIRONMENT, ConfigError, ENGINE_FLAGS, configFromEnv, configFromFlags, loadConfig, mergeLayers, readConfigFile, validateConfig, type ConfigSource } from './load.js'
export { SettingsEditor } from './settings-editor.js'
export { busyPorts, describeBusyPort } from './ports.js'
