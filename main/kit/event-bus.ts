import { type EventName, type EventPayload, events as eventSchemas } from '../../shared/contract/index.js'
import { type ListenerErrorReporter, ListenerSet } from './listener-set.js'

type Listener<E extends EventName> = (payload: EventPayload<E>) => void
type AnyListener = (event: EventName, payload: unknown) => void

export interface EventBusInit {
  /** A listener threw: reported (logged with its stack, counted) where it is caught, never rethrown. */
  onListenerError?: (event: EventName, err: unknown) => void
  /** Check every payload against its event's schema before it goes out (tests, development): a bad one throws at the emitter. */
  checkPayloads?: boolean
}

/** An event payload its schema refuses: a bug in the part that emitted it. */
export class EventSchemaError extends Error {
  override readonly name = 'EventSchemaError'
}

/**
 * The contract's events inside the engine. Listeners are kept in Sets (no
 * MaxListenersExceeded however many UI clients subscribe), every `on` returns its own
 * unsubscribe, and a throwing listener cannot break the emitter or the other listeners:
 * its error is reported once, with its stack, and the others still hear the event.
 */
export class EventBus {
  private readonly byEvent = new Map<EventName, ListenerSet<[unknown]>>()
  private readonly all: ListenerSet<[EventName, unknown]>
  private onListenerError: ListenerErrorReporter
  private readonly checkPayloads: boolean

  constructor(init: EventBusInit = {}) {
    this.onListenerError = (init.onListenerError ?? (() => {})) as ListenerErrorReporter
    this.checkPayloads = init.checkPayloads ?? false
    this.all = new ListenerSet<[EventName, unknown]>((event) => event, this.onListenerError)
  }

  /** Where listener failures are reported (set once the host has a logger). */
  reportListenerErrors(report: (event: EventName, err: unknown) => void): void {
    const reporter = report as ListenerErrorReporter
    this.onListenerError = reporter
    this.all.reportTo(reporter)
    for (const set of this.byEvent.values()) set.reportTo(reporter)
  }

  /** A listener of something built on this bus (a transport's batcher) threw: reported as the bus's own are. */
  listenerFailed(event: string, err: unknown): void {
    this.onListenerError(event, err)
  }

  on<E extends EventName>(event: E, listener: Listener<E>): () => void {
    let set = this.byEvent.get(event)
    if (!set) {
      set = new ListenerSet<[unknown]>(event, this.onListenerError)
      this.byEvent.set(event, set)
    }
    return set.add(listener as (payload: unknown) => void)
  }

  /** Every event, for transports that forward them all (IPC, WebSocket). */
  onAny(listener: AnyListener): () => void {
    return this.all.add(listener)
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    if (this.checkPayloads) {
      const checked = eventSchemas[event].safeParse(payload)
      if (!checked.success) throw new EventSchemaError(`the ${event} event breaks its schema: ${checked.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
    }
    // A listener's failure is its own: the engine goes on, the others still hear the event, and the failure is seen.
    this.byEvent.get(event)?.emit(payload)
    this.all.emit(event, payload)
  }

  get listenerCount(): number {
    let n = this.all.size
    for (const set of this.byEvent.values()) n += set.size
    return n
  }
}
