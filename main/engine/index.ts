export { Engine } from './engine.js'
export { MessageEventCoalescer, type AnyEventSource } from './event-coalescer.js'
export { EngineHost } from './engine-host.js'
