/**
 * Turns at signature work (the payer's signing, the payee's verifying) for all of a node's
 * channels, so that a node paying and paid on a thousand channels at once serves each in
 * turn and none starves another.
 *
 * A turn runs at once while this turn of the event loop has signature time to spare (a lone
 * payment waits for nothing); past the budget, turns queue in the order asked and run from
 * the next turns of the event loop, a budget's worth each, with I/O (acks, pings, new
 * payments) served in between. So the event loop is never held for much longer than the
 * budget, and a channel whose turn comes late signs one settlement for every payment that
 * arrived meanwhile: under load settlements grow, instead of queues and latencies.
 */
export class SignatureScheduler {
  private readonly waiting: { work: () => void; cancel?: () => void }[] = []
  /** Signature time spent in this turn of the event loop (reset by the next `setImmediate`). */
  private usedMs = 0
  private next: NodeJS.Immediate | null = null
  private stopped = false
  /** Work is running: a turn it asks for waits behind the others (no jumping the queue by recursion). */
  private running = false

  constructor(
    /** Where a turn's throw goes when it ran late (from the scheduler's own turn, with no caller to take it). */
    private readonly onLateError: (err: unknown) => void,
    private readonly budgetMs = 4,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Turns asked for and not run yet. */
  get queued(): number {
    return this.waiting.length
  }

  /** Runs `work` now if this turn of the event loop has budget left and nobody waits, else in order later (never, once stopped). */
  turn(work: () => void, cancel?: () => void): void {
    if (this.stopped) {
      cancel?.()
      return
    }
    if (!this.running && this.waiting.length === 0 && this.usedMs < this.budgetMs) {
      this.run(work)
      return
    }
    this.waiting.push(cancel ? { work, cancel } : { work })
    this.schedule()
  }

  /** Takes turns again after a stop. */
  start(): void {
    this.stopped = false
    this.usedMs = 0
  }

  /** Turns not run yet never run (those that asked to be told are): their owners are stopping too. */
  stop(): void {
    this.stopped = true
    for (const w of this.waiting.splice(0)) w.cancel?.()
    if (this.next) clearImmediate(this.next)
    this.next = null
  }

  private run(work: () => void): void {
    const started = this.now()
    this.running = true
    try {
      work()
    } finally {
      this.running = false
      this.usedMs += this.now() - started
      // The spend belongs to this turn of the event loop; the next one starts afresh.
      this.schedule()
    }
  }

  private schedule(): void {
    if (this.next || this.stopped) return
    this.next = setImmediate(() => {
      this.next = null
      this.usedMs = 0
      while (this.waiting.length > 0 && this.usedMs < this.budgetMs) {
        try {
          this.run(this.waiting.shift()!.work)
        } catch (err) {
          this.onLateError(err)
        }
      }
    })
  }
}
