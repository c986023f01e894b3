export { Disposables, type Dispose } from './disposables.js'
export { startAll, stopAll, StartError, type Startable, type NamedStartable } from './startable.js'
export { listenerOf, type TypedEventSource } from './listen.js'
export { deadline } from './deadline.js'
