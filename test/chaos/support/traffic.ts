// Honest traffic for the chaos scenarios, with a ledger of what the APIs acknowledged:
// direct messages (sendMessage) and channel payments (pay), each from a few bounded
// workers; and the checks that nothing acknowledged went missing at the other side.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { DaemonProc } from '../../helpers/processes.js'

export interface CallOutcomes {
  ok: number
  /** Failed calls by error code ('connection' when the API itself did not answer). */
  failed: Map<string, number>
}

function countFailure(outcomes: CallOutcomes, code: string): void {
  outcomes.failed.set(code, (outcomes.failed.get(code) ?? 0) + 1)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface TrafficOptions {
  /** Stop when this returns true (checked before each call). */
  stop: () => boolean
  workers: number
  /** Pause after each call (ms). */
  pauseMs: number
  /** Upper bound on calls per worker, whatever happens. */
  maxCallsPerWorker: number
}

/**
 * Messages from `from` to `to`; every acknowledged message id is kept, and so is every
 * message the sender answered `pending` (stored, to be delivered when the peer is back).
 */
export class MessageTraffic {
  readonly acked: { id: string; text: string; at: number }[] = []
  readonly kept: { id: string; text: string; at: number }[] = []
  readonly outcomes: CallOutcomes = { ok: 0, failed: new Map() }
  /** Wall-clock times of failures, to tell when they happened. */
  readonly failureTimes: number[] = []
  private n = 0

  constructor(
    private readonly from: () => DaemonProc,
    private readonly to: () => DaemonProc,
    private readonly tag: string,
  ) {}

  run(opts: TrafficOptions): Promise<void> {
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < opts.maxCallsPerWorker && !opts.stop(); i++) {
        const text = `${this.tag} w${w} #${this.n++} ${Date.now()}`
        try {
          const res = await this.from().call<{ id: string; status: 'delivered' | 'pending' }>('sendMessage', { peerId: this.to().peerId, text })
          if (res.body.ok) {
            ;(res.body.result!.status === 'pending' ? this.kept : this.acked).push({ id: res.body.result!.id, text, at: Date.now() })
            this.outcomes.ok++
          } else {
            countFailure(this.outcomes, res.body.error?.code ?? 'unknown')
            this.failureTimes.push(Date.now())
          }
        } catch {
          countFailure(this.outcomes, 'connection')
          this.failureTimes.push(Date.now())
        }
        await sleep(opts.pauseMs)
      }
    }
    return Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(w))).then(() => undefined)
  }

  /**
   * Acknowledged messages that the receiver does not list (by id and text), and kept ones
   * it still does not list after up to `keptWithinMs` (they go out when the peer is back).
   */
  async missingAt(receiver: DaemonProc, keptWithinMs = 60_000): Promise<string[]> {
    const end = Date.now() + keptWithinMs
    for (;;) {
      const received = await listAllMessages(receiver, this.from().peerId)
      const have = new Map(received.filter((m) => m.direction === 'in').map((m) => [m.id, m.text]))
      const missing = [...this.acked, ...this.kept].filter((m) => have.get(m.id) !== m.text)
      const lost = missing.filter((m) => this.acked.includes(m))
      if (lost.length > 0 || missing.length === 0 || Date.now() > end) return missing.map((m) => m.id)
      await sleep(500)
    }
  }
}

interface ListedMessage {
  id: string
  seq: number
  direction: string
  text: string
}

/** Every message the daemon lists for a peer, paging with the seq cursor (bounded). */
async function listAllMessages(d: DaemonProc, peerId: string): Promise<ListedMessage[]> {
  const all: ListedMessage[] = []
  let before: number | undefined
  for (let page = 0; page < 10_000; page++) {
    const res = await d.call<ListedMessage[]>('listMessages', { peerId, limit: 500, ...(before ? { before } : {}) })
    if (!res.body.ok) throw new Error(`listMessages: ${res.body.error?.code} ${res.body.error?.message}`)
    const batch = res.body.result!
    all.push(...batch)
    if (batch.length < 500) break
    before = batch[batch.length - 1]!.seq
  }
  return all
}

export interface AckedPayment {
  seq: number
  sats: number
  paidSats: number
  at: number
}

/** Payments through one channel; every acknowledged (seq, paidSats) is kept. */
export class PaymentTraffic {
  readonly acked: AckedPayment[] = []
  readonly outcomes: CallOutcomes = { ok: 0, failed: new Map() }
  /** Failures with their code and time, for the scenarios that check when they happen. */
  readonly failures: { code: string; at: number; startedAt: number }[] = []
  /** Calls waiting for an answer right now. */
  inFlight = 0
  private n = 0

  constructor(
    private readonly payer: () => DaemonProc,
    private readonly channelId: string,
  ) {}

  get ackedSats(): number {
    return this.acked.reduce((s, p) => s + p.sats, 0)
  }

