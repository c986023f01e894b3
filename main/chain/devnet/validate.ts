import { LockingScript, Spend, Transaction } from '@bsv/sdk'
import type { RejectReason } from '../chain.js'

/** One refusal, one code: the same codes the chain clients report (RejectReason). */
export class DevnetRejection extends Error {
  override readonly name = 'DevnetRejection'
  constructor(
    readonly code: RejectReason,
    message: string,
  ) {
    super(message)
  }
}

export interface SpentOutput {
  satoshis: number
  script: Uint8Array
  /** The transaction that already spends it (mined or in the mempool), if any. */
  spentBy: string | null
}

export interface ValidationContext {
  output(txid: string, vout: number): SpentOutput | undefined
  /** Height of the block this transaction would be mined in (tip + 1). */
  nextHeight: number
  nowSeconds: number
  minFeeRateSatsPerKb: number
}

export interface Validated {
  tx: Transaction
  txid: string
  size: number
  fee: number
}

/** nLockTime below this is a height, at or above it a unix time (as in every Bitcoin node). */
export const LOCKTIME_THRESHOLD = 500_000_000
const FINAL_SEQUENCE = 0xffffffff
const MAX_SATOSHIS = 21_000_000 * 100_000_000

/** BSV's finality rule (IsFinalTx): nodes refuse a non-final transaction outright. */
export function isFinal(tx: Transaction, nextHeight: number, nowSeconds: number): boolean {
  if (tx.lockTime === 0) return true
  const limit = tx.lockTime < LOCKTIME_THRESHOLD ? nextHeight : nowSeconds
  if (tx.lockTime < limit) return true
  return tx.inputs.every((input) => (input.sequence ?? FINAL_SEQUENCE) === FINAL_SEQUENCE)
}

export function minimumFee(size: number, rateSatsPerKb: number): number {
  return Math.ceil((size * rateSatsPerKb) / 1000)
}

export function parseTransaction(rawHex: string): Transaction {
  const hex = rawHex.trim().toLowerCase()
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-f]+$/.test(hex)) throw new DevnetRejection('malformed', 'the transaction is not hex')
  let tx: Transaction
  try {
    // Extended format (BRC-30) carries source outputs; we look them up ourselves anyway.
    tx = hex.slice(8, 20) === '0000000000ef' ? Transaction.fromHexEF(hex) : Transaction.fromHex(hex)
  } catch (err) {
    throw new DevnetRejection('malformed', `the transaction does not decode: ${(err as Error).message}`)
  }
  // The decoder tolerates truncation and trailing bytes (and caches the bytes it was given),
  // a node does not: serialise a fresh copy and compare.
  let again = ''
  try {
    again = new Transaction(tx.version, tx.inputs, tx.outputs, tx.lockTime).toHex()
  } catch {
    // refused below
  }
  const extended = hex.slice(8, 20) === '0000000000ef'
  if (extended ? again.length === 0 : again !== hex) throw new DevnetRejection('malformed', 'the transaction is truncated or has trailing bytes')
  return tx
}

/**
 * Every rule a BSV node applies that matters to this wallet, cheapest first, script
 * evaluation (the expensive one) last. Throws DevnetRejection with one code per rule.
 */
export function validateTransaction(tx: Transaction, ctx: ValidationContext): Validated {
  if (tx.inputs.length === 0) throw new DevnetRejection('malformed', 'the transaction has no inputs')
  if (tx.outputs.length === 0) throw new DevnetRejection('malformed', 'the transaction has no outputs')
  const size = tx.toBinary().length
  const txid = tx.id('hex')
  let outTotal = 0
  for (const [i, out] of tx.outputs.entries()) {
    const sats = out.satoshis ?? -1
    if (!Number.isSafeInteger(sats) || sats < 0 || sats > MAX_SATOSHIS) throw new DevnetRejection('malformed', `output ${i} has an invalid amount`)
    outTotal += sats
  }
  if (outTotal > MAX_SATOSHIS) throw new DevnetRejection('malformed', 'outputs add up to more than all the coins there are')

  const seen = new Set<string>()
  const sources: SpentOutput[] = []
  for (const [i, input] of tx.inputs.entries()) {
    const key = `${input.sourceTXID}:${input.sourceOutputIndex}`
    if (seen.has(key)) throw new DevnetRejection('malformed', `input ${i} spends ${key} a second time in the same transaction`)
    seen.add(key)
    const source = ctx.output(input.sourceTXID ?? '', input.sourceOutputIndex)
    if (!source) throw new DevnetRejection('missing-inputs', `input ${i} spends ${key}, which does not exist`)
    if (source.spentBy !== null && source.spentBy !== txid) throw new DevnetRejection('double-spend', `input ${i} spends ${key}, already spent by ${source.spentBy}`)
    sources.push(source)
  }

  if (!isFinal(tx, ctx.nextHeight, ctx.nowSeconds)) {
    throw new DevnetRejection('non-final', `nLockTime ${tx.lockTime} is not yet reached (next block ${ctx.nextHeight}) and an input sequence is not final`)
  }

  const inTotal = sources.reduce((sum, s) => sum + s.satoshis, 0)
  if (outTotal > inTotal) throw new DevnetRejection('outputs-exceed-inputs', `outputs ${outTotal} sat exceed inputs ${inTotal} sat`)
  const fee = inTotal - outTotal
  const required = minimumFee(size, ctx.minFeeRateSatsPerKb)
  if (fee < required) throw new DevnetRejection('fee-too-low', `fee ${fee} sat is below the minimum ${required} sat (${ctx.minFeeRateSatsPerKb} sat/kB for ${size} bytes)`)

  for (const [i, input] of tx.inputs.entries()) {
    const source = sources[i]!
    if (!input.unlockingScript) throw new DevnetRejection('malformed', `input ${i} has no unlocking script`)
    let ok = false
    let why = 'the script evaluated to false'
    try {
      ok = new Spend({
        sourceTXID: input.sourceTXID ?? '',
        sourceOutputIndex: input.sourceOutputIndex,
        sourceSatoshis: source.satoshis,
        lockingScript: LockingScript.fromBinary(Array.from(source.script)),
        transactionVersion: tx.version,
        otherInputs: tx.inputs.filter((_, j) => j !== i),
        outputs: tx.outputs,
        unlockingScript: input.unlockingScript,
        inputSequence: input.sequence ?? FINAL_SEQUENCE,
        inputIndex: i,
        lockTime: tx.lockTime,
      }).validate()
    } catch (err) {
      why = (err as Error).message.split('\n')[0] ?? why
    }
    if (!ok) throw new DevnetRejection('script-failed', `input ${i}: ${why}`)
  }
  return { tx, txid, size, fee }
}
