// A channel is a typed record per state (a discriminated union on `role`, `state` and,
// while funding, `step`), as Eclair gives each state its own data class: a field exists
// only where it has a value, so "funding not verified yet" cannot be mistaken for "open",
// and no code needs a `!` on a channel field. The store keeps one row per channel with
// nullable columns; `decodeChannelRow` turns a row back into its record and refuses a row
// whose columns do not fit its state.
import type { CHANNEL_FAILURES } from '../../shared/contract/index.js'
import type { ChannelStatus } from './state-machine.js'

export type ChannelRole = 'payer' | 'payee'

export interface Outpoint {
  txid: string
  vout: number
}

/** Why a channel ended without funds moving; each is explained where the contract lists it. */
export type FailureReason = (typeof CHANNEL_FAILURES)[number]

/** Agreed when the channel is proposed; never change afterwards. */
export interface Terms {
  readonly id: string
  readonly peerId: string
  readonly capacitySats: number
  /** Block height from which the payer's refund is valid (its nLockTime). */
  readonly expiry: number
  readonly feeRate: number
  readonly settlementFeeSats: number
  readonly refundFeeSats: number
  readonly payerPub: string
  /** Our own key's derivation index (unique across every channel of this wallet). */
  readonly keyIndex: number
  readonly createdAt: number
  updatedAt: number
}

/** The funding tx the payer built: signed, stored, maybe broadcast. */
export interface BuiltFunding {
  outpoint: Outpoint
  hex: string
  payerAddress: string
  /** The wallet's reservation of the inputs, until the chain takes the tx. */
  reservationId: string | null
}

/** Settlement or refund: the transaction that spent the funding output. */
export interface Spend {
  kind: 'settlement' | 'refund'
  txid: string
}

/** What an open channel holds, on both sides: a funding output verified on chain. */
interface Live {
  payeePub: string
  payerAddress: string
  /** The payee's payout address, given when the channel opens. */
  payeeAddress: string
  funding: Outpoint
  /**
   * The raw funding tx (the payer built it; the payee fetched and verified it), rebroadcast
   * if it drops out of the mempool. Null only on payee channels opened by an earlier version.
   */
  fundingHex: string | null
  /** Height of the block that mined the funding; null while unconfirmed. */
  fundingHeight: number | null
  /** The latest settlement both sides hold (the payer's acknowledged one). */
  seq: number
  paidSats: number
}

/**
 * A payer channel can end without ever opening: the payee never confirmed the funding, so
 * the refund took the coins back at expiry. Only then is `payeeAddress` null.
 */
type PayerLive<PayeeAddress extends string | null = string> = Terms & Omit<Live, 'payeeAddress'> & { role: 'payer'; refundPayeeSig: string; payeeAddress: PayeeAddress }
/** `lastSig` is the payer's signature over settlement `seq`; null before the first payment. */
type PayeeLive = Terms & Live & { role: 'payee'; lastSig: string | null }

export type PayerProposed = Terms & { role: 'payer'; state: 'proposed'; step: 'awaiting-answer' | 'awaiting-accept' }
type PayerFundingBase = Terms & { role: 'payer'; state: 'funding'; payeePub: string }
/** The payee's key is bound; nothing is built yet. */
export type PayerFundingAccepted = PayerFundingBase & { step: 'accepted' }
/** Coins reserved, the funding tx built and stored; the refund is being asked for. Nothing has left. */
export type PayerFundingBuilt = PayerFundingBase & { step: 'built'; built: BuiltFunding }
/** The refund is verified and stored: the funding may be broadcast (or may already be out). */
export type PayerFundingSigned = PayerFundingBase & { step: 'refund-signed'; built: BuiltFunding; refundPayeeSig: string }
/** The chain has the funding; the payee has not opened yet. */
export type PayerFundingBroadcast = PayerFundingBase & { step: 'broadcast'; built: BuiltFunding; refundPayeeSig: string }
export type PayerFunding = PayerFundingAccepted | PayerFundingBuilt | PayerFundingSigned | PayerFundingBroadcast
export type PayerOpen = PayerLive & { state: 'open' }
/** `spend` null: the payer asked to close with nothing to settle (or the payee lied); the refund comes at expiry. */
export type PayerClosing = PayerLive<string | null> & { state: 'closing'; spend: Spend | null }
export type PayerEnded = PayerLive<string | null> & { state: 'closed' | 'refunded'; spend: Spend }

