// The soak's workload: direct messages between all pairs, channel open/pay/close cycles,
// a daemon stopped and restarted, the relay killed and brought back. Every loop ends when
// the stop signal fires; every call has a timeout.
import { setTimeout as delay } from 'node:timers/promises'
import type { CallResult, SoakDaemon, SoakRelay } from './cluster.js'
import { dueAtMs } from './day.js'

export interface ChurnCounts {
  messagesSent: number
  messagesFailed: number
  payments: number
  paymentsFailed: number
  paidSats: number
  channelsOpened: number
  channelsClosed: number
  channelsAbandoned: number
  faucetRefills: number
  blocksMined: number
  relayFlaps: number
  peerRestarts: number
  reconnects: number
}

const MAX_EXAMPLES = 5

/**
 * Spreads `target` operations evenly over `durationMs` (`--day`): each turn is a ticket for
 * the next slot; a caller behind schedule gets its turn at once, so a loop catches up.
 */
export class Pacer {
  private issued = 0

  constructor(
    readonly target: number,
    private readonly durationMs: number,
    private readonly clock: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async turn(): Promise<void> {
    const due = dueAtMs(this.issued++, this.target, this.durationMs)
    const wait = due - this.clock()
    if (wait > 0) await this.sleep(wait)
  }
}

/** How long one channel cycle took, by phase. */
export interface CycleTiming {
  openMs: number
  payMs: number
  payments: number
  closeMs: number
}

/** The channel loops' shared share of a `--day`: cycles and payments to reach, the payments' pace. */
export interface DayChannelPlan {
  cycles: number
  payments: number
  pacer: Pacer
  /** Payments in flight at once on each channel (the engine coalesces queued ones into one settlement). */
  concurrency: number
  /** Cycles started and not yet ended, over all loops. */
  inFlight: number
}

export class Churn {
  readonly counts: ChurnCounts = {
    messagesSent: 0,
    messagesFailed: 0,
    payments: 0,
    paymentsFailed: 0,
    paidSats: 0,
    channelsOpened: 0,
    channelsClosed: 0,
    channelsAbandoned: 0,
    faucetRefills: 0,
    blocksMined: 0,
    relayFlaps: 0,
    peerRestarts: 0,
    reconnects: 0,
  }
  /** Failures by kind, with the first few messages of each. */
  readonly errors: Record<string, { count: number; examples: string[] }> = {}
  /** Every channel cycle completed, in order. */
  readonly cycleTimes: CycleTiming[] = []

  constructor(
    private readonly daemons: SoakDaemon[],
    private readonly relay: SoakRelay,
    private readonly devnetUrl: string,
    private readonly signal: AbortSignal,
    private readonly clock: () => number,
  ) {}

  get errorCount(): number {
    return Object.values(this.errors).reduce((n, e) => n + e.count, 0)
  }

  error(kind: string, err: unknown): void {
    if (this.signal.aborted) return // the soak is ending: aborted calls are not failures
    const e = (this.errors[kind] ??= { count: 0, examples: [] })
    e.count++
    if (e.examples.length < MAX_EXAMPLES) e.examples.push(`t=${Math.round(this.clock() / 1000)}s ${err instanceof Error ? err.message : String(err)}`.slice(0, 300))
  }

  /** Sleeps, waking early (without throwing) when the soak stops. */
  async sleep(ms: number): Promise<void> {
    await delay(ms, undefined, { signal: this.signal }).catch(() => undefined)
  }

  private async ok<T>(d: SoakDaemon, method: string, params: unknown, timeoutMs?: number): Promise<T> {
    const r: CallResult<T> = await d.call<T>(method, params, this.signal, timeoutMs)
    if (!r.ok) throw new Error(`${d.name}.${method}: ${r.error?.code} ${r.error?.message}`)
    return r.result as T
  }

