// One operation at a time per channel, as Eclair's channel actor takes one message at a
// time: open, fund, accept, close, settle, a peer's control frame and a chain action each
// run alone, in arrival order, and each re-reads the channel's state when its turn comes,
// so a frame the state no longer expects is refused and changes nothing. A channel's queue
// is bounded: a peer that floods one channel is told `busy`, never queued without end.

/** The channel's queue is full. */
export class MailboxFullError extends Error {
  override readonly name = 'MailboxFullError'
  constructor(readonly channelId: string) {
    super('this channel is busy with other operations; try again shortly')
  }
}

interface Queue {
  tail: Promise<void>
  depth: number
}

export class ChannelMailbox {
  private readonly queues = new Map<string, Queue>()
  private idleWaiters: (() => void)[] = []

  constructor(private readonly maxDepth = 16) {}

  /** An operation runs or waits for this channel. */
  busy(channelId: string): boolean {
    return this.queues.has(channelId)
  }

  get size(): number {
    return this.queues.size
  }

  /** Runs `op` after every operation queued before it on this channel; throws MailboxFullError when too many wait. */
  run<T>(channelId: string, op: () => Promise<T>): Promise<T> {
    let q = this.queues.get(channelId)
    if (!q) {
      q = { tail: Promise.resolve(), depth: 0 }
      this.queues.set(channelId, q)
    }
    if (q.depth >= this.maxDepth) return Promise.reject(new MailboxFullError(channelId))
    q.depth++
    const queue = q
    const result = queue.tail.then(op)
    const done = (): void => {
      queue.depth--
      if (queue.depth === 0 && this.queues.get(channelId) === queue) {
        this.queues.delete(channelId)
        if (this.queues.size === 0) this.wakeIdle()
      }
    }
    queue.tail = result.then(done, done)
    return result
  }

  /** Resolves once no operation runs on any channel (or after `timeoutMs`). */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.queues.size === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== wake)
        resolve(false)
      }, timeoutMs)
      const wake = (): void => {
        clearTimeout(timer)
        resolve(true)
      }
      this.idleWaiters.push(wake)
    })
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}
