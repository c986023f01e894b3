import type { Store } from '../store/index.js'

interface Op {
  run: () => unknown
  resolve: (v: unknown) => void
  reject: (e: Error) => void
}

/**
 * Writes queued in the same event-loop turn (from any channel) go into one SQLite
 * transaction: one fsync with synchronous=FULL kept, and every promise settles only after
 * the commit, so no acknowledgement or signature leaves before its data is on disk.
 */
export class ChannelGroupCommit {
  private ops: Op[] = []
  private scheduled: NodeJS.Immediate | null = null
  commits = 0

  constructor(
    private readonly store: Store,
    private readonly maxBatch = 512,
  ) {}

  run<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.ops.push({ run, resolve: resolve as (v: unknown) => void, reject })
      if (this.ops.length >= this.maxBatch) this.flush()
      else this.scheduled ??= setImmediate(() => this.flush())
    })
  }

  flush(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled)
      this.scheduled = null
    }
    const ops = this.ops
    if (ops.length === 0) return
    this.ops = []
    const results: unknown[] = []
    try {
      this.store.db.transaction(() => {
        for (const op of ops) results.push(op.run())
      })()
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      for (const op of ops) op.reject(e)
      return
    }
    this.commits++
    ops.forEach((op, i) => op.resolve(results[i]))
  }
}
