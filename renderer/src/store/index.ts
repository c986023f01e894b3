export { createAppStore, startSync, type AppState, type AppStore } from './app-store.js'
