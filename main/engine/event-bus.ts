import { type EventName, type EventPayload, events as eventSchemas } from '../../shared/contract/index.js'

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
  private readonly byEvent = new Map<EventName, Set<(payload: unknown) => void>>()
  private readonly all = new Set<AnyListener>()
  private onListenerError: (event: EventName, err: unknown) => void
  private readonly checkPayloads: boolean

  constructor(init: EventBusInit = {}) {
    this.onListenerError = init.onListenerError ?? (() => {})
    this.checkPayloads = init.checkPayloads ?? false
  }

  /** Where listener failures are reported (set once the host has a logger). */
  reportListenerErrors(report: (event: EventName, err: unknown) => void): void {
    this.onListenerError = report
  }

  /** A listener of something built on this bus (a transport's batcher) threw: reported as the bus's own are. */
  listenerFailed(event: string, err: unknown): void {
    this.onListenerError(event as EventName, err)
  }

  on<E extends EventName>(event: E, listener: Listener<E>): () => void {
    let set = this.byEvent.get(event)
    if (!set) {
      set = new Set()
      this.byEvent.set(event, set)
    }
    const l = listener as (payload: unknown) => void
    set.add(l)
    return () => {
      set.delete(l)
    }
  }

  /** Every event, for transports that forward them all (IPC, WebSocket). */
  onAny(listener: AnyListener): () => void {
    this.all.add(listener)
    return () => {
      this.all.delete(listener)
    }
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    if (this.checkPayloads) {
      const checked = eventSchemas[event].safeParse(payload)
      if (!checked.success) throw new EventSchemaError(`the ${event} event breaks its schema: ${checked.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
    }
    for (const l of this.byEvent.get(event) ?? []) {
      try {
        l(payload)
      } catch (err) {
        // A listener's failure is its own; the engine goes on, and the failure is seen.
        this.onListenerError(event, err)
      }
    }
    for (const l of this.all) {
      try {
        l(event, payload)
      } catch (err) {
        this.onListenerError(event, err)
      }
    }
  }

  get listenerCount(): number {
    let n = this.all.size
    for (const set of this.byEvent.values()) n += set.size
    return n
  }
}
