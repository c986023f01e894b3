// The low layer: building blocks every part may use. It imports nothing of ours but the
// contract (shared/), so any part, the engine and the hosts can depend on it without a cycle.
export { Disposables } from './disposables.js'
export { startAll, stopAll, type Startable, type NamedStartable } from './startable.js'
export { listenerOf, type TypedEventSource } from './listen.js'
export { deadline } from './deadline.js'
export { ListenerSet, logListenerErrors, surfaceListenerErrors, type ListenerErrorReporter } from './listener-set.js'
export { EventBus, EventSchemaError } from './event-bus.js'
export { nextDelay, recordFailure, recordSuccess, CLOSED_BREAKER, type BreakerState } from './backoff.js'
export { FrameReader, FrameReaderError, encodeVarint, lengthPrefixed, concatFrames } from './framing.js'
