// What to do on chain for one channel, decided from its typed record and what the chain
// says, as LND's ChannelArbitrator decides from state and chain facts: a pure function, so
// every case is a unit test and the effects (ChainWatch) stay dumb. It never trusts what a
// peer said about the chain: only `ChainFacts` (looked up by this side) move a channel.
import type { TxStatus } from '../chain/index.js'
import type { ChannelRecord, FailureReason, Spend } from './records.js'

export interface ChainPolicy {
  /** The payee settles this many blocks before expiry (BSV nodes take a lock time only once the height passes it). */
  closeMarginBlocks: number
  /** An unfunded proposal (or a funding the chain never saw) is dropped after this long. */
  proposalTimeoutMs: number
  /** Confirmations of the funding before the payee accepts payments on a channel of this capacity. */
  requiredConfirmations(capacitySats: number): number
  /** Confirmations of a settlement or refund before the channel is over. */
  endConfirmations: number
}

/** The transaction that spent the funding output, as this side looked it up and classified it. */
export interface SpendFact extends Spend {
  confirmations: number
  /** Settlement: what it pays the payee (its first output). Refund: 0. */
  payeeSats: number
}

/** What this side looked up this round. `undefined`: not looked up; `null`: the chain does not know it. */
export interface ChainFacts {
  height: number
  now: number
  /** The funding tx's status. */
  funding?: TxStatus | null
  /** Payee before open: whether the named output pays exactly the agreed 2-of-2 the capacity. */
  fundingOutput?: 'ok' | 'mismatch'
  /** The transaction spending the funding output. */
  spend?: SpendFact | null
}

export type ChainAction =
  | { kind: 'wait' }
  /** Nothing of ours is on chain: end the channel (the payer frees its reserved coins). */
  | { kind: 'fail'; reason: FailureReason }
  /** The chain does not know the funding tx: send the stored bytes (again). */
  | { kind: 'broadcast-funding' }
  /** Payer: the chain has the funding tx; its coins are spent, the channel waits for the payee. */
  | { kind: 'funding-seen' }
  /** Payer: ask the payee to open (it verifies the funding itself and gives its payout address). */
  | { kind: 'ask-open' }
  /** Payee: the funding is verified and deep enough. */
  | { kind: 'open' }
  | { kind: 'funding-height'; height: number }
  /** Payee: co-sign and broadcast the latest settlement before the refund becomes valid. */
  | { kind: 'settle' }
  /** Payer: the refund is valid and nothing spent the funding. */
  | { kind: 'refund' }
  /** Record a spend of the funding; `final` once it has its confirmations. */
  | { kind: 'spent'; spend: SpendFact; final: boolean }

/** What `decideChainAction` needs looked up for `c` this round (anything else stays undefined). */
export interface Lookups {
  funding: boolean
  fundingOutput: boolean
  spend: boolean
}

const NONE: Lookups = { funding: false, fundingOutput: false, spend: false }

/**
 * The look-ups a channel needs, so a node with many channels asks the chain service little:
 * an open channel whose funding is mined is looked at once per block, and every round only
 * near its expiry or while closing.
 */
export function lookupsFor(c: ChannelRecord, height: number, lastSpendCheckHeight: number | undefined, p: ChainPolicy): Lookups {
  const nearExpiry = height >= c.expiry - p.closeMarginBlocks
  switch (c.state) {
    case 'funding':
      if (c.role === 'payer') return c.step === 'refund-signed' || c.step === 'broadcast' ? { funding: true, fundingOutput: false, spend: height >= c.expiry } : NONE
      return c.step === 'refund-signed' ? { funding: true, fundingOutput: true, spend: true } : NONE
    case 'open':
    case 'closing':
      return { funding: c.fundingHeight === null, fundingOutput: false, spend: c.state === 'closing' || nearExpiry || lastSpendCheckHeight !== height }
    default:
      return NONE
  }
}

/**
 * The one thing to do now. Called only for a channel no operation holds (the engine's
 * mailbox), so a channel caught half-way through a local step was interrupted by a stop.
 */
