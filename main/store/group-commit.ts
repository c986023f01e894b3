import { type Store, isDiskFault } from './store.js'

const DEFAULT_MAX_BATCH = 512

type Done<T> = (err: Error | null, result?: T) => void

interface Op {
  run: () => unknown
  done: Done<unknown>
}

/**
 * Group commit: writes queued in the same event-loop turn go into one transaction (one
 * fsync, synchronous=FULL kept) and their callbacks run only after it committed, so an
 * acknowledgement never leaves before the data it promises is on disk. A batch that
 * reaches `maxBatch` is committed at once instead of waiting for the turn to end.
 * Shared by every part that acknowledges after a write (messages, channel payments).
 */
export class GroupCommit {
  private ops: Op[] = []
  private scheduled: NodeJS.Immediate | null = null
  /** Writes that may wait for the next batch (`later`), and the timer that bounds their wait. */
  private lazy: Op[] = []
  private lazyTimer: NodeJS.Timeout | null = null

  private readonly onBatch: (size: number) => void
  private readonly maxBatch: number
  private readonly onCallbackError: (err: unknown) => void

  constructor(
    private readonly store: Store,
    opts: {
      /** A write's callback threw (a bug in its owner): reported, and the batch's other callbacks still run. */
      onCallbackError: (err: unknown) => void
      onBatch?: (size: number) => void
      maxBatch?: number
    },
  ) {
    this.onCallbackError = opts.onCallbackError
    this.onBatch = opts.onBatch ?? (() => {})
    this.maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH
  }

  get queued(): number {
    return this.ops.length + this.lazy.length
  }

  /** Queue a write; `done` runs after the commit (err set if the transaction failed). */
  enqueue<T>(run: () => T, done: Done<T>): void {
    this.ops.push({ run, done: done as Done<unknown> })
    if (this.ops.length >= this.maxBatch) this.flush()
    else if (!this.scheduled) this.scheduled = setImmediate(() => this.flush())
  }

  run<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.enqueue(run, (err, result) => (err ? reject(err) : resolve(result as T)))
    })
  }

  /**
   * A write nobody waits on (a record whose loss in a crash costs nothing, such as the
   * payer's note that the payee acknowledged a state it keeps): it joins the next batch
   * another write starts, so it costs no fsync of its own, or is committed after
   * `maxDelayMs` if none comes.
   */
  later(run: () => unknown, done: (err: Error | null) => void, maxDelayMs: number): void {
    this.lazy.push({ run, done })
    this.lazyTimer ??= setTimeout(() => {
      this.lazyTimer = null
      this.flush()
    }, maxDelayMs)
  }

  /** Commit everything queued now (also called by stop, before the store closes). */
  flush(): void {
    const ops = this.takeAll()
    if (ops.length === 0) return
    const results: unknown[] = new Array(ops.length)
    // Each write in its own savepoint: one that throws is rolled back and fails alone,
    // while the batch's other writes still commit.
    const own: (Error | null)[] = new Array(ops.length).fill(null)
    let failure: Error | null = null
    try {
      const db = this.store.db
      const one = db.transaction((i: number) => {
        results[i] = ops[i]!.run()
      })
      db.transaction(() => {
        for (let i = 0; i < ops.length; i++) {
          try {
            one(i)
          } catch (err) {
            own[i] = asError(err)
          }
        }
      })()
    } catch (err) {
      failure = asError(err)
    }
    // A disk that refuses the commit is the store's news (health says so); one that took it again ends that.
    if (this.store.isOpen) this.store.noteWrite(failure ?? own.find((e) => e !== null && isDiskFault(e)) ?? null)
    this.onBatch(ops.length)
    for (let i = 0; i < ops.length; i++) {
      try {
        const err = failure ?? own[i]!
        if (err) ops[i]!.done(err)
        else ops[i]!.done(null, results[i])
      } catch (cbErr) {
        // One callback's failure must not keep the others from learning their outcome.
        this.onCallbackError(cbErr)
      }
    }
  }

  /** Everything queued, lazy writes first, with no commit scheduled any more. */
  private takeAll(): Op[] {
    if (this.scheduled) clearImmediate(this.scheduled)
    if (this.lazyTimer) clearTimeout(this.lazyTimer)
    this.scheduled = null
    this.lazyTimer = null
    const ops = this.lazy.length === 0 ? this.ops : [...this.lazy, ...this.ops]
    this.lazy = []
    this.ops = []
    return ops
  }

  /** Fail everything still queued (stop without a store). */
  failAll(err: Error): void {
    const ops = this.takeAll()
    for (const op of ops) {
      try {
        op.done(err)
      } catch (cbErr) {
        this.onCallbackError(cbErr)
      }
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