  get maxAcked(): AckedPayment | null {
    return this.acked.reduce<AckedPayment | null>((m, p) => (m === null || p.seq > m.seq ? p : m), null)
  }

  /** One payment; returns the error code or null when it was acknowledged. */
  async payOnce(): Promise<string | null> {
    const sats = (this.n++ % 5) + 1
    const startedAt = Date.now()
    this.inFlight++
    try {
      const res = await this.payer().call<{ seq: number; paidSats: number }>('pay', { channelId: this.channelId, sats })
      if (res.body.ok) {
        this.acked.push({ seq: res.body.result!.seq, paidSats: res.body.result!.paidSats, sats, at: Date.now() })
        this.outcomes.ok++
        return null
      }
      const code = res.body.error?.code ?? 'unknown'
      countFailure(this.outcomes, code)
      this.failures.push({ code, at: Date.now(), startedAt })
      return code
    } catch {
      countFailure(this.outcomes, 'connection')
      this.failures.push({ code: 'connection', at: Date.now(), startedAt })
      return 'connection'
    } finally {
      this.inFlight--
    }
  }

  run(opts: TrafficOptions): Promise<void> {
    const worker = async (): Promise<void> => {
      for (let i = 0; i < opts.maxCallsPerWorker && !opts.stop(); i++) {
        await this.payOnce()
        await sleep(opts.pauseMs)
      }
    }
    return Promise.all(Array.from({ length: opts.workers }, () => worker())).then(() => undefined)
  }

  /** Acknowledged payments the payee's store does not hold with the same cumulative amount. */
  missingAt(payeeDataDir: string): AckedPayment[] {
    const stored = storedPayments(payeeDataDir, this.channelId)
    return this.acked.filter((p) => stored.get(p.seq) !== p.paidSats)
  }
}

/** seq -> paidSats of every state a daemon stored for a channel, read from its SQLite file (WAL: safe while it runs). */
function storedPayments(dataDir: string, channelId: string): Map<number, number> {
  const db = new Database(join(dataDir, 'engine.sqlite'), { readonly: true, fileMustExist: true })
  try {
    const rows = db.prepare('SELECT seq, paid_sats AS paidSats FROM channel_payments WHERE channel_id = ?').all(channelId) as { seq: number; paidSats: number }[]
    return new Map(rows.map((r) => [r.seq, r.paidSats]))
  } finally {
    db.close()
  }
}

/** Resident set size of a process in bytes, from /proc (null when it is gone). */
function rssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
    return kb ? Number(kb[1]) * 1024 : null
  } catch {
    return null
  }
}

/** RSS samples of some processes; growth compares the mean of the last third to the first. */
export class RssSampler {
  readonly samples: { at: number; rss: Record<string, number> }[] = []
  private timer: ReturnType<typeof setInterval> | null = null

  constructor(private readonly pids: () => Record<string, number | undefined>) {}

  start(everyMs: number): void {
    this.sample()
    this.timer = setInterval(() => this.sample(), everyMs)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  sample(): void {
    const rss: Record<string, number> = {}
    for (const [name, pid] of Object.entries(this.pids())) {
      const bytes = pid === undefined ? null : rssBytes(pid)
      if (bytes !== null) rss[name] = bytes
    }
    this.samples.push({ at: Date.now(), rss })
  }

  /** About `points` evenly spaced samples per process, in MB, for the log. */
  series(points: number): Record<string, number[]> {
    const out: Record<string, number[]> = {}
    const step = Math.max(1, Math.floor(this.samples.length / points))
    for (let i = 0; i < this.samples.length; i += step) {
      for (const [name, bytes] of Object.entries(this.samples[i]!.rss)) (out[name] ??= []).push(Math.round(bytes / 1024 / 1024))
    }
    return out
  }

  /** Per process: first-third mean, last-third mean, growth and peak, in MB (one decimal). */
  summary(): Record<string, { firstMb: number; lastMb: number; growthMb: number; peakMb: number; samples: number }> {
    const out: Record<string, { firstMb: number; lastMb: number; growthMb: number; peakMb: number; samples: number }> = {}
    const names = new Set(this.samples.flatMap((s) => Object.keys(s.rss)))
    const mb = (b: number): number => Math.round((b / 1024 / 1024) * 10) / 10
    for (const name of names) {
      const values = this.samples.map((s) => s.rss[name]).filter((v): v is number => v !== undefined)
      const third = Math.max(1, Math.floor(values.length / 3))
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
      const first = mean(values.slice(0, third))
      const last = mean(values.slice(-third))
      out[name] = { firstMb: mb(first), lastMb: mb(last), growthMb: mb(last - first), peakMb: mb(Math.max(...values)), samples: values.length }
    }
    return out
  }
}

export function failureCounts(outcomes: CallOutcomes): Record<string, number> {
  return Object.fromEntries(outcomes.failed)
}
