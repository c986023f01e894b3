// decideChainAction over every channel shape crossed with every kind of chain fact: the
// rules that keep coins safe hold in every one of them (tens of thousands of cases), and
// the cases the attacks of issue 15 relied on decide as they must.
import { describe, expect, it } from 'vitest'
import type { TxStatus } from '../chain/chain.js'
import { type ChainAction, type ChainFacts, type ChainPolicy, type SpendFact, decideChainAction, lookupsFor } from './chain-decision.js'
import type { ChannelRecord, Spend, Terms } from './records.js'

const EXPIRY = 1000
const MARGIN = 6
const TIMEOUT = 60_000
const NOW = 10_000_000
const REQUIRED = 1

const policy: ChainPolicy = { closeMarginBlocks: MARGIN, proposalTimeoutMs: TIMEOUT, requiredConfirmations: () => REQUIRED, endConfirmations: 1 }

const terms = (fresh: boolean): Terms => ({
  id: 'c'.repeat(32), peerId: 'peer', capacitySats: 100_000, expiry: EXPIRY, feeRate: 100, settlementFeeSats: 27, refundFeeSats: 24, payerPub: '02'.padEnd(66, 'a'),
  keyIndex: 3, createdAt: NOW - 2 * TIMEOUT, updatedAt: fresh ? NOW - 1 : NOW - TIMEOUT,
})
const outpoint = { txid: 'f'.repeat(64), vout: 0 }
const built = { outpoint, hex: '00', payerAddress: 'mpayer', reservationId: null }

/** Every record shape the engine can hold, in its variants. */
function records(): ChannelRecord[] {
  const out: ChannelRecord[] = []
  for (const fresh of [true, false]) {
    const t = terms(fresh)
    out.push({ ...t, role: 'payer', state: 'proposed', step: 'awaiting-answer' })
    out.push({ ...t, role: 'payer', state: 'proposed', step: 'awaiting-accept' })
    out.push({ ...t, role: 'payee', state: 'proposed', payeePub: '03'.padEnd(66, 'b') })
    const payeePub = '03'.padEnd(66, 'b')
    out.push({ ...t, role: 'payer', state: 'funding', payeePub, step: 'accepted' })
    out.push({ ...t, role: 'payer', state: 'funding', payeePub, step: 'built', built })
    out.push({ ...t, role: 'payer', state: 'funding', payeePub, step: 'refund-signed', built, refundPayeeSig: 'sig' })
    out.push({ ...t, role: 'payer', state: 'funding', payeePub, step: 'broadcast', built, refundPayeeSig: 'sig' })
    out.push({ ...t, role: 'payee', state: 'funding', payeePub, step: 'accepted' })
    out.push({ ...t, role: 'payee', state: 'funding', payeePub, step: 'refund-signed', funding: outpoint, payerAddress: 'mpayer' })
    for (const seq of [0, 5]) {
      for (const fundingHeight of [null, 900]) {
        const live = { ...t, payeePub, payerAddress: 'mpayer', payeeAddress: 'mpayee', funding: outpoint, fundingHex: '00', fundingHeight, seq, paidSats: seq * 100 }
        const spends: (Spend | null)[] = [null, { kind: 'settlement', txid: 'a'.repeat(64) }, { kind: 'refund', txid: 'b'.repeat(64) }]
        out.push({ ...live, role: 'payer', state: 'open', refundPayeeSig: 'sig' })
        out.push({ ...live, role: 'payee', state: 'open', lastSig: seq > 0 ? 'sig' : null })
        out.push({ ...live, role: 'payee', state: 'open', fundingHex: null, lastSig: seq > 0 ? 'sig' : null })
        for (const spend of spends) {
          out.push({ ...live, role: 'payer', state: 'closing', refundPayeeSig: 'sig', spend })
          out.push({ ...live, role: 'payee', state: 'closing', lastSig: seq > 0 ? 'sig' : null, spend })
        }
      }
    }
  }
  return out
}

const statuses: (TxStatus | null | undefined)[] = [undefined, null, { height: null, confirmations: 0 }, { height: 950, confirmations: 3 }]
const outputs: ChainFacts['fundingOutput'][] = [undefined, 'ok', 'mismatch']
const spends: (SpendFact | null | undefined)[] = [
  undefined,
  null,
  { kind: 'settlement', txid: 'a'.repeat(64), confirmations: 0, payeeSats: 500 },
  { kind: 'settlement', txid: 'a'.repeat(64), confirmations: 2, payeeSats: 500 },
  { kind: 'settlement', txid: 'd'.repeat(64), confirmations: 0, payeeSats: 300 },
  { kind: 'refund', txid: 'b'.repeat(64), confirmations: 0, payeeSats: 0 },
  { kind: 'refund', txid: 'b'.repeat(64), confirmations: 1, payeeSats: 0 },
]
const heights = [500, EXPIRY - MARGIN - 1, EXPIRY - MARGIN, EXPIRY - 1, EXPIRY, EXPIRY + 10]

