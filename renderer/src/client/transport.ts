import type { Envelope } from '../../../shared/contract/errors.js'

/**
 * `open`: events flow (after a reconnect this means: reload snapshots). `connecting`: the
 * first attempt. `reconnecting`: the link dropped and a retry is scheduled. `closed`: the
 * transport was closed by its owner.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** How calls and events travel: Electron IPC or the daemon's HTTP + WebSocket. */
export interface Transport {
  call(method: string, params: unknown): Promise<Envelope<unknown>>
  /** Raw event payloads by event name; returns its own unsubscribe. */
  on(event: string, listener: (payload: unknown) => void): () => void
  /** Called at once with the current state, then on every change; returns its unsubscribe. */
  onState(listener: (state: ConnectionState) => void): () => void
  close(): void
}

/** A tiny listener set whose members cannot break each other. */
export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>()

  add(listener: (...args: A) => void): () => void {
    this.set.add(listener)
    return () => {
      this.set.delete(listener)
    }
  }

  emit(...args: A): void {
    for (const l of [...this.set]) {
      try {
        l(...args)
      } catch (err) {
        // A listener's failure is its own: the others still run, and the failure is seen in the console.
        console.error('a listener failed', err)
      }
    }
  }

  get size(): number {
    return this.set.size
  }

  clear(): void {
    this.set.clear()
  }
}

/** Listeners keyed by event name, for transports that receive `{event, payload}`. */
export class EventRouter {
  private readonly byEvent = new Map<string, Listeners<[unknown]>>()

  on(event: string, listener: (payload: unknown) => void): () => void {
    let set = this.byEvent.get(event)
    if (!set) {
      set = new Listeners()
      this.byEvent.set(event, set)
    }
    const remove = set.add(listener)
    return () => {
      remove()
      if (set.size === 0) this.byEvent.delete(event)
    }
  }

  emit(event: string, payload: unknown): void {
    this.byEvent.get(event)?.emit(payload)
  }

  get size(): number {
    let n = 0
    for (const set of this.byEvent.values()) n += set.size
    return n
  }

  clear(): void {
    this.byEvent.clear()
  }
}
