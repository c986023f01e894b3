export { EngineConfigSchema, NETWORKS, crossKeyProblem, requestedPorts, type PortKey, defaultDataDir, type EngineConfig, type EngineConfigInput, type Network } from './schema.js'
export { ConfigError, DAEMON_USAGE, configFromArgs, configFromEnv, loadConfig, mergeLayers, readConfigFile, validateConfig, type CliOptions, type ConfigSource } from './load.js'
export { SettingsEditor, type SettingsEditorComponents } from './settings-editor.js'
export { busyPorts, describeBusyPort, type BusyPort } from './ports.js'