function* cases(): Generator<[ChannelRecord, ChainFacts]> {
  for (const c of records()) {
    for (const height of heights) {
      for (const funding of statuses) {
        for (const fundingOutput of outputs) {
          for (const spend of spends) {
            const f: ChainFacts = { height, now: NOW }
            if (funding !== undefined) f.funding = funding
            if (fundingOutput !== undefined) f.fundingOutput = fundingOutput
            if (spend !== undefined) f.spend = spend
            yield [c, f]
          }
        }
      }
    }
  }
}

const refundSigned = (c: ChannelRecord): boolean =>
  c.role === 'payer' && ((c.state === 'funding' && (c.step === 'refund-signed' || c.step === 'broadcast')) || c.state === 'open' || c.state === 'closing')

describe('decideChainAction over every channel shape and chain fact', () => {
  const all = [...cases()].map(([c, f]) => ({ c, f, a: decideChainAction(c, f, policy) }))

  it('covers tens of thousands of cases', () => {
    expect(all.length).toBeGreaterThan(20_000)
  })

  it('opens only a payee channel whose funding output was verified, deep enough, unspent and early enough', () => {
    for (const { c, f, a } of all) {
      if (a.kind !== 'open') continue
      expect(c.role === 'payee' && c.state === 'funding' && c.step === 'refund-signed').toBe(true)
      expect(f.fundingOutput).toBe('ok')
      expect(f.spend).toBeNull()
      expect((f.funding?.confirmations ?? -1) >= REQUIRED).toBe(true)
      expect(f.height < EXPIRY - MARGIN).toBe(true)
    }
  })

  it('never fails a payer channel whose refund is signed (its coins may be in the 2-of-2)', () => {
    for (const { c, a } of all) if (refundSigned(c)) expect(a.kind).not.toBe('fail')
  })

  it('the payer always takes its refund from expiry on when nothing spends the funding, whatever its state says', () => {
    for (const { c, f, a } of all) {
      if (!refundSigned(c) || f.height < EXPIRY || f.spend !== null || !f.funding) continue
      if (c.state === 'open' || c.state === 'closing') {
        if (c.fundingHeight === null && f.funding === null) continue
      }
      expect({ state: c.state, action: a.kind }).toEqual({ state: c.state, action: 'refund' })
    }
  })

  it('the payee settles a paid channel inside the margin unless its settlement is already on chain', () => {
    for (const { c, f, a } of all) {
      if (c.role !== 'payee' || (c.state !== 'open' && c.state !== 'closing') || c.seq === 0) continue
      if (f.height < EXPIRY - MARGIN || f.spend) continue
      if (f.funding === null && c.fundingHeight === null && c.fundingHex !== null) continue
      if (c.state === 'closing' && c.spend?.kind === 'settlement' && f.spend === undefined) continue
      expect(a.kind).toBe('settle')
    }
  })

  it('a payee channel closing with nothing spent (restored from a backup) settles at once, at any height', () => {
    let seen = 0
    for (const { c, f, a } of all) {
      if (c.role !== 'payee' || c.state !== 'closing' || c.spend !== null || c.seq === 0 || f.spend) continue
      if (f.funding === null && c.fundingHeight === null && c.fundingHex !== null) continue
      expect({ height: f.height, action: a.kind }).toEqual({ height: f.height, action: 'settle' })
      seen++
    }
    expect(seen).toBeGreaterThan(0)
  })

  it('acts only within what each record may do', () => {
    const allowed: Record<ChainAction['kind'], (c: ChannelRecord) => boolean> = {
      wait: () => true,
      fail: (c) => c.state === 'proposed' || (c.state === 'funding' && !refundSigned(c)),
      'broadcast-funding': (c) => refundSigned(c) || (c.role === 'payee' && (c.state === 'open' || c.state === 'closing') && c.fundingHex !== null),
      'funding-seen': (c) => c.role === 'payer' && c.state === 'funding' && c.step === 'refund-signed',
      'ask-open': (c) => c.role === 'payer' && c.state === 'funding' && c.step === 'broadcast',
      open: (c) => c.role === 'payee' && c.state === 'funding' && c.step === 'refund-signed',
      'funding-height': (c) => (c.state === 'open' || c.state === 'closing') && c.fundingHeight === null,
      settle: (c) => c.role === 'payee' && (c.state === 'open' || c.state === 'closing') && c.seq > 0,
      refund: (c) => refundSigned(c),
      spent: (c) => c.state === 'open' || c.state === 'closing' || refundSigned(c),
    }
    for (const { c, a } of all) expect(`${c.role} ${c.state} ${a.kind}: ${allowed[a.kind](c)}`).toBe(`${c.role} ${c.state} ${a.kind}: true`)
  })

  it('records a spend only from what the chain showed, and calls it final only with its confirmations', () => {
    for (const { f, a } of all) {
      if (a.kind !== 'spent') continue
      expect(a.spend).toBe(f.spend)
      expect(a.final).toBe(a.spend.confirmations >= 1)
    }
  })

  it('is deterministic', () => {
    for (const { c, f, a } of all.slice(0, 2000)) expect(decideChainAction(c, f, policy)).toEqual(a)
  })
})

