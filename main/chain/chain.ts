/**
 * The chain as the wallet sees it: two small interfaces, one for looking things up and
 * one for broadcasting. ARC, WhatsOnChain and the devnet all sit behind them, so the same
 * wallet code runs on mainnet, testnet and devnet.
 */

/** An unspent output as a chain service reports it. `height` is null while unconfirmed. */
export interface ChainUtxo {
  txid: string
  vout: number
  satoshis: number
  height: number | null
}

export interface TxStatus {
  /** Null while in the mempool. */
  height: number | null
  confirmations: number
}

export interface ChainLookup {
  /** Height of the best block. */
  height(signal?: AbortSignal): Promise<number>
  utxos(address: string, signal?: AbortSignal): Promise<ChainUtxo[]>
  /** Raw transaction hex, or null when the chain does not know it. */
  rawTx(txid: string, signal?: AbortSignal): Promise<string | null>
  /** Where a transaction is, or null when the chain does not know it. */
  txStatus(txid: string, signal?: AbortSignal): Promise<TxStatus | null>
  /**
   * The transaction that spends output `vout` of `txid` (in a block or the mempool), or null
   * while nothing does. Payment channels watch their funding output with it.
   */
  spentBy(txid: string, vout: number, signal?: AbortSignal): Promise<{ txid: string; vin: number } | null>
  /** Txids that ever paid or spent from the address (restore uses it to find used addresses). */
  history(address: string, signal?: AbortSignal): Promise<string[]>
}

export interface ChainBroadcaster {
  /** Resolves once the service accepted the transaction; throws a typed error otherwise. */
  broadcast(rawHex: string, signal?: AbortSignal): Promise<{ txid: string }>
}

export interface ChainClients {
  lookup: ChainLookup
  broadcaster: ChainBroadcaster
}

/**
 * Why a chain service refused a transaction. The same names come back from the devnet,
 * from ARC (mapped from its status codes) and from WhatsOnChain (mapped from its text).
 */
const REJECT_REASONS = [
  'malformed',
  'missing-inputs',
  'double-spend',
  'script-failed',
  'non-final',
  'fee-too-low',
  'outputs-exceed-inputs',
  'rejected',
] as const
export type RejectReason = (typeof REJECT_REASONS)[number]

export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === 'string' && (REJECT_REASONS as readonly string[]).includes(value)
}

/** The service answered and said no (a 4xx): retrying the same bytes will not help. */
export class BroadcastRejectedError extends Error {
  override readonly name = 'BroadcastRejectedError'
  constructor(
    readonly reason: RejectReason,
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}

/** The service could not be reached, timed out or failed (5xx) after every retry. */
export class ChainUnavailableError extends Error {
  override readonly name = 'ChainUnavailableError'
  constructor(
    message: string,
    /**
     * False only when no attempt ever reached the service (connection refused, no such
     * host): a POST that may have been delivered (timeout, reset, 5xx) must be treated as
     * possibly done, e.g. a broadcast that may have reached the network.
     */
    readonly maybeDelivered = true,
  ) {
    super(message)
  }
}

/** The service answered with something that is not what its API promises. */
export class ChainProtocolError extends Error {
  override readonly name = 'ChainProtocolError'
}
