export * from './chain.js'
export { ChainMonitor, type ChainHealth } from './chain-monitor.js'
export { createChainClients } from './networks.js'