type PayeeProposed = Terms & { role: 'payee'; state: 'proposed'; payeePub: string }
type PayeeFundingBase = Terms & { role: 'payee'; state: 'funding'; payeePub: string }
/** We gave our key; the payer has not asked for the refund yet. */
type PayeeFundingAccepted = PayeeFundingBase & { step: 'accepted' }
/** We signed the refund over this outpoint (bound to this channel only); waiting for it on chain. */
export type PayeeFundingBound = PayeeFundingBase & { step: 'refund-signed'; funding: Outpoint; payerAddress: string }
type PayeeFunding = PayeeFundingAccepted | PayeeFundingBound
export type PayeeOpen = PayeeLive & { state: 'open' }
export type PayeeClosing = PayeeLive & { state: 'closing'; spend: Spend | null }
type PayeeEnded = PayeeLive & { state: 'closed' | 'refunded'; spend: Spend }

/** Ended before anything moved on chain; what was known is kept for display. */
type FailedChannel = Terms & { role: ChannelRole; state: 'failed'; failure: FailureReason; payeePub: string | null; fundingTxid: string | null }
type RejectedChannel = Terms & { role: ChannelRole; state: 'rejected'; payeePub: string | null }

export type PayerChannel = PayerProposed | PayerFunding | PayerOpen | PayerClosing | PayerEnded
export type PayeeChannel = PayeeProposed | PayeeFunding | PayeeOpen | PayeeClosing | PayeeEnded
export type ChannelRecord = PayerChannel | PayeeChannel | FailedChannel | RejectedChannel

type OpenChannel = PayerOpen | PayeeOpen
/** The states whose funding output is verified on chain and may hold coins. */
export type FundedChannel = PayerOpen | PayerClosing | PayerEnded | PayeeOpen | PayeeClosing | PayeeEnded

export type FundingStep = PayerFunding['step'] | PayeeFunding['step'] | PayerProposed['step']

/** The step of an opening channel, or null in every other state. */
export function stepOf(c: ChannelRecord): FundingStep | null {
  if (c.state === 'funding') return c.step
  if (c.state === 'proposed' && c.role === 'payer') return c.step
  return null
}

export function isFunded(c: ChannelRecord): c is FundedChannel {
  return c.state === 'open' || c.state === 'closing' || c.state === 'closed' || c.state === 'refunded'
}

/** The funding outpoint this record names (bound, built or verified), if any. */
export function fundingOutpointOf(c: ChannelRecord): Outpoint | null {
  if (isFunded(c)) return c.funding
  if (c.state === 'funding') {
    if (c.role === 'payer') return c.step === 'accepted' ? null : c.built.outpoint
    return c.step === 'refund-signed' ? c.funding : null
  }
  return null
}

// ---- the row ----

/** One row of `channels`, as SQLite holds it. */
export interface ChannelRow {
  id: string
  peer_id: string
  role: string
  state: string
  step: string | null
  failure: string | null
  capacity_sats: number
  paid_sats: number
  seq: number
  last_sig: string | null
  expiry: number
  fee_rate: number
  settlement_fee_sats: number
  refund_fee_sats: number
  key_index: number
  payer_pub: string
  payee_pub: string | null
  payer_address: string | null
  payee_address: string | null
  funding_txid: string | null
  funding_vout: number | null
  funding_hex: string | null
  funding_height: number | null
  reservation_id: string | null
  refund_payee_sig: string | null
  settlement_txid: string | null
  refund_txid: string | null
  created_at: number
  updated_at: number
}

