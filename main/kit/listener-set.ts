/** Where a listener's failure goes: `what` names the event or the set, `err` is what was thrown. */
export type ListenerErrorReporter = (what: string, err: unknown) => void

/** The little of a logger a reporter needs (telemetry's Logger has it). */
export interface ErrorLog {
  error(msg: string, fields?: Record<string, unknown>): void
}

/** A reporter that logs a listener's failure once, with its stack and cause (the logger writes both). */
export function logListenerErrors(log: ErrorLog): ListenerErrorReporter {
  return (what, err) => log.error('a listener failed', { what: what.slice(0, 64), err })
}

/**
 * The one listener set of the code base. Every `add` returns its own removal; `emit`
 * calls each listener in the order added, over a snapshot (a listener may add or remove
 * listeners while it runs), and a listener that throws is reported once through the
 * injected reporter while the others still run: one listener's bug never silences the
 * rest, never reaches the emitter, and never goes unseen.
 */
export class ListenerSet<A extends unknown[]> {
  private readonly listeners = new Set<(...args: A) => void>()

  constructor(
    /** Named in reports (`chain`, `peer-directory`, ...), or named by what was emitted (an event bus's event). */
    private readonly name: string | ((...args: A) => string),
    private report: ListenerErrorReporter,
  ) {}

  add(listener: (...args: A) => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  emit(...args: A): void {
    if (this.listeners.size === 0) return
    for (const listener of [...this.listeners]) {
      try {
        listener(...args)
      } catch (err) {
        this.report(typeof this.name === 'string' ? this.name : this.name(...args), err)
      }
    }
  }

  /** A failure of something built on this set (a batcher's timer) reported as its own are. */
  failed(what: string, err: unknown): void {
    this.report(what, err)
  }

  /** Where failures go from now on (set once the host has a logger). */
  reportTo(report: ListenerErrorReporter): void {
    this.report = report
  }

  get size(): number {
    return this.listeners.size
  }

  clear(): void {
    this.listeners.clear()
  }
}

/**
 * For a set whose owner was given no reporter (a part built without a logger, in a test):
 * the failure surfaces as an uncaught error on the next microtask, loud, never swallowed,
 * while the emitter and the other listeners still go on.
 */
export const surfaceListenerErrors: ListenerErrorReporter = (_what, err) => {
  queueMicrotask(() => {
    throw err
  })
}
