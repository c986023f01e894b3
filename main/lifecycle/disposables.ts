import type { EventEmitter } from 'node:events'

export type Dispose = () => void | Promise<void>

interface DomTarget {
  addEventListener(type: string, listener: (evt: never) => void, options?: unknown): void
  removeEventListener(type: string, listener: (evt: never) => void, options?: unknown): void
}

/**
 * The one place a part registers what it must release: listeners, intervals, timers,
 * streams, child processes. `dispose()` releases everything in reverse order, once;
 * a part makes a fresh `Disposables` on each start so that start after stop works.
 */
export class Disposables {
  private readonly items: Dispose[] = []
  private disposed = false

  get size(): number {
    return this.items.length
  }

  add(dispose: Dispose): Dispose {
    if (this.disposed) {
      // A late registration after stop must not leak: release it at once.
      void Promise.resolve().then(dispose).catch(() => {})
      return dispose
    }
    this.items.push(dispose)
    return dispose
  }

  /** Listen on a DOM-style EventTarget (libp2p) until dispose. */
  listen<E>(target: DomTarget, type: string, listener: (evt: E) => void): void {
    const l = listener as (evt: never) => void
    target.addEventListener(type, l)
    this.add(() => target.removeEventListener(type, l))
  }

  /** Listen on a Node EventEmitter until dispose. */
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
    const handle = setTimeout(fn, ms)
    if (opts.unref !== false) handle.unref?.()
    const cancel = (): void => clearTimeout(handle)
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
    while (this.items.length > 0) {
      const dispose = this.items.pop()!
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