export const CHANNEL_COLUMNS: readonly (keyof ChannelRow)[] = [
  'id', 'peer_id', 'role', 'state', 'step', 'failure', 'capacity_sats', 'paid_sats', 'seq', 'last_sig', 'expiry', 'fee_rate', 'settlement_fee_sats',
  'refund_fee_sats', 'key_index', 'payer_pub', 'payee_pub', 'payer_address', 'payee_address', 'funding_txid', 'funding_vout', 'funding_hex',
  'funding_height', 'reservation_id', 'refund_payee_sig', 'settlement_txid', 'refund_txid', 'created_at', 'updated_at',
]

/** A stored row that does not fit its state: a bug or a damaged database, never a peer's doing. */
export class ChannelRowError extends Error {
  override readonly name = 'ChannelRowError'
  constructor(
    readonly channelId: string,
    message: string,
  ) {
    super(`channel ${channelId}: ${message}`)
  }
}

const EMPTY: Omit<ChannelRow, 'id' | 'peer_id' | 'role' | 'state' | 'capacity_sats' | 'expiry' | 'fee_rate' | 'settlement_fee_sats' | 'refund_fee_sats' | 'key_index' | 'payer_pub' | 'created_at' | 'updated_at'> = {
  step: null, failure: null, paid_sats: 0, seq: 0, last_sig: null, payee_pub: null, payer_address: null, payee_address: null, funding_txid: null,
  funding_vout: null, funding_hex: null, funding_height: null, reservation_id: null, refund_payee_sig: null, settlement_txid: null, refund_txid: null,
}

export function encodeChannelRow(c: ChannelRecord): ChannelRow {
  const row: ChannelRow = {
    ...EMPTY,
    id: c.id, peer_id: c.peerId, role: c.role, state: c.state, capacity_sats: c.capacitySats, expiry: c.expiry, fee_rate: c.feeRate,
    settlement_fee_sats: c.settlementFeeSats, refund_fee_sats: c.refundFeeSats, key_index: c.keyIndex, payer_pub: c.payerPub, created_at: c.createdAt, updated_at: c.updatedAt,
  }
  switch (c.state) {
    case 'proposed':
      if (c.role === 'payer') row.step = c.step
      else row.payee_pub = c.payeePub
      return row
    case 'funding':
      row.step = c.step
      row.payee_pub = c.payeePub
      if (c.role === 'payer') {
        if (c.step !== 'accepted') {
          row.funding_txid = c.built.outpoint.txid
          row.funding_vout = c.built.outpoint.vout
          row.funding_hex = c.built.hex
          row.payer_address = c.built.payerAddress
          row.reservation_id = c.built.reservationId
        }
        if (c.step === 'refund-signed' || c.step === 'broadcast') row.refund_payee_sig = c.refundPayeeSig
      } else if (c.step === 'refund-signed') {
        row.funding_txid = c.funding.txid
        row.funding_vout = c.funding.vout
        row.payer_address = c.payerAddress
      }
      return row
    case 'failed':
      row.failure = c.failure
      row.payee_pub = c.payeePub
      row.funding_txid = c.fundingTxid
      return row
    case 'rejected':
      row.payee_pub = c.payeePub
      return row
    default: {
      row.payee_pub = c.payeePub
      row.payer_address = c.payerAddress
      row.payee_address = c.payeeAddress
      row.funding_txid = c.funding.txid
      row.funding_vout = c.funding.vout
      row.funding_hex = c.fundingHex
      row.funding_height = c.fundingHeight
      row.seq = c.seq
      row.paid_sats = c.paidSats
      if (c.role === 'payer') row.refund_payee_sig = c.refundPayeeSig
      else row.last_sig = c.lastSig
      if (c.state !== 'open' && c.spend) {
        if (c.spend.kind === 'settlement') row.settlement_txid = c.spend.txid
        else row.refund_txid = c.spend.txid
      }
      return row
    }
  }
}

