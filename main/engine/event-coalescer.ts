import { MESSAGE_BATCH_MAX, type Message } from '../../shared/contract/index.js'
import { ListenerSet } from '../kit/index.js'

/** Where events come from: the engine's EventBus, or anything with its `onAny`; a listener's failure is reported back to it. */
export interface AnyEventSource {
  onAny(listener: (event: string, payload: unknown) => void): () => void
  listenerFailed(event: string, err: unknown): void
}

/** Timers, injectable so tests drive time by hand. */
export interface CoalescerClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface MessageCoalescerInit {
  /** At most one batch per window. Default 100 ms. */
  windowMs?: number
  /** Most messages in one batch; beyond it the oldest are left out and the batch says `resync`. Default MESSAGE_BATCH_MAX. */
  maxBatch?: number
  clock?: CoalescerClock
}

const systemClock: CoalescerClock = {
  // Monotonic: with a wall clock set back, the next window would wait as long as it went back.
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms)
    handle.unref?.()
    return handle
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/**
 * What both transports (Electron IPC, the daemon's WebSocket) forward: every event as it
 * comes, except `message`, which becomes `messages` batches, so a flood of 10,000 messages
 * a second costs a window at most ten batches a second. A batch holds the newest view of
 * each seq; when more than `maxBatch` seqs came in one window the oldest are left out and
 * the batch carries `resync: true` (the window reloads what it shows). The first message
 * after a quiet window leaves at once (next turn): batching costs a lone message no latency.
 */
export class MessageEventCoalescer implements AnyEventSource {
  private readonly windowMs: number
  private readonly maxBatch: number
  private readonly clock: CoalescerClock
  // A batch leaves from a timer, where a throw would be uncaught: each listener's failure is
  // reported to the source (logged with its stack and counted, as the bus's own).
  private readonly listeners = new ListenerSet<[string, unknown]>(
    (event) => event,
    (what, err) => this.source.listenerFailed(what, err),
  )
  private readonly buffer = new Map<number, Message>()
  private resync = false
  private timer: unknown = null
  private lastFlush = Number.NEGATIVE_INFINITY
  private offSource: (() => void) | null = null

  constructor(
    private readonly source: AnyEventSource,
    init: MessageCoalescerInit = {},
  ) {
    this.windowMs = init.windowMs ?? 100
    this.maxBatch = init.maxBatch ?? MESSAGE_BATCH_MAX
    this.clock = init.clock ?? systemClock
  }

  onAny(listener: (event: string, payload: unknown) => void): () => void {
    const remove = this.listeners.add(listener)
    this.offSource ??= this.source.onAny((event, payload) => this.receive(event, payload))
    return () => {
      remove()
      if (this.listeners.size === 0) this.stop()
    }
  }

  /** Unsubscribes from the source and drops what waits (a stopped transport has nobody to tell). */
  stop(): void {
    this.offSource?.()
    this.offSource = null
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
    this.buffer.clear()
    this.resync = false
  }

  private receive(event: string, payload: unknown): void {
    if (event === 'message') {
      const message = payload as Message
      // The newest view of a seq replaces the one waiting, in its place.
      this.buffer.set(message.seq, message)
      if (this.buffer.size > this.maxBatch) {
        this.buffer.delete(this.buffer.keys().next().value as number)
        this.resync = true
      }
      this.schedule()
      return
    }
    // A deleted message must not come back with a batch that leaves after its deletion.
    if (event === 'messageDeleted') this.buffer.delete((payload as { seq: number }).seq)
    this.emit(event, payload)
  }

  private schedule(): void {
    if (this.timer !== null) return
    const delay = Math.max(0, this.lastFlush + this.windowMs - this.clock.now())
    this.timer = this.clock.setTimeout(() => this.flush(), delay)
  }

  private flush(): void {
    this.timer = null
    this.lastFlush = this.clock.now()
    if (this.buffer.size === 0 && !this.resync) return
    const batch = { messages: [...this.buffer.values()], resync: this.resync }
    this.buffer.clear()
    this.resync = false
    this.emit('messages', batch)
  }

  private emit(event: string, payload: unknown): void {
    this.listeners.emit(event, payload)
  }

  listenerFailed(event: string, err: unknown): void {
    this.source.listenerFailed(event, err)
  }
}
