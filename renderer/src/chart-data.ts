import type { ChannelPayment, WalletTransaction } from '../../shared/contract/index.js'
import { formatSats } from './human.js'

/** One point of a chart over time: whole seconds since the epoch, whole satoshis. */
export interface TimePoint {
  t: number
  sats: number
}

const toSeconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000)

/**
 * Points in time order, one per second (the last value of a second wins): uPlot wants its
 * x values ascending, and two changes in one second draw as one step.
 */
export function inTimeOrder(points: readonly TimePoint[]): TimePoint[] {
  const sorted = points.filter((p) => Number.isFinite(p.t)).slice().sort((a, b) => a.t - b.t)
  const out: TimePoint[] = []
  for (const p of sorted) {
    if (out.length > 0 && out[out.length - 1]!.t === p.t) out[out.length - 1] = p
    else out.push(p)
  }
  return out
}

/** What a transaction did to the balance: what came in, or what left (amount and fee). */
const balanceDelta = (tx: WalletTransaction): number => (tx.direction === 'in' ? tx.sats : -(tx.sats + tx.fee))

/**
 * The wallet's balance after each transaction, oldest first. Anchored at the balance now
 * and walked back through the history (newest first, as listTransactions gives it), so a
 * history that holds only the latest page still ends at the true balance; the first point
 * is the balance before the oldest transaction shown.
 */
export function balanceSeries(txsNewestFirst: readonly WalletTransaction[], balanceNow: number): TimePoint[] {
  if (txsNewestFirst.length === 0) return []
  const points: TimePoint[] = []
  let after = balanceNow
  for (const tx of txsNewestFirst) {
    points.push({ t: toSeconds(tx.createdAt), sats: after })
    after -= balanceDelta(tx)
  }
  const oldest = txsNewestFirst[txsNewestFirst.length - 1]!
  points.push({ t: toSeconds(oldest.createdAt) - 1, sats: after })
  return inTimeOrder(points)
}

/** What a channel has paid in all, over time: 0 when it opened, then the cumulative amount after each payment. */
export function paymentsSeries(payments: readonly ChannelPayment[], openedAt: string): TimePoint[] {
  if (payments.length === 0) return []
  const bySeq = payments.slice().sort((a, b) => a.seq - b.seq)
  const first = toSeconds(bySeq[0]!.createdAt)
  const start = Math.min(toSeconds(openedAt), first - 1)
  return inTimeOrder([{ t: start, sats: 0 }, ...bySeq.map((p) => ({ t: toSeconds(p.createdAt), sats: p.paidSats }))])
}

/** "3 days", "5 hours", "12 minutes", "40 seconds": the span of a chart in its largest whole unit. */
export function spanWords(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ]
  for (const [size, name] of units) {
    const n = Math.floor(seconds / size)
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'}`
  }
  return 'a moment'
}

/** The chart as one sentence, for its aria-label: "Balance from 0 sats to 12 000 sats over 3 days". */
export function describeSeries(what: string, points: readonly TimePoint[]): string {
  if (points.length === 0) return `${what}: nothing to show yet`
  const first = points[0]!
  const last = points[points.length - 1]!
  if (points.length === 1 || last.t === first.t) return `${what}: ${formatSats(last.sats)}`
  let low = first.sats
  let high = first.sats
  for (const p of points) {
    low = Math.min(low, p.sats)
    high = Math.max(high, p.sats)
  }
  const range = low !== Math.min(first.sats, last.sats) || high !== Math.max(first.sats, last.sats) ? ` (between ${formatSats(low)} and ${formatSats(high)})` : ''
  return `${what} from ${formatSats(first.sats)} to ${formatSats(last.sats)} over ${spanWords(last.t - first.t)}${range}`
}
