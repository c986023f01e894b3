import type { EventEmitter } from 'node:events'

export type Dispose = () => void | Promise<void>

/**
 * The one place a part registers what it must release: listeners, intervals, timers,
 * streams, child processes. `dispose()` releases everything in reverse order, once;
 * a part makes a fresh `Disposables` on each start so that start after stop works.
 */
export class Disposables {
  // A Set keeps insertion order (released in reverse) and lets a fired timer drop its own
  // entry, so a part that schedules timers all day holds only the pending ones.
  private readonly items = new Set<Dispose>()
  private disposed = false

  get size(): number {
    return this.items.size
  }

  add(dispose: Dispose): Dispose {
    if (this.disposed) {
      // A late registration after stop must not leak: release it at once.
      void Promise.resolve().then(dispose).catch(() => {})
      return dispose
    }
    this.items.add(dispose)
    return dispose
  }

  /** Listen on a Node EventEmitter until dispose (libp2p targets: `listenerOf`). */
  on(emitter: EventEmitter, event: string, listener: (...args: never[]) => void): void {
    const l = listener as (...args: unknown[]) => void
    emitter.on(event, l)
    this.add(() => {
      emitter.off(event, l)
    })
  }

  interval(fn: () => void, ms: number): void {
    const handle = setInterval(fn, ms)
    handle.unref?.()
    this.add(() => clearInterval(handle))
  }

  /** A timer cleared on dispose; returns a cancel function for early clearing. */
  timeout(fn: () => void, ms: number, opts: { unref?: boolean } = {}): () => void {
    const cancel = (): void => {
      clearTimeout(handle)
      this.items.delete(cancel)
    }
    const handle = setTimeout(() => {
      this.items.delete(cancel)
      fn()
    }, ms)
    if (opts.unref !== false) handle.unref?.()
    this.add(cancel)
    return cancel
  }

  /** An AbortController aborted on dispose: pass its signal to all async work. */
  abortController(): AbortController {
    const controller = new AbortController()
    this.add(() => controller.abort(new Error('stopped')))
    return controller
  }

  async dispose(): Promise<void> {
    this.disposed = true
    const errors: unknown[] = []
    const items = [...this.items].reverse()
    this.items.clear()
    for (const dispose of items) {
      try {
        await dispose()
      } catch (err) {
        errors.push(err)
      }
    }
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, 'several disposers failed')
  }
}