describe('decideChainAction on the attacks of issue 15', () => {
  const t = terms(true)
  const payeePub = '03'.padEnd(66, 'b')
  const bound: ChannelRecord = { ...t, role: 'payee', state: 'funding', payeePub, step: 'refund-signed', funding: outpoint, payerAddress: 'mpayer' }

  it('a payee never opens on a txid that pays something else, however it exists on chain', () => {
    expect(decideChainAction(bound, { height: 500, now: NOW, funding: { height: 950, confirmations: 50 }, fundingOutput: 'mismatch', spend: null }, policy)).toEqual({ kind: 'fail', reason: 'funding-mismatch' })
  })

  it('a payee waits for its confirmations, then opens', () => {
    expect(decideChainAction(bound, { height: 500, now: NOW, funding: { height: null, confirmations: 0 }, fundingOutput: 'ok', spend: null }, policy)).toEqual({ kind: 'wait' })
    expect(decideChainAction(bound, { height: 500, now: NOW, funding: { height: 500, confirmations: 1 }, fundingOutput: 'ok', spend: null }, policy)).toEqual({ kind: 'open' })
  })

  it('a funding never seen expires; a funding seen too late is not opened', () => {
    expect(decideChainAction({ ...bound, updatedAt: NOW - TIMEOUT }, { height: 500, now: NOW, funding: null }, policy)).toEqual({ kind: 'fail', reason: 'proposal-expired' })
    expect(decideChainAction(bound, { height: EXPIRY - MARGIN, now: NOW, funding: { height: 990, confirmations: 5 }, fundingOutput: 'ok', spend: null }, policy)).toEqual({ kind: 'fail', reason: 'funding-timeout' })
  })

  it('a payer whose payee claimed a settlement that does not exist still takes its refund at expiry', () => {
    const closing: ChannelRecord = {
      ...t, role: 'payer', state: 'closing', payeePub, payerAddress: 'mpayer', payeeAddress: 'mpayee', funding: outpoint, fundingHex: '00', fundingHeight: 900, seq: 3,
      paidSats: 300, refundPayeeSig: 'sig', spend: { kind: 'settlement', txid: 'e'.repeat(64) },
    }
    expect(decideChainAction(closing, { height: EXPIRY - 1, now: NOW, spend: null }, policy)).toEqual({ kind: 'wait' })
    expect(decideChainAction(closing, { height: EXPIRY, now: NOW, spend: null }, policy)).toEqual({ kind: 'refund' })
  })

  it('a payer whose payee never opened takes its refund at expiry', () => {
    const waiting: ChannelRecord = { ...t, role: 'payer', state: 'funding', payeePub, step: 'broadcast', built, refundPayeeSig: 'sig' }
    expect(decideChainAction(waiting, { height: 500, now: NOW, funding: { height: 450, confirmations: 51 } }, policy)).toEqual({ kind: 'ask-open' })
    expect(decideChainAction(waiting, { height: EXPIRY, now: NOW, funding: { height: 450, confirmations: 551 }, spend: null }, policy)).toEqual({ kind: 'refund' })
  })

  it('a payer interrupted before its refund was stored undoes the step; one after it never fails', () => {
    expect(decideChainAction({ ...t, role: 'payer', state: 'funding', payeePub, step: 'built', built }, { height: 500, now: NOW }, policy)).toEqual({ kind: 'fail', reason: 'interrupted' })
    expect(decideChainAction({ ...t, role: 'payer', state: 'funding', payeePub, step: 'refund-signed', built, refundPayeeSig: 'sig' }, { height: 500, now: NOW, funding: null }, policy)).toEqual({ kind: 'broadcast-funding' })
  })
})

describe('lookupsFor', () => {
  it('an open channel with a mined funding is looked at once per block, and every round near expiry or while closing', () => {
    const c = records().find((r) => r.state === 'open' && r.role === 'payer' && r.fundingHeight !== null)!
    expect(lookupsFor(c, 500, 500, policy)).toEqual({ funding: false, fundingOutput: false, spend: false })
    expect(lookupsFor(c, 501, 500, policy)).toEqual({ funding: false, fundingOutput: false, spend: true })
    expect(lookupsFor(c, EXPIRY - MARGIN, EXPIRY - MARGIN, policy).spend).toBe(true)
  })

  it('nothing is looked up for a proposal, however many a flood brings', () => {
    for (const c of records().filter((r) => r.state === 'proposed')) expect(lookupsFor(c, 500, undefined, policy)).toEqual({ funding: false, fundingOutput: false, spend: false })
  })
})
