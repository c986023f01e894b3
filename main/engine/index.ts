export { Engine, EngineStateError, type EngineInit } from './engine.js'
export { EventBus } from './event-bus.js'
export { assessHealth } from './health.js'
export { EngineHost, type EngineHostInit } from './engine-host.js'
