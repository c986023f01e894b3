import type { EventName, EventPayload } from '../../shared/contract/index.js'

type Listener<E extends EventName> = (payload: EventPayload<E>) => void
type AnyListener = (event: EventName, payload: unknown) => void

/**
 * The contract's events inside the engine. Listeners are kept in Sets (no
 * MaxListenersExceeded however many UI clients subscribe), every `on` returns its own
 * unsubscribe, and a throwing listener cannot break the emitter or the other listeners.
 */
export class EventBus {
  private readonly byEvent = new Map<EventName, Set<(payload: unknown) => void>>()
  private readonly all = new Set<AnyListener>()

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
    for (const l of this.byEvent.get(event) ?? []) {
      try {
        l(payload)
      } catch {
        // A listener's failure is its own; the engine goes on.
      }
    }
    for (const l of this.all) {
      try {
        l(event, payload)
      } catch {
        // as above
      }
    }
  }

  get listenerCount(): number {
    let n = this.all.size
    for (const set of this.byEvent.values()) n += set.size
    return n
  }
}