export function decodeChannelRow(row: ChannelRow): ChannelRecord {
  const need = <T>(v: T | null, column: string): T => {
    if (v === null || v === undefined) throw new ChannelRowError(row.id, `${row.role} ${row.state}${row.step ? `/${row.step}` : ''} needs ${column}`)
    return v
  }
  if (row.role !== 'payer' && row.role !== 'payee') throw new ChannelRowError(row.id, `unknown role ${row.role}`)
  const role = row.role
  const terms: Terms = {
    id: row.id, peerId: row.peer_id, capacitySats: row.capacity_sats, expiry: row.expiry, feeRate: row.fee_rate, settlementFeeSats: row.settlement_fee_sats,
    refundFeeSats: row.refund_fee_sats, payerPub: row.payer_pub, keyIndex: row.key_index, createdAt: row.created_at, updatedAt: row.updated_at,
  }
  const state = row.state as ChannelStatus
  const outpoint = (): Outpoint => ({ txid: need(row.funding_txid, 'funding_txid'), vout: need(row.funding_vout, 'funding_vout') })
  const spend = (): Spend | null => (row.settlement_txid ? { kind: 'settlement', txid: row.settlement_txid } : row.refund_txid ? { kind: 'refund', txid: row.refund_txid } : null)
  switch (state) {
    case 'proposed':
      if (role === 'payer') {
        if (row.step !== 'awaiting-answer' && row.step !== 'awaiting-accept') throw new ChannelRowError(row.id, `payer proposed with step ${row.step}`)
        return { ...terms, role, state, step: row.step }
      }
      return { ...terms, role, state, payeePub: need(row.payee_pub, 'payee_pub') }
    case 'funding': {
      const payeePub = need(row.payee_pub, 'payee_pub')
      if (role === 'payer') {
        if (row.step === 'accepted') return { ...terms, role, state, payeePub, step: 'accepted' }
        const built: BuiltFunding = { outpoint: outpoint(), hex: need(row.funding_hex, 'funding_hex'), payerAddress: need(row.payer_address, 'payer_address'), reservationId: row.reservation_id }
        if (row.step === 'built') return { ...terms, role, state, payeePub, step: 'built', built }
        if (row.step === 'refund-signed' || row.step === 'broadcast') return { ...terms, role, state, payeePub, step: row.step, built, refundPayeeSig: need(row.refund_payee_sig, 'refund_payee_sig') }
        throw new ChannelRowError(row.id, `payer funding with step ${row.step}`)
      }
      if (row.step === 'accepted') return { ...terms, role, state, payeePub, step: 'accepted' }
      if (row.step === 'refund-signed') return { ...terms, role, state, payeePub, step: 'refund-signed', funding: outpoint(), payerAddress: need(row.payer_address, 'payer_address') }
      throw new ChannelRowError(row.id, `payee funding with step ${row.step}`)
    }
    case 'failed':
      return { ...terms, role, state, failure: need(row.failure, 'failure') as FailureReason, payeePub: row.payee_pub, fundingTxid: row.funding_txid }
    case 'rejected':
      return { ...terms, role, state, payeePub: row.payee_pub }
    case 'open':
    case 'closing':
    case 'closed':
    case 'refunded': {
      const live = {
        payeePub: need(row.payee_pub, 'payee_pub'), payerAddress: need(row.payer_address, 'payer_address'),
        // Only a payer channel that ended without opening lacks it (see PayerLive).
        payeeAddress: role === 'payer' && state !== 'open' ? row.payee_address : need(row.payee_address, 'payee_address'),
        funding: outpoint(), fundingHex: role === 'payer' ? need(row.funding_hex, 'funding_hex') : row.funding_hex, fundingHeight: row.funding_height, seq: row.seq, paidSats: row.paid_sats,
      }
      const base = role === 'payer' ? { ...terms, ...live, role, refundPayeeSig: need(row.refund_payee_sig, 'refund_payee_sig') } : { ...terms, ...live, role, lastSig: row.last_sig }
      if (role === 'payee' && live.seq > 0 && row.last_sig === null) throw new ChannelRowError(row.id, 'a paid payee channel needs last_sig')
      if (state === 'open') return { ...base, state } as OpenChannel
      if (state === 'closing') return { ...base, state, spend: spend() } as PayerClosing | PayeeClosing
      return { ...base, state, spend: need(spend(), 'settlement_txid or refund_txid') } as PayerEnded | PayeeEnded
    }
    default:
      throw new ChannelRowError(row.id, `unknown state ${String(row.state)}`)
  }
}