export function decideChainAction(c: ChannelRecord, f: ChainFacts, p: ChainPolicy): ChainAction {
  const settleFrom = c.expiry - p.closeMarginBlocks
  const stale = f.now - c.updatedAt >= p.proposalTimeoutMs
  switch (c.state) {
    case 'proposed':
      // A payer waiting for the answer to its proposal holds the channel's mailbox; outside
      // it, the process stopped mid-request: nothing was funded.
      if (c.role === 'payer' && c.step === 'awaiting-answer') return { kind: 'fail', reason: 'interrupted' }
      if (stale || f.height >= settleFrom) return { kind: 'fail', reason: 'proposal-expired' }
      return { kind: 'wait' }

    case 'funding':
      if (c.role === 'payer') {
        // Before the refund is signed nothing may have been broadcast: an interrupted step is undone.
        if (c.step === 'accepted' || c.step === 'built') return { kind: 'fail', reason: 'interrupted' }
        // The refund is stored: the funding may be on chain, so this channel never fails quietly.
        if (f.spend) return { kind: 'spent', spend: f.spend, final: f.spend.confirmations >= p.endConfirmations }
        if (f.funding === null) return { kind: 'broadcast-funding' }
        if (f.height >= c.expiry && f.spend === null) return { kind: 'refund' }
        if (c.step === 'refund-signed' && f.funding) return { kind: 'funding-seen' }
        if (c.step === 'broadcast' && f.height < settleFrom) return { kind: 'ask-open' }
        return { kind: 'wait' }
      }
      if (c.step === 'accepted') return stale || f.height >= settleFrom ? { kind: 'fail', reason: 'proposal-expired' } : { kind: 'wait' }
      if (!f.funding) {
        if (f.funding === null && (stale || f.height >= settleFrom)) return { kind: 'fail', reason: f.height >= settleFrom ? 'funding-timeout' : 'proposal-expired' }
        return { kind: 'wait' }
      }
      if (f.fundingOutput === 'mismatch') return { kind: 'fail', reason: 'funding-mismatch' }
      // The only spend this side signed is the refund, final only at expiry: a spend now means the funding is gone.
      if (f.spend) return { kind: 'fail', reason: 'funding-lost' }
      if (f.height >= settleFrom) return { kind: 'fail', reason: 'funding-timeout' }
      if (f.fundingOutput === 'ok' && f.spend === null && f.funding.confirmations >= p.requiredConfirmations(c.capacitySats)) return { kind: 'open' }
      return { kind: 'wait' }

    case 'open':
    case 'closing': {
      if (f.spend) {
        const final = f.spend.confirmations >= p.endConfirmations
        const known = c.state === 'closing' && c.spend?.txid === f.spend.txid
        if (!known || final) return { kind: 'spent', spend: f.spend, final }
        return { kind: 'wait' }
      }
      // The chain forgot an unconfirmed funding (dropped, or double-spent): send it again;
      // a refusal for spent inputs then proves it can never be mined.
      if (f.funding === null && c.fundingHeight === null && c.fundingHex !== null) return { kind: 'broadcast-funding' }
      if (c.role === 'payer') {
        // Whatever the stored state says (a close requested, a settlement the payee claimed),
        // once the refund is valid and nothing spends the funding, the payer takes it back.
        if (f.height >= c.expiry && f.spend === null) return { kind: 'refund' }
      } else {
        const settled = c.state === 'closing' && c.spend?.kind === 'settlement' && f.spend === undefined
        // Closing with nothing spent yet: restored from a backup, so it settles now, not near expiry.
        const restored = c.state === 'closing' && c.spend === null
        if (c.seq > 0 && (f.height >= settleFrom || restored) && !settled) return { kind: 'settle' }
      }
      if (f.funding && f.funding.height !== null && c.fundingHeight === null) return { kind: 'funding-height', height: f.funding.height }
      return { kind: 'wait' }
    }

    default:
      return { kind: 'wait' }
  }
}
