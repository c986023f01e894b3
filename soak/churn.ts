// The soak's workload: direct messages between all pairs, channel open/pay/close cycles,
// a daemon stopped and restarted, the relay killed and brought back. Every loop ends when
// the stop signal fires; every call has a timeout.
import { setTimeout as delay } from 'node:timers/promises'
import type { CallResult, SoakDaemon, SoakRelay } from './cluster.js'

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

  /** One message from every running daemon to every other one, each `intervalMs`. */
  async messageLoop(intervalMs: number): Promise<void> {
    let n = 0
    while (!this.signal.aborted) {
      const started = Date.now()
      const up = this.daemons.filter((d) => d.up)
      const tasks: Promise<void>[] = []
      for (const from of up) {
        for (const to of up) {
          if (from === to) continue
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
      await this.sleep(Math.max(0, intervalMs - (Date.now() - started)))
    }
  }

  /** Open, pay `payments` times, close, mine, wait closed; over and over. */
  async channelLoop(payer: SoakDaemon, payee: SoakDaemon, opts: { capacitySats: number; payments: number; pauseMs: number }): Promise<void> {
    const kind = `channel ${payer.name}->${payee.name}`
    while (!this.signal.aborted) {
      if (!payer.up || !payee.up) {
        await this.sleep(1000)
        continue
      }
      try {
        await this.fund(payer, opts.capacitySats * 10, opts.capacitySats * 50)
        const opened = await this.ok<{ id: string }>(payer, 'openChannel', { peerId: payee.peerId, capacitySats: opts.capacitySats }, 60_000)
        this.counts.channelsOpened++
        await this.payMany(payer, payee, opened.id, opts.payments)
        await this.close(payer, payee, opened.id)
      } catch (err) {
        this.error(kind, err)
        await this.sleep(2000)
      }
      await this.sleep(opts.pauseMs)
    }
  }

  private async payMany(payer: SoakDaemon, payee: SoakDaemon, channelId: string, count: number): Promise<void> {
    let failuresInARow = 0
    for (let i = 0; i < count && !this.signal.aborted; i++) {
      if (!payer.up) return
      if (!payee.up) {
        // The payee is being restarted: wait for it (bounded), do not count failures.
        const deadline = Date.now() + 90_000
        while (!payee.up && !this.signal.aborted && Date.now() < deadline) await this.sleep(500)
        if (!payee.up) throw new Error(`${payee.name} did not come back within 90 s`)
      }
      const sats = (i % 7) + 1
      try {
        await this.ok(payer, 'pay', { channelId, sats, memo: `soak ${i}` }, 30_000)
        this.counts.payments++
        this.counts.paidSats += sats
        failuresInARow = 0
      } catch (err) {
        if (this.signal.aborted) return
        if (!payer.up || !payee.up) continue
        this.counts.paymentsFailed++
        this.error('pay', err)
        if (++failuresInARow >= 5) throw new Error(`5 payments in a row failed on ${channelId}`, { cause: err })
        await this.sleep(500)
      }
    }
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

  /** Kill the relay (SIGKILL) every `everyMs`, bring it back on the same port and data dir after `downMs`. */
  async relayFlapLoop(everyMs: number, downMs: number): Promise<void> {
    while (!this.signal.aborted) {
      await this.sleep(everyMs)
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

  /** Stop `d` (SIGTERM) every `everyMs`, start it again after `downMs` on the same port and data dir. */
  async peerChurnLoop(d: SoakDaemon, everyMs: number, downMs: number): Promise<void> {
    while (!this.signal.aborted) {
      await this.sleep(everyMs)
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
