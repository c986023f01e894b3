/**
 * Pure coin selection and fee arithmetic for P2PKH spends. Sizes match @bsv/sdk's
 * SatoshisPerKilobyte estimate (P2PKH unlocking script estimated at 108 bytes), so the fee
 * computed here is the fee the built transaction pays.
 */

export interface Coin {
  txid: string
  vout: number
  satoshis: number
  /** Null while unconfirmed. */
  height: number | null
}

/** outpoint 36 + sequence 4 + script length 1 + unlocking script 108. */
export const P2PKH_INPUT_BYTES = 149
/** value 8 + script length 1 + locking script 25. */
const P2PKH_OUTPUT_BYTES = 34
/** Change smaller than this is left to the miner instead of making an output. */
const MIN_CHANGE_SATS = 1
export const MAX_INPUTS = 250

function varIntSize(n: number): number {
  return n < 253 ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9
}

export function estimateSize(inputs: number, outputs: number): number {
  return 8 + varIntSize(inputs) + varIntSize(outputs) + inputs * P2PKH_INPUT_BYTES + outputs * P2PKH_OUTPUT_BYTES
}

export function feeFor(sizeBytes: number, feeRateSatsPerKb: number): number {
  return Math.ceil((sizeBytes * feeRateSatsPerKb) / 1000)
}

/** The order selection takes coins in: confirmed first, then largest first (ties by outpoint, the same on every machine, whatever its locale). */
function selectionOrder(coins: readonly Coin[]): Coin[] {
  return [...coins].sort((a, b) => {
    const ca = a.height === null ? 1 : 0
    const cb = b.height === null ? 1 : 0
    return ca - cb || b.satoshis - a.satoshis || (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : 0) || a.vout - b.vout
  })
}

export type Selection =
  | { ok: true; coins: Coin[]; fee: number; change: number; total: number }
  | { ok: false; available: number; needed: number }

/**
 * Confirmed coins first (a payment built on them does not depend on anyone's mempool),
 * then largest first to keep transactions small. Stops at the first set that pays the
 * amount and the fee; change below MIN_CHANGE_SATS goes to the fee.
 */
export function selectCoins(coins: readonly Coin[], amount: number, feeRateSatsPerKb: number): Selection {
  if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError('amount must be a positive integer')
  if (!(feeRateSatsPerKb >= 0)) throw new RangeError('fee rate must be non-negative')
  const sorted = selectionOrder(coins)
  const chosen: Coin[] = []
  let total = 0
  for (const coin of sorted) {
    if (chosen.length >= MAX_INPUTS) break
    chosen.push(coin)
    total += coin.satoshis
    const feeWithChange = feeFor(estimateSize(chosen.length, 2), feeRateSatsPerKb)
    if (total >= amount + feeWithChange) {
      const change = total - amount - feeWithChange
      if (change >= MIN_CHANGE_SATS) return { ok: true, coins: chosen, fee: feeWithChange, change, total }
      // Without a change output the fee is smaller; whatever is left over goes to the miner.
      return { ok: true, coins: chosen, fee: total - amount, change: 0, total }
    }
    const feeNoChange = feeFor(estimateSize(chosen.length, 1), feeRateSatsPerKb)
    if (total >= amount + feeNoChange) return { ok: true, coins: chosen, fee: total - amount, change: 0, total }
  }
  const available = coins.reduce((s, c) => s + c.satoshis, 0)
  return { ok: false, available, needed: amount + feeFor(estimateSize(Math.max(1, chosen.length), 2), feeRateSatsPerKb) }
}

export type MaxSend = { ok: true; sats: number; fee: number; coins: Coin[] } | { ok: false; available: number; needed: number }

/**
 * The most a single send can pay: over the prefixes of the coins in selection order (as
 * selectCoins takes them, at most MAX_INPUTS), the largest amount less the fee of a
 * transaction without change. A coin worth less than the fee its input costs is left out.
 * selectCoins(coins, sats) then picks exactly these coins, leaves no change and pays
 * exactly this fee: for every earlier prefix `total - fee` is smaller, so none suffices.
 */
export function maxSendable(coins: readonly Coin[], feeRateSatsPerKb: number): MaxSend {
  if (!(feeRateSatsPerKb >= 0)) throw new RangeError('fee rate must be non-negative')
  const sorted = selectionOrder(coins)
  let best: { sats: number; fee: number; count: number } | null = null
  let total = 0
  for (let i = 0; i < sorted.length && i < MAX_INPUTS; i++) {
    total += sorted[i]!.satoshis
    const fee = feeFor(estimateSize(i + 1, 1), feeRateSatsPerKb)
    if (total - fee > (best?.sats ?? 0)) best = { sats: total - fee, fee, count: i + 1 }
  }
  const available = coins.reduce((s, c) => s + c.satoshis, 0)
  if (!best) return { ok: false, available, needed: 1 + feeFor(estimateSize(1, 1), feeRateSatsPerKb) }
  return { ok: true, sats: best.sats, fee: best.fee, coins: sorted.slice(0, best.count) }
}
