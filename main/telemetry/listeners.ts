import type { Metrics } from './metrics.js'

/** Something whose listeners can be counted by event name (Node's EventEmitter). */
export interface CountableEmitter {
  eventNames(): (string | symbol)[]
  listenerCount(event: string | symbol): number
}

/** Something whose listeners can be counted only per known event type (libp2p's typed targets). */
export interface CountableTarget {
  listenerCount(type: string): number
}

/** Every listener on a Node EventEmitter, over all its event names. */
export function emitterListenerCount(emitter: CountableEmitter): number {
  let n = 0
  for (const name of emitter.eventNames()) n += emitter.listenerCount(name)
  return n
}

/** Listeners on an EventTarget for the given event types (an EventTarget cannot list its types). */
export function targetListenerCount(target: CountableTarget, types: readonly string[]): number {
  let n = 0
  for (const type of types) n += target.listenerCount(type)
  return n
}

/**
 * `event_listeners{source}`: listeners registered on long-lived emitters, read at scrape
 * time. A count that climbs while the process does the same work over and over is a leak
 * (the soak watches it). A source that cannot be read (a part not running) counts 0.
 */
export function registerListenerGauge(metrics: Metrics, sources: Record<string, () => number>): void {
  const entries = Object.entries(sources)
  metrics.gauge<'source'>({
    name: 'event_listeners',
    help: 'Event listeners registered on long-lived emitters, by source',
    labelNames: ['source'],
    collect() {
      for (const [source, count] of entries) {
        let value: number
        try {
          value = count()
        } catch {
          value = 0
        }
        this.set({ source }, value)
      }
    },
  })
}
