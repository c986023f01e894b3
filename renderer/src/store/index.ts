export { createAppStore, startSync, type AppState, type AppStore, type SyncState } from './app-store.js'
export { defineDomain, type Domain } from './domain.js'