  private async devnet(path: string, body: unknown): Promise<void> {
    const res = await fetch(`${this.devnetUrl}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.any([this.signal, AbortSignal.timeout(15_000)]) })
    if (res.status !== 200) throw new Error(`devnet ${path}: ${res.status} ${await res.text()}`)
  }

  async mine(blocks = 1): Promise<void> {
    await this.devnet('/devnet/mine', { blocks })
    this.counts.blocksMined += blocks
  }

  /** Faucet to `d` when its balance is under `min`; waits (bounded) until the wallet sees it. */
  async fund(d: SoakDaemon, min: number, amount: number): Promise<void> {
    const balance = async (): Promise<number> => {
      const w = await this.ok<{ balance: { confirmed: number; unconfirmed: number } }>(d, 'getWallet', {})
      return w.balance.confirmed + w.balance.unconfirmed
    }
    if ((await balance()) >= min) return
    const { address } = await this.ok<{ address: string }>(d, 'getWallet', {})
    await this.devnet('/devnet/faucet', { address, satoshis: amount })
    this.counts.faucetRefills++
    const deadline = Date.now() + 30_000
    while (!this.signal.aborted && Date.now() < deadline) {
      if ((await balance()) >= min) return
      await this.sleep(250)
    }
    throw new Error(`${d.name}: faucet coins not seen within 30 s`)
  }

  /** Dial every pair of running daemons directly (the p2p layer redials; this makes it prompt). */
  async connectAll(): Promise<void> {
    const up = this.daemons.filter((d) => d.up)
    const tasks: Promise<void>[] = []
    for (let i = 0; i < up.length; i++) {
      for (let j = i + 1; j < up.length; j++) {
        const a = up[i]!
        const b = up[j]!
        tasks.push(
          this.ok(a, 'connectPeer', { multiaddr: b.directAddr() }, 15_000).then(
            () => void this.counts.reconnects++,
            (err: unknown) => this.error('connect', err),
          ),
        )
      }
    }
    await Promise.all(tasks)
  }

  /**
   * One message from every running daemon to every other one, each `intervalMs`; with a
   * pacer, each message waits its turn instead, and the loop ends at the pacer's target.
   */
  async messageLoop(intervalMs: number, pacer?: Pacer): Promise<void> {
    let n = 0
    while (!this.signal.aborted && (!pacer || this.counts.messagesSent < pacer.target)) {
      const started = Date.now()
      const up = this.daemons.filter((d) => d.up)
      const tasks: Promise<void>[] = []
      for (const from of up) {
        for (const to of up) {
          if (from === to) continue
          if (pacer) {
            await pacer.turn()
            if (this.signal.aborted || !from.up || !to.up) continue
          }
          const text = `soak ${n++} ${from.name}->${to.name} ${new Date().toISOString()}`
          tasks.push(
            this.ok(from, 'sendMessage', { peerId: to.peerId, text }, 20_000).then(
              () => void this.counts.messagesSent++,
              (err: unknown) => {
                if (this.signal.aborted) return
                // A message to or from a daemon that went down meanwhile is churn, not a fault.
                if (!from.up || !to.up) return
                this.counts.messagesFailed++
                this.error('message', err)
              },
            ),
          )
        }
      }
      await Promise.all(tasks)
      if (!pacer) await this.sleep(Math.max(0, intervalMs - (Date.now() - started)))
    }
  }

  /**
   * Open, pay `payments` times, close, mine, wait closed; over and over. With a day plan the
   * payments are paced and pipelined, and the loop ends once the plan's cycles and payments are done.
   */
  async channelLoop(payer: SoakDaemon, payee: SoakDaemon, opts: { capacitySats: number; payments: number; pauseMs: number; day?: DayChannelPlan }): Promise<void> {
    const kind = `channel ${payer.name}->${payee.name}`
    const day = opts.day
    // Cycles in flight count as done, payments and all, so that loops ending together do not
    // all start one more; a cycle that fails short leaves both short, and a loop starts another.
    const planDone = (): boolean =>
      !!day && this.counts.channelsClosed + day.inFlight >= day.cycles && this.counts.payments + day.inFlight * opts.payments >= day.payments
    while (!this.signal.aborted && !planDone()) {
      if (!payer.up || !payee.up) {
        await this.sleep(1000)
        continue
      }
      if (day) day.inFlight++
      try {
        await this.cycle(payer, payee, opts.capacitySats, opts.payments, day)
      } catch (err) {
        this.error(kind, err)
        await this.sleep(2000)
      } finally {
        if (day) day.inFlight--
      }
      await this.sleep(opts.pauseMs)
    }
  }

  /** One cycle: open, pay, close, closed on both sides; its timing goes in `cycleTimes`. */
  private async cycle(payer: SoakDaemon, payee: SoakDaemon, capacitySats: number, payments: number, day?: DayChannelPlan): Promise<void> {
    await this.fund(payer, capacitySats * 10, capacitySats * 50)
    const opening = Date.now()
    const opened = await this.ok<{ id: string }>(payer, 'openChannel', { peerId: payee.peerId, capacitySats }, 60_000)
    this.counts.channelsOpened++
    const paying = Date.now()
    const paid = await this.payMany(payer, payee, opened.id, payments, day)
    const closing = Date.now()
    await this.close(payer, payee, opened.id)
    if (!this.signal.aborted) this.cycleTimes.push({ openMs: paying - opening, payMs: closing - paying, payments: paid, closeMs: Date.now() - closing })
  }

  /**
   * One cycle with `payments` payments as fast as they go, `concurrency` in flight: the pay
   * rate a cycle reaches. Run before the soak's clock starts; its counts are not kept.
   */
  async calibrateCycle(payer: SoakDaemon, payee: SoakDaemon, payments: number, concurrency: number): Promise<CycleTiming | null> {
    const before = { ...this.counts }
    const unpaced = new Pacer(1, 0, this.clock, (ms) => this.sleep(ms))
    const kept = this.cycleTimes.length
    try {
      await this.cycle(payer, payee, 20_000, payments, { cycles: 1, payments, pacer: unpaced, concurrency, inFlight: 0 })
    } catch (err) {
      this.error('calibration', err)
    }
    Object.assign(this.counts, before)
    return this.cycleTimes.length > kept ? this.cycleTimes.pop()! : null
  }

  /** Pays `count` times (as paced by the day plan, if any); returns how many went through. */
  private async payMany(payer: SoakDaemon, payee: SoakDaemon, channelId: string, count: number, day?: DayChannelPlan): Promise<number> {
    let paid = 0
    let failuresInARow = 0
    let next = 0
    let fatal: Error | null = null
    const worker = async (): Promise<void> => {
      while (next < count && !this.signal.aborted && !fatal) {
        if (!payer.up) return
        if (!payee.up) {
          // The payee is being restarted: wait for it (bounded), do not count failures.
          const deadline = Date.now() + 90_000
          while (!payee.up && !this.signal.aborted && Date.now() < deadline) await this.sleep(500)
          if (!payee.up) fatal ??= new Error(`${payee.name} did not come back within 90 s`)
          continue
        }
        const i = next++
        if (day) await day.pacer.turn()
        if (this.signal.aborted) return
        const sats = (i % 7) + 1
        try {
          await this.ok(payer, 'pay', { channelId, sats, memo: `soak ${i}` }, 30_000)
          this.counts.payments++
          this.counts.paidSats += sats
          paid++
          failuresInARow = 0
        } catch (err) {
          if (this.signal.aborted) return
          if (!payer.up || !payee.up) continue
          this.counts.paymentsFailed++
          this.error('pay', err)
          if (++failuresInARow >= 5) fatal ??= new Error(`5 payments in a row failed on ${channelId}`, { cause: err })
          await this.sleep(500)
        }
      }
    }
    await Promise.all(Array.from({ length: day?.concurrency ?? 1 }, worker))
    if (fatal) throw fatal
    return paid
  }

  /** Cooperative close (retried while the payee is away, up to 90 s), one block, both sides closed. */
  private async close(payer: SoakDaemon, payee: SoakDaemon, channelId: string): Promise<void> {
    const deadline = Date.now() + 90_000
    for (;;) {
      if (this.signal.aborted) return
      try {
        if (payer.up && payee.up) {
          await this.ok(payer, 'closeChannel', { channelId }, 60_000)
          break
        }
      } catch (err) {
        if (Date.now() > deadline) {
          this.counts.channelsAbandoned++
          throw err
        }
      }
      if (Date.now() > deadline) {
        this.counts.channelsAbandoned++
        throw new Error(`${channelId}: could not close within 90 s`)
      }
      await this.sleep(1000)
    }
    await this.mine(1)
    const closedDeadline = Date.now() + 60_000
    while (!this.signal.aborted && Date.now() < closedDeadline) {
      const states = await Promise.all(
        [payer, payee].map(async (d) => {
          if (!d.up) return 'down'
          try {
            return (await this.ok<{ state: string }>(d, 'getChannel', { channelId })).state
          } catch {
            return 'down'
          }
        }),
      )
      if (states.every((s) => s === 'closed')) {
        this.counts.channelsClosed++
        return
      }
      await this.sleep(500)
    }
    if (!this.signal.aborted) throw new Error(`${channelId}: not closed on both sides within 60 s of mining`)
  }

  /** Mine a block now and then, so that change outputs confirm and chain watchers see blocks. */
  async minerLoop(intervalMs: number): Promise<void> {
    while (!this.signal.aborted) {
      await this.sleep(intervalMs)
      if (this.signal.aborted) break
      await this.mine(1).catch((err: unknown) => this.error('mine', err))
    }
  }

  /**
   * Kill the relay (SIGKILL) every `everyMs` (with a pacer: at its turns, up to its target),
   * bring it back on the same port and data dir after `downMs`.
   */
  async relayFlapLoop(everyMs: number, downMs: number, pacer?: Pacer): Promise<void> {
    while (!this.signal.aborted && (!pacer || this.counts.relayFlaps < pacer.target)) {
      await (pacer ? pacer.turn() : this.sleep(everyMs))
      if (this.signal.aborted) break
      try {
        await this.relay.kill()
        await this.sleep(downMs)
        if (this.signal.aborted) break
        await this.relay.start()
        this.counts.relayFlaps++
      } catch (err) {
        this.error('relay restart', err)
      }
    }
  }

  /**
   * Stop `d` (SIGTERM) every `everyMs` (with a pacer: at its turns, up to its target), start
   * it again after `downMs` on the same port and data dir.
   */
  async peerChurnLoop(d: SoakDaemon, everyMs: number, downMs: number, pacer?: Pacer): Promise<void> {
    while (!this.signal.aborted && (!pacer || this.counts.peerRestarts < pacer.target)) {
      await (pacer ? pacer.turn() : this.sleep(everyMs))
      if (this.signal.aborted) break
      try {
        await d.stop()
        await this.sleep(downMs)
        if (this.signal.aborted) break
        await d.start(this.clock())
        this.counts.peerRestarts++
        await this.connectAll()
      } catch (err) {
        this.error('peer restart', err)
        // Down for good would end the churn silently; try once more after a pause.
        if (!d.up && !this.signal.aborted) {
          await this.sleep(5000)
          await d.start(this.clock()).catch((e: unknown) => this.error('peer restart', e))
        }
      }
    }
  }
}
