// Daemons (real processes, real devnet process) facing a peer that speaks the channel wire
// from its own encoder and lies, floods and races on purpose. Every test ends where the
// coins are: the owner's coins move only as the owner signed, and a payer always gets
// back what it did not pay.
import { lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Hash, Utils } from '@bsv/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DevnetProc, startDevnet, waitFor } from '../helpers/processes.js'
import { type Hook, PayeeBrain, PayerChannel, outcome, randomChannelId, result, strangerSig } from './actors.js'
import { DevnetClient, Key, type Outpoint, buildFunding, channelFees, completeMultisig, highSTwin, isLowSDer, multisigScript, p2pkh, refundTx, signInput } from './chain.js'
import { type ChannelView, CountingProxy, type TestDaemon, balance, call, channel, directAddr, ok, settledBalance, startTestDaemon, walletAddresses, walletTransactions } from './daemons.js'
import type { WalletTransaction } from '../../shared/contract/wallet.js'
import { HostilePeer, type WireLink } from './hostile-peer.js'
import { type WireAnswer, type WireRequest, concat, encode, frameBytes, varint } from './wire.js'

const FEES = channelFees(100)
const randomTxid = (): string => Buffer.from(Hash.sha256(Array.from(Buffer.from(randomChannelId())))).toString('hex')

const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc
let chain: DevnetClient
/** The payee for hostile payers (default limits but 24 proposals a peer, for the 20 at once). */
let payee: TestDaemon
/** A payee whose proposals expire after 2 s, behind a proxy that counts its chain look-ups. */
let flood: TestDaemon
let floodProxy: CountingProxy
/** The payer of the 20 concurrent opens. */
let payer1: TestDaemon
/** The payer facing hostile payees (tests 3, 4, 6). */
let payer2: TestDaemon

async function hostileTo(d: TestDaemon): Promise<HostilePeer> {
  const p = await HostilePeer.start()
  cleanups.push(() => p.stop())
  await p.connect(await directAddr(d))
  return p
}

async function fundDaemon(d: TestDaemon, coins: number, sats: number): Promise<void> {
  const { address } = await ok<{ address: string }>(d, 'getWallet')
  for (let i = 0; i < coins; i++) await chain.faucet(address, sats)
  await waitFor('wallet funded', async () => (await balance(d)) === coins * sats, 20_000, 100)
}

/** What a funding tx took from the payer's wallet: its inputs less its change (output 1). */
async function debitOf(fundingTxid: string): Promise<number> {
  const tx = (await chain.tx(fundingTxid))!
  const fee = await chain.feeOf(tx)
  return tx.outputs[0]!.satoshis! + fee
}

/** Mines until the chain's height is `height` (a refund locked at `height` is then final in the next block). */
async function mineTo(height: number): Promise<void> {
  const now = await chain.height()
  if (height > now) await chain.mine(height - now)
}

/** Records every state the daemon shows for these channels while a test runs. */
function watchStates(d: TestDaemon, ids: string[]): { seen: Map<string, string[]>; stop: () => Promise<void> } {
  const seen = new Map<string, string[]>(ids.map((id) => [id, []]))
  let running = true
  const loop = (async () => {
    for (let i = 0; running && i < 2000; i++) {
      for (const id of ids) {
        const c = await channel(d, id).catch(() => null)
        const states = seen.get(id)!
        if (c && states.at(-1) !== c.state) states.push(c.state)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  return {
    seen,
    stop: async () => {
      running = false
      await loop
    },
  }
}

beforeAll(async () => {
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill('SIGKILL'))
  chain = new DevnetClient(devnet.url)
  floodProxy = new CountingProxy(devnet.url)
  await floodProxy.start()
  cleanups.push(() => floodProxy.stop())
  const start = async (chainUrl: string, channels: Record<string, unknown> = {}): Promise<TestDaemon> => {
    const d = await startTestDaemon(chainUrl, channels)
    // Run in reverse: the daemon is killed before its dir is removed.
    cleanups.push(d.remove, () => d.kill('SIGKILL'))
    return d
  }
  ;[payee, flood, payer1, payer2] = await Promise.all([
    start(devnet.url, { maxPendingProposalsPerPeer: 24 }),
    start(floodProxy.url, { proposalTimeoutMs: 2000, maxPendingProposals: 20, chainPollMs: 200 }),
    start(devnet.url),
    start(devnet.url),
  ])
  await Promise.all([fundDaemon(payer1, 22, 30_000), fundDaemon(payer2, 10, 100_000)])
}, 90_000)

afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
}, 60_000)

describe('the harness', () => {
  it('signs low-S strict DER, and its high-S twin is told apart', () => {
    for (let i = 0; i < 40; i++) {
      const sig = strangerSig()
      expect(isLowSDer(sig)).toBe(true)
      expect(isLowSDer(highSTwin(sig))).toBe(false)
    }
  })
})

describe('a hostile payer facing a daemon payee', () => {
  it('1. an unrelated transaction named as funding never opens a channel, with or without `funded`', async () => {
    const h = await hostileTo(payee)
    const height = await chain.height()
    const addressesBefore = walletAddresses(payee)
    const balanceBefore = await balance(payee)
    const stranger = new Key()
    const fake: Outpoint = { txid: await chain.faucet(stranger.address, 5000), vout: 0 }

    const silent = new PayerChannel(h, payee.peerId, { capacitySats: 1_000_000, expiry: height + 100 })
    expect(result(await silent.propose()).decision).toBe('accepted')
    // The payee binds and signs before it looks at the chain (the spec's order): the refund of a fake funding is worthless.
    expect(outcome(await silent.signRefund(fake))).toBe('res')
    await waitFor('the silent one failed', async () => (await channel(payee, silent.id)).state === 'failed', 15_000, 100)

    const loud = new PayerChannel(h, payee.peerId, { capacitySats: 1_000_000, expiry: height + 100 })
    expect(result(await loud.propose()).decision).toBe('accepted')
    expect(outcome(await loud.signRefund(fake))).toBe('res')
    const funded = await loud.funded(fake)
    // Refused by its own look-up, or already failed by the chain watch a moment earlier.
    expect(['refused', 'unexpected']).toContain(outcome(funded))
    await waitFor('the loud one failed', async () => (await channel(payee, loud.id)).state === 'failed', 15_000, 100)

    for (const ch of [silent, loud]) {
      // A correctly signed state over the fake funding (to an address of our choosing: no payout address was ever given).
      const sig = ch.settlementSig(1000, { funding: fake, capacity: 1_000_000, settlementFee: ch.terms.settlementFeeSats, payeeAddress: new Key().address, payerAddress: ch.payout.address })
      const paid = await ch.ask({ t: 'pay', seq: 1, paidSats: 1000, sig })
      expect(paid.t).toBe('err')
      expect(await channel(payee, ch.id)).toMatchObject({ state: 'failed', failure: 'funding-mismatch', seq: 0, paidSats: 0, settlementTxid: null, payments: [] })
    }
    // The coins: the faucet's output is where it was, the payee's wallet neither gained nor issued anything.
    expect(await chain.spentBy(fake.txid, 0)).toBeNull()
    expect(await chain.output(fake.txid, 0)).toEqual({ satoshis: 5000, scriptHex: stranger.lock.toHex() })
    expect((await chain.unspent(stranger.address)).map((u) => [u.tx_hash, u.tx_pos, u.value])).toEqual([[fake.txid, 0, 5000]])
    expect(await balance(payee)).toBe(balanceBefore)
    expect(walletAddresses(payee)).toEqual(addressesBefore)
  }, 60_000)

  it('2a. twenty proposals at once get twenty keys; one funding output named for two channels binds one', async () => {
    const h = await hostileTo(payee)
    const height = await chain.height()
    // Our fee formula is the daemon's: one sat off either fee, or a rate below its own, is refused.
    const probe = new PayerChannel(h, payee.peerId, { capacitySats: 30_000, expiry: height + 100 })
    expect(outcome(await probe.propose({ settlementFeeSats: probe.terms.settlementFeeSats + 1 }))).toBe('refused')
    expect(outcome(await probe.propose({ refundFeeSats: probe.terms.refundFeeSats - 1 }))).toBe('refused')
    expect(outcome(await probe.propose({ feeRate: 99, ...channelFees(99) }))).toBe('refused')
    expect(outcome(await probe.propose({ feeRate: 250, ...channelFees(250) }))).toBe('res')
    // Terms the payee cannot live with: a capacity that does not cover both fees, an expiry inside the close margin.
    const terms = (t: { capacitySats?: number; expiry?: number }): PayerChannel => new PayerChannel(h, payee.peerId, { capacitySats: t.capacitySats ?? 30_000, expiry: t.expiry ?? height + 100 })
    expect(outcome(await terms({ capacitySats: FEES.settlementFeeSats + FEES.refundFeeSats + 1 }).propose())).toBe('refused')
    expect(outcome(await terms({ expiry: height + 6 }).propose())).toBe('refused')
    expect(outcome(await terms({ expiry: height + 7 }).propose())).toBe('res')
    const chans = Array.from({ length: 20 }, () => new PayerChannel(h, payee.peerId, { capacitySats: 30_000, expiry: height + 100 }))
    const answers = await Promise.all(chans.map((c) => c.propose()))
    expect(answers.map(outcome)).toEqual(Array(20).fill('res'))
    const keys = chans.map((c) => c.payeePub)
    expect(new Set(keys).size).toBe(20)
    expect(keys.every((k) => /^0[23][0-9a-f]{64}$/.test(k ?? ''))).toBe(true)

    const [a, b, c, d] = chans as [PayerChannel, PayerChannel, PayerChannel, PayerChannel]
    const coinA = await chain.coin(new Key(), 40_000)
    const fundingA = buildFunding({ coins: [coinA], capacity: 30_000, payerPubHex: a.terms.payerPub, payeePubHex: a.payeePub!, change: coinA.key.address })
    const outA = { txid: fundingA.txid, vout: 0 }
    const sigA = String(result(await a.signRefund(outA)).sig)
    expect(a.refundSigValid(sigA, outA)).toBe(true)
    expect(outcome(await b.signRefund(outA))).toBe('conflict')

    // The same race, with both requests in flight at once: exactly one binds.
    const coinC = await chain.coin(new Key(), 40_000)
    const outC = { txid: buildFunding({ coins: [coinC], capacity: 30_000, payerPubHex: c.terms.payerPub, payeePubHex: c.payeePub!, change: coinC.key.address }).txid, vout: 0 }
    const raced = (await Promise.all([c.signRefund(outC), d.signRefund(outC)])).map(outcome).sort()
    expect(raced).toEqual(['conflict', 'res'])

    expect((await chain.broadcast(fundingA.hex)).ok).toBe(true)
    expect(result(await a.funded(outA)).state).toBe('open')
    expect(outcome(await b.funded(outA))).toBe('unexpected')
    expect(await channel(payee, a.id)).toMatchObject({ state: 'open', fundingTxid: outA.txid })
    expect(await channel(payee, b.id)).toMatchObject({ state: 'funding', step: 'accepted', fundingTxid: null })
    const bound = await Promise.all([channel(payee, c.id), channel(payee, d.id)])
    expect(bound.map((v) => v.fundingTxid).sort()).toEqual([null, outC.txid].sort())

    // The coins: A's output holds the capacity in A's 2-of-2, unspent; the refund we hold for it is valid.
    expect(await chain.output(outA.txid, 0)).toEqual({ satoshis: 30_000, scriptHex: multisigScript(a.terms.payerPub, a.payeePub!).toHex() })
    expect(await chain.spentBy(outA.txid, 0)).toBeNull()
  }, 60_000)
})

/**
 * A payee's frames a payer in `open` or `closing` never expects (the spec: "nothing"), and
 * the payer's own kinds turned back at it: each refused, the payer's channel unchanged.
 */
async function unsolicitedToPayer(h: HostilePeer, channelId: string, state: 'open' | 'closing'): Promise<void> {
  const link = await h.link(payer2.peerId)
  const before = await channel(payer2, channelId)
  expect(before.state).toBe(state)
  const terms = { capacitySats: before.capacitySats, expiry: before.expiry, feeRate: 100, ...FEES, payerPub: new Key().pubHex }
  const frames: WireRequest[] = [
    { t: 'accept', channelId, payeePub: new Key().pubHex },
    { t: 'reject', channelId },
    { t: 'propose', channelId, ...terms },
    { t: 'signRefund', channelId, fundingTxid: before.fundingTxid!, fundingVout: 0, payerAddress: new Key().address },
    { t: 'funded', channelId, fundingTxid: before.fundingTxid!, fundingVout: 0 },
    { t: 'pay', channelId, seq: before.seq + 1, paidSats: before.paidSats + 1, sig: strangerSig() },
    { t: 'sync', channelId },
    { t: 'close', channelId, seq: before.seq, paidSats: before.paidSats },
  ]
  const got: string[] = []
  for (const f of frames) got.push(`${f.t}: ${outcome(await link.request(f))}`)
  expect(got.slice(0, 2)).toEqual(['accept: unexpected', 'reject: unexpected'])
  expect(got.filter((g) => g.endsWith(': res'))).toEqual([])
  expect(await channel(payer2, channelId)).toEqual(before)
}

describe('a daemon payer facing a hostile payee', () => {
  it('2b. twenty openChannel calls at once: twenty payer keys, twenty funding outputs, the wallet debited for exactly those', async () => {
    const h = await hostileTo(payer1)
    const brain = new PayeeBrain(chain)
    h.script = brain.script
    const before = await balance(payer1)
    const opened = await Promise.all(Array.from({ length: 20 }, () => call<ChannelView>(payer1, 'openChannel', { peerId: h.peerId, capacitySats: 20_000 })))
    expect(opened.map((r) => (r.ok ? r.result.state : `${r.code}: ${r.message}`))).toEqual(Array(20).fill('open'))
    const views = opened.map((r) => (r as { result: ChannelView }).result)
    const payerKeys = [...brain.channels.values()].map((c) => c.terms.payerPub)
    expect(new Set(payerKeys).size).toBe(20)
    const txids = views.map((v) => v.fundingTxid!)
    expect(new Set(txids).size).toBe(20)

    let debit = 0
    for (const v of views) {
      const ch = brain.channels.get(v.id)!
      expect(ch.funding).toEqual({ txid: v.fundingTxid, vout: 0 })
      expect(await chain.output(v.fundingTxid!, 0)).toEqual({ satoshis: 20_000, scriptHex: multisigScript(ch.terms.payerPub, ch.key.pubHex).toHex() })
      expect(await chain.spentBy(v.fundingTxid!, 0)).toBeNull()
      debit += await debitOf(v.fundingTxid!)
    }
    expect(debit).toBeGreaterThan(20 * 20_000)
    expect(debit).toBeLessThan(20 * 20_000 + 20 * 1000)
    expect(await settledBalance(payer1, before - debit)).toBe(before - debit)
  }, 60_000)

  it('3. an accept before the answer is refused, the key of the answer is bound; unopened coins come back at expiry', async () => {
    const h = await hostileTo(payer2)
    const brain = new PayeeBrain(chain)
    h.script = brain.script
    const before = await balance(payer2)
    const height = await chain.height()
    const expiry = height + 8
    const accepted0 = (await chain.status()).accepted

    // One: an unsolicited accept with P1, then the answer with P2, a slow refund signature, never open.
    const unsolicited: { answer?: Promise<WireAnswer> } = {}
    const p1 = new Key()
    brain.hooks.propose = async (req, ch) => {
      if (ch) return undefined
      const link = await h.link(payer2.peerId)
      unsolicited.answer = link.request({ t: 'accept', channelId: req.channelId, payeePub: p1.pubHex }, { timeoutMs: 30_000 })
      return { result: { decision: 'accepted', payeePub: brain.adopt(req, h.peerId).key.pubHex } }
    }
    brain.hooks.signRefund = async () => {
      await new Promise((r) => setTimeout(r, 700))
      return undefined
    }
    brain.hooks.funded = () => ({ result: { state: 'waiting', confirmations: 0, required: 1000 } })
    const one = await ok<ChannelView>(payer2, 'openChannel', { peerId: h.peerId, capacitySats: 50_000, expiry })
    expect(one).toMatchObject({ state: 'funding', step: 'broadcast' })
    expect(unsolicited.answer).toBeDefined()
    expect(outcome(await unsolicited.answer!)).toBe('unexpected')
    const p2 = brain.channels.get(one.id)!.key

    // Two: pending, then two accepts at once with different keys; the second finds the key bound.
    const k1 = new Key()
    const k2 = new Key()
    const sent: { accepts: Promise<WireAnswer>[] } = { accepts: [] }
    // The key bound is the one whose accept was answered first with a result. Only that answer
    // is awaited: the other may be queued behind the funding, which waits for our signature.
    const bound = (): Promise<Key> =>
      new Promise<Key>((resolve, reject) => {
        sent.accepts.forEach((p, i) => void p.then((a) => a.t === 'res' && resolve(i === 0 ? k1 : k2), reject))
        setTimeout(() => reject(new Error('no accept was answered with a result')), 20_000).unref()
      })
    brain.hooks.propose = (req, ch) => {
      if (ch) return undefined
      brain.adopt(req, h.peerId)
      return { result: { decision: 'pending' } }
    }
    brain.hooks.signRefund = async (_req, ch) => {
      ch!.key = await bound()
      return undefined
    }
    brain.hooks.funded = () => ({ error: 'unavailable', message: 'not today' })
    const two = await ok<ChannelView>(payer2, 'openChannel', { peerId: h.peerId, capacitySats: 50_000, expiry })
    expect(two).toMatchObject({ state: 'proposed', step: 'awaiting-accept' })
    // Another peer cannot accept it for the payee: answered as for a channel that does not exist.
    const mallory = await hostileTo(payer2)
    expect(outcome(await mallory.ask(payer2.peerId, { t: 'accept', channelId: two.id, payeePub: new Key().pubHex }))).toBe('unknown_channel')
    expect(await channel(payer2, two.id)).toMatchObject({ state: 'proposed', step: 'awaiting-accept' })
    const link = await h.link(payer2.peerId)
    sent.accepts = [k1, k2].map((k) => link.request({ t: 'accept', channelId: two.id, payeePub: k.pubHex }, { timeoutMs: 30_000 }))
    const boundKey = await bound()
    expect((await Promise.all(sent.accepts)).map(outcome).sort()).toEqual(['res', 'unexpected'])
    await waitFor('two funded', async () => (await channel(payer2, two.id)).step === 'broadcast', 15_000, 100).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(await channel(payer2, two.id))}`)
    })

    // Exactly one funding each, paying the 2-of-2 with the bound key.
    expect((await chain.status()).accepted - accepted0).toBe(2)
    const oneView = await channel(payer2, one.id)
    const twoView = await channel(payer2, two.id)
    const oneTx = (await chain.tx(oneView.fundingTxid!))!
    const twoTx = (await chain.tx(twoView.fundingTxid!))!
    const payerOf = (id: string): string => brain.channels.get(id)!.terms.payerPub
    expect(oneTx.outputs[0]).toMatchObject({ satoshis: 50_000 })
    expect(oneTx.outputs[0]!.lockingScript.toHex()).toBe(multisigScript(payerOf(one.id), p2.pubHex).toHex())
    expect(oneTx.outputs.every((o) => o.lockingScript.toHex() !== multisigScript(payerOf(one.id), p1.pubHex).toHex())).toBe(true)
    expect(twoTx.outputs[0]!.lockingScript.toHex()).toBe(multisigScript(payerOf(two.id), boundKey.pubHex).toHex())

    // Never failed while its coins are in the 2-of-2; the refund brings them back at expiry.
    const watch = watchStates(payer2, [one.id, two.id])
    try {
      await mineTo(expiry)
      await waitFor('both refunds out', async () => (await channel(payer2, one.id)).refundTxid !== null && (await channel(payer2, two.id)).refundTxid !== null, 20_000, 100)
      await chain.mine(1)
      await waitFor('both refunded', async () => (await channel(payer2, one.id)).state === 'refunded' && (await channel(payer2, two.id)).state === 'refunded', 20_000, 100)
    } finally {
      await watch.stop()
    }
    for (const states of watch.seen.values()) expect(states).not.toContain('failed')
    let expected = before
    for (const v of [await channel(payer2, one.id), await channel(payer2, two.id)]) {
      expect(await chain.spentBy(v.fundingTxid!, 0)).toMatchObject({ txid: v.refundTxid })
      const refund = (await chain.tx(v.refundTxid!))!
      expect(refund.outputs.map((o) => o.satoshis)).toEqual([50_000 - FEES.refundFeeSats])
      expect(refund.lockTime).toBe(expiry)
      expected += -(await debitOf(v.fundingTxid!)) + 50_000 - FEES.refundFeeSats
    }
    expect(await settledBalance(payer2, expected)).toBe(expected)
  }, 90_000)

  it('3b. answers a payer cannot build on (a bad key, its own key, a refund by another key, over other terms, or high-S) move no coin', async () => {
    const h = await hostileTo(payer2)
    const brain = new PayeeBrain(chain)
    h.script = brain.script
    const before = await balance(payer2)
    const accepted0 = (await chain.status()).accepted
    const expiry = (await chain.height()) + 50
    const outpointOf = (req: Record<string, unknown>): Outpoint => ({ txid: String(req.fundingTxid), vout: Number(req.fundingVout) })
    const lies: { name: string; hooks: Partial<Record<'propose' | 'signRefund', Hook>> }[] = [
      { name: 'a key that is no point', hooks: { propose: () => ({ result: { decision: 'accepted', payeePub: `02${'ff'.repeat(32)}` } }) } },
      { name: 'the payer’s own key', hooks: { propose: (req) => ({ result: { decision: 'accepted', payeePub: String(req.payerPub) } }) } },
      { name: 'an answer outside the schema', hooks: { propose: () => ({ result: { decision: 'accepted', payeePub: new Key().pubHex, extra: true } }) } },
      { name: 'a refund signed by another key', hooks: { signRefund: (req, ch) => ({ result: { sig: brain.signRefund({ ...ch!, key: new Key() }, outpointOf(req), String(req.payerAddress)) } }) } },
      {
        name: 'a refund over another lock time',
        hooks: { signRefund: (req, ch) => ({ result: { sig: brain.signRefund({ ...ch!, terms: { ...ch!.terms, expiry: ch!.terms.expiry - 1 } }, outpointOf(req), String(req.payerAddress)) } }) },
      },
      { name: 'a refund signature with high S', hooks: { signRefund: (req, ch) => ({ result: { sig: highSTwin(brain.signRefund(ch!, outpointOf(req), String(req.payerAddress))) } }) } },
    ]
    const got: string[] = []
    for (const lie of lies) {
      brain.hooks = lie.hooks
      const known = new Set((await ok<ChannelView[]>(payer2, 'listChannels')).map((c) => c.id))
      const r = await call<ChannelView>(payer2, 'openChannel', { peerId: h.peerId, capacitySats: 30_000, expiry })
      const fresh = (await ok<ChannelView[]>(payer2, 'listChannels')).filter((c) => !known.has(c.id))
      got.push(`${lie.name}: ${r.ok ? `opened (${r.result.state})` : 'refused'}; ${fresh.map((c) => `${c.state}/${c.failure}`).join(', ')}`)
      // A funding built for a refund that did not hold never left.
      for (const c of fresh) if (c.fundingTxid) expect(await chain.txHex(c.fundingTxid)).toBeNull()
    }
    expect(got).toEqual(lies.map((l) => `${l.name}: refused; failed/peer-refused`))
    expect((await chain.status()).accepted - accepted0).toBe(0)
    expect(await settledBalance(payer2, before)).toBe(before)
  }, 60_000)

  it('3c. a payee key that is no curve point is refused when answered, before coins are reserved or a funding is built', async () => {
    const h = await hostileTo(payer2)
    const brain = new PayeeBrain(chain)
    h.script = brain.script
    // The right shape, but x = 2^256 − 1 lies above the field prime: no point has it.
    const offCurve = `02${'ff'.repeat(32)}`
    brain.hooks.propose = (req) => {
      brain.adopt(req, h.peerId)
      return { result: { decision: 'accepted', payeePub: offCurve } }
    }
    const addresses = walletAddresses(payer2)
    const r = await call<ChannelView>(payer2, 'openChannel', { peerId: h.peerId, capacitySats: 30_000, expiry: (await chain.height()) + 50 })
    const failed = (await ok<ChannelView[]>(payer2, 'listChannels')).find((c) => brain.channels.has(c.id))
    // The spec's fields: "*Pub a compressed secp256k1 key". Nothing may be built on one that is not.
    expect({
      opened: r.ok,
      state: failed?.state,
      failure: failed?.failure,
      fundingBuilt: failed?.fundingTxid !== null,
      askedOfUs: h.served.map((q) => ('t' in q ? q.t : 'bad')),
      addressesIssued: walletAddresses(payer2).issued - addresses.issued,
    }).toEqual({ opened: false, state: 'failed', failure: 'peer-refused', fundingBuilt: false, askedOfUs: ['propose'], addressesIssued: 0 })
    // Whatever it built, nothing left: no funding reached the chain.
    if (failed?.fundingTxid) expect(await chain.txHex(failed.fundingTxid)).toBeNull()
  }, 30_000)

  it('4. fake "closed" answers are refused and the refund returns the coins; a real settlement on chain closes at its amounts', async () => {
    const h = await hostileTo(payer2)
    const hd = await hostileTo(payer2)
    const brain = new PayeeBrain(chain)
    h.script = brain.script
    hd.script = brain.script
    const before = await balance(payer2)
    const expiry = (await chain.height()) + 8
    const unrelated = await chain.faucet(new Key().address, 7000)
    const open = async (peer: HostilePeer): Promise<ChannelView> => {
      const v = await ok<ChannelView>(payer2, 'openChannel', { peerId: peer.peerId, capacitySats: 40_000, expiry })
      for (const sats of [1000, 2000, 3000]) await ok(payer2, 'pay', { channelId: v.id, sats })
      return v
    }
    const [a, b, c] = [await open(h), await open(h), await open(h)]
    const d = await open(hd)
    for (const v of [a, b, c, d]) expect(brain.channels.get(v.id)!.pays.map((p) => p.paidSats)).toEqual([1000, 3000, 6000])
    await unsolicitedToPayer(h, a.id, 'open')
    const lies: [ChannelView, string][] = [
      [a, unrelated],
      [b, randomTxid()],
      [c, c.fundingTxid!],
    ]
    for (const [v, txid] of lies) brain.perChannel.set(v.id, { close: () => ({ result: { settlementTxid: txid } }) })
    const held: { settlement?: { hex: string; txid: string } } = {}
    brain.perChannel.set(d.id, {
      close: async (_req, ch) => {
        const settlement = brain.latestSettlement(ch!)
        held.settlement = settlement
        expect((await chain.broadcast(settlement.hex)).ok).toBe(true)
        return { silence: true }
      },
    })

    const closes = await Promise.all([a, b, c, d].map((v) => call<ChannelView>(payer2, 'closeChannel', { channelId: v.id })))
    expect(closes.map((r) => (r.ok ? 'ok' : r.code)).slice(0, 3)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(closes[3]!.ok).toBe(false)
    for (const v of [a, b, c]) {
      const now = await channel(payer2, v.id)
      expect(now).toMatchObject({ state: 'closing', settlementTxid: null, refundTxid: null, seq: 3, paidSats: 6000 })
      expect(now.problem?.code).toBe('peer-misbehaved')
    }
    await unsolicitedToPayer(h, a.id, 'closing')

    // (d): the settlement we broadcast is what the payer records once the chain shows it.
    await chain.mine(1)
    await waitFor('d closed', async () => (await channel(payer2, d.id)).state === 'closed', 20_000, 100)
    expect(await channel(payer2, d.id)).toMatchObject({ state: 'closed', settlementTxid: held.settlement!.txid, seq: 3, paidSats: 6000, refundTxid: null })
    expect((await chain.tx(held.settlement!.txid))!.outputs.map((o) => o.satoshis)).toEqual([6000, 40_000 - 6000 - FEES.settlementFeeSats])

    // (a, b, c): the refunds at expiry; the payee, who lied, gets nothing.
    await mineTo(expiry)
    await waitFor('refunds out', async () => (await Promise.all([a, b, c].map((v) => channel(payer2, v.id)))).every((v) => v.refundTxid !== null), 20_000, 100)
    await chain.mine(1)
    await waitFor('refunded', async () => (await Promise.all([a, b, c].map((v) => channel(payer2, v.id)))).every((v) => v.state === 'refunded'), 20_000, 100)
    let expected = before
    for (const v of [a, b, c]) {
      const now = await channel(payer2, v.id)
      expect(now.settlementTxid).toBeNull()
      expect(await chain.spentBy(v.fundingTxid!, 0)).toMatchObject({ txid: now.refundTxid })
      expect((await chain.tx(now.refundTxid!))!.outputs.map((o) => o.satoshis)).toEqual([40_000 - FEES.refundFeeSats])
      expected += -(await debitOf(v.fundingTxid!)) + 40_000 - FEES.refundFeeSats
    }
    expect(await chain.spentBy(d.fundingTxid!, 0)).toMatchObject({ txid: held.settlement!.txid })
    expected += -(await debitOf(d.fundingTxid!)) + 40_000 - 6000 - FEES.settlementFeeSats
    expect(await settledBalance(payer2, expected)).toBe(expected)
  }, 90_000)

  it('6. a payee that refuses a state then lies in `sync` books nothing unsigned, stops payments, and is paid nothing it was not signed', async () => {
    const h = await hostileTo(payer2)
    const brain = new PayeeBrain(chain)
    h.script = brain.script
    const before = await balance(payer2)
    const expiry = (await chain.height()) + 8
    const v = await ok<ChannelView>(payer2, 'openChannel', { peerId: h.peerId, capacitySats: 40_000, expiry })
    expect(await ok(payer2, 'pay', { channelId: v.id, sats: 1000 })).toMatchObject({ seq: 1, paidSats: 1000 })
    const lie = { seq: 1000, paidSats: 40_000 - FEES.settlementFeeSats }
    brain.perChannel.set(v.id, {
      pay: (req) => (Number(req.seq) >= 2 ? { error: 'unavailable', message: 'try later' } : undefined),
      sync: () => ({ result: lie }),
    })
    const second = await call(payer2, 'pay', { channelId: v.id, sats: 2000 })
    expect(second.ok).toBe(false)
    const third = await call(payer2, 'pay', { channelId: v.id, sats: 1 })
    expect(third.ok).toBe(false)
    const now = await channel(payer2, v.id)
    expect(now).toMatchObject({ state: 'open', seq: 1, paidSats: 1000 })
    expect(now.problem?.code).toBe('peer-misbehaved')

    // The payee holds the payer's signature over 3000 (seq 2, refused): it signs that and nothing more.
    const ch = brain.channels.get(v.id)!
    const held = ch.sigsSeen.find((s) => s.seq === 2)!
    expect(held.paidSats).toBe(3000)
    const forged = brain.settlementFor(ch, lie.paidSats, held.sig)
    expect(await chain.broadcast(forged.hex)).toMatchObject({ ok: false, title: 'script-failed' })

    const closed = await call(payer2, 'closeChannel', { channelId: v.id })
    expect(closed.ok).toBe(false)
    expect(await channel(payer2, v.id)).toMatchObject({ state: 'closing', seq: 1, paidSats: 1000, settlementTxid: null })
    await mineTo(expiry)
    await waitFor('refund out', async () => (await channel(payer2, v.id)).refundTxid !== null, 20_000, 100)
    await chain.mine(1)
    await waitFor('refunded', async () => (await channel(payer2, v.id)).state === 'refunded', 20_000, 100)
    const end = await channel(payer2, v.id)
    expect(await chain.spentBy(v.fundingTxid!, 0)).toMatchObject({ txid: end.refundTxid })
    expect((await chain.tx(end.refundTxid!))!.outputs.map((o) => o.satoshis)).toEqual([40_000 - FEES.refundFeeSats])
    const expected = before - (await debitOf(v.fundingTxid!)) + 40_000 - FEES.refundFeeSats
    expect(await settledBalance(payer2, expected)).toBe(expected)
  }, 60_000)

  it('6b. a payee whose signed settlement replaces the payer’s refund in the mempool: the payer’s books and wallet follow the chain', async () => {
    const h = await hostileTo(payer2)
    const brain = new PayeeBrain(chain)
    h.script = brain.script
    const before = await balance(payer2)
    const expiry = (await chain.height()) + 8
    const v = await ok<ChannelView>(payer2, 'openChannel', { peerId: h.peerId, capacitySats: 40_000, expiry })
    for (const sats of [1000, 2000]) await ok(payer2, 'pay', { channelId: v.id, sats })
    brain.perChannel.set(v.id, { close: () => ({ result: { settlementTxid: randomTxid() } }) })
    expect((await call(payer2, 'closeChannel', { channelId: v.id })).ok).toBe(false)
    await mineTo(expiry)
    await waitFor('refund out', async () => (await channel(payer2, v.id)).refundTxid !== null, 20_000, 100)
    const refundTxid = (await channel(payer2, v.id)).refundTxid!
    // A miner that prefers the payee's transaction: the latest state the payer signed (3000) evicts the refund.
    const settlement = brain.latestSettlement(brain.channels.get(v.id)!)
    const replaced = await chain.replace(settlement.hex)
    expect(replaced.status).toBe(200)
    expect(replaced.body.dropped).toEqual([refundTxid])
    expect(await chain.txHex(refundTxid)).toBeNull()
    await chain.mine(1)
    await waitFor('closed by the settlement', async () => (await channel(payer2, v.id)).state === 'closed', 20_000, 100)
    expect(await channel(payer2, v.id)).toMatchObject({ state: 'closed', seq: 2, paidSats: 3000, settlementTxid: settlement.txid, refundTxid: null })
    expect(await chain.spentBy(v.fundingTxid!, 0)).toMatchObject({ txid: settlement.txid })
    const expected = before - (await debitOf(v.fundingTxid!)) + 40_000 - 3000 - FEES.settlementFeeSats
    expect(await settledBalance(payer2, expected)).toBe(expected)
  }, 60_000)
})

describe('limits and addresses', () => {
  it('5. a flood of 1,000 proposals stores at most the per-peer limit, issues no address, barely asks the chain; several peers meet the total limit', async () => {
    const h = await hostileTo(flood)
    const height = await chain.height()
    const link = await h.link(flood.peerId)
    const addressesBefore = walletAddresses(flood)
    // One payer key for the lot: deriving a thousand public keys in JavaScript would take longer than the flood.
    const payerPub = new Key().pubHex
    const propose = async (l: WireLink): Promise<{ id: string; code: string }> => {
      const id = randomChannelId()
      const a = await l.request({ t: 'propose', channelId: id, capacitySats: 30_000, expiry: height + 100, feeRate: 100, ...FEES, payerPub }, { timeoutMs: 20_000 })
      return { id, code: outcome(a) }
    }
    const views = async (): Promise<ChannelView[]> => (await ok<ChannelView[]>(flood, 'listChannels')).filter((c) => c.role === 'payee')
    const pending = (all: ChannelView[], peerId?: string): ChannelView[] => all.filter((c) => (c.state === 'proposed' || c.state === 'funding') && (!peerId || c.peerId === peerId))
    /** The stored ones that are still pending, and those the proposal timeout already ended. */
    const fate = async (ids: string[]): Promise<{ pending: number; expired: number; other: string[] }> => {
      const byId = new Map((await views()).map((c) => [c.id, c]))
      const out = { pending: 0, expired: 0, other: [] as string[] }
      for (const id of ids) {
        const c = byId.get(id)
        if (c && (c.state === 'proposed' || c.state === 'funding')) out.pending++
        else if (c?.state === 'failed' && c.failure === 'proposal-expired') out.expired++
        else out.other.push(`${id}: ${c?.state}/${c?.failure}`)
      }
      return out
    }
    /** The most proposals the daemon held at once (per peer and in all) while `run` ran. */
    const sampled = async <T>(peerIds: string[], run: () => Promise<T>): Promise<{ value: T; maxTotal: number; maxPerPeer: number }> => {
      let maxTotal = 0
      let maxPerPeer = 0
      let sampling = true
      const sampler = (async () => {
        for (let i = 0; sampling && i < 400; i++) {
          const all = pending(await views())
          maxTotal = Math.max(maxTotal, all.length)
          for (const p of peerIds) maxPerPeer = Math.max(maxPerPeer, all.filter((c) => c.peerId === p).length)
          await new Promise((r) => setTimeout(r, 50))
        }
      })()
      const value = await run()
      sampling = false
      await sampler
      return { value, maxTotal, maxPerPeer }
    }

    // The chain look-ups of a quiet second and a half, then of the same span with the flood in it.
    const quiet0 = floodProxy.snapshot()
    await new Promise((r) => setTimeout(r, 1500))
    const quiet = floodProxy.since(quiet0)
    const flood0 = floodProxy.snapshot()
    const started = Date.now()
    const first = await sampled([h.peerId], () => Promise.all(Array.from({ length: 1000 }, () => propose(link))))
    await new Promise((r) => setTimeout(r, Math.max(0, 1500 - (Date.now() - started))))
    const during = floodProxy.since(flood0)
    const storedIds = first.value.filter((a) => a.code === 'res').map((a) => a.id)
    expect(first.value.filter((a) => a.code !== 'res' && a.code !== 'limit')).toEqual([])
    const afterFlood = await fate(storedIds)
    // Stored beyond the limit only as earlier ones expired (none do while the flood lasts well under 2 s).
    expect(afterFlood.other).toEqual([])
    expect(afterFlood.pending).toBeLessThanOrEqual(8)
    expect(storedIds.length).toBeGreaterThanOrEqual(8)
    expect(storedIds.length - afterFlood.expired).toBeLessThanOrEqual(8)
    expect(first.maxPerPeer).toBeLessThanOrEqual(8)
    expect(walletAddresses(flood)).toEqual(addressesBefore)
    // A refused proposal asks the chain nothing, a stored one at most the (shared, cached) height.
    expect({ tx: during.tx ?? 0, spent: during.spent ?? 0 }).toEqual({ tx: 0, spent: 0 })
    expect(during.height ?? 0).toBeLessThanOrEqual((quiet.height ?? 0) + 5)
    expect(during.total).toBeLessThanOrEqual(quiet.total * 1.5 + 30)

    // They expire; then the peer may propose again, up to the limit.
    await waitFor('the flood expired', async () => pending(await views(), h.peerId).length === 0, 15_000, 200)
    expect(await fate(storedIds)).toEqual({ pending: 0, expired: storedIds.length, other: [] })
    const again = (await Promise.all(Array.from({ length: 9 }, () => propose(link)))).map((a) => a.code).sort()
    expect(again).toEqual(['limit', ...Array(8).fill('res')])
    await waitFor('the second round expired', async () => pending(await views()).length === 0, 15_000, 200)

    // Four peers at once: none above its own limit, all together not above the total (20).
    const peers = [h, await hostileTo(flood), await hostileTo(flood), await hostileTo(flood)]
    const links = await Promise.all(peers.map((p) => p.link(flood.peerId)))
    const many = await sampled(
      peers.map((p) => p.peerId),
      () => Promise.all(links.map((l) => Promise.all(Array.from({ length: 100 }, () => propose(l))))),
    )
    const all = many.value.flat()
    expect(all.filter((a) => a.code !== 'res' && a.code !== 'limit')).toEqual([])
    const storedAll = all.filter((a) => a.code === 'res').map((a) => a.id)
    const end = await fate(storedAll)
    expect(end.other).toEqual([])
    expect(storedAll.length).toBeGreaterThanOrEqual(20)
    expect(storedAll.length - end.expired).toBeLessThanOrEqual(20)
    expect(end.pending).toBeLessThanOrEqual(20)
    expect(many.maxTotal).toBeLessThanOrEqual(20)
    expect(many.maxPerPeer).toBeLessThanOrEqual(8)
    for (const [i, answers] of many.value.entries()) {
      const mine = answers.filter((a) => a.code === 'res').map((a) => a.id)
      expect(`${i}: ${mine.length - (await fate(mine)).expired <= 8}`).toBe(`${i}: true`)
    }
    expect(walletAddresses(flood)).toEqual(addressesBefore)
  }, 90_000)

  it('5b. a flood of control frames on one channel: sixteen wait their turn, the rest are told `busy`, nothing changes', async () => {
    const h = await hostileTo(payee)
    const ch = new PayerChannel(h, payee.peerId, { capacitySats: 30_000, expiry: (await chain.height()) + 100 })
    expect(result(await ch.propose()).decision).toBe('accepted')
    const coin = await chain.coin(new Key(), 40_000)
    const out = { txid: buildFunding({ coins: [coin], capacity: 30_000, payerPubHex: ch.terms.payerPub, payeePubHex: ch.payeePub!, change: coin.key.address }).txid, vout: 0 }
    expect(outcome(await ch.signRefund(out))).toBe('res')
    const before = await channel(payee, ch.id)
    const link = await h.link(payee.peerId)
    // `funded` for a funding the chain does not have: each one queued looks it up, so the queue fills.
    const answers = await Promise.all(Array.from({ length: 200 }, () => link.request({ t: 'funded', channelId: ch.id, fundingTxid: out.txid, fundingVout: 0 }, { timeoutMs: 30_000 })))
    const codes = answers.map(outcome)
    expect(codes.filter((c) => c !== 'res' && c !== 'busy')).toEqual([])
    expect(codes.filter((c) => c === 'busy').length).toBeGreaterThanOrEqual(100)
    expect(answers.flatMap((a) => (a.t === 'res' ? [a.result.state] : []))).toEqual(Array(codes.filter((c) => c === 'res').length).fill('waiting'))
    // The record is as it was; only the confirmations on display were looked up meanwhile.
    const record = ({ fundingConfirmations: _c, requiredConfirmations: _r, ...rest }: ChannelView & { fundingConfirmations?: unknown; requiredConfirmations?: unknown }): unknown => rest
    expect(record(await channel(payee, ch.id))).toEqual(record(before))
    expect(outcome(await ch.funded(out))).toBe('res')
  }, 60_000)

  it('7. a refund for a payer address with a bad checksum, of mainnet, or not P2PKH is refused and binds nothing', async () => {
    const h = await hostileTo(payee)
    const balanceBefore = await balance(payee)
    const ch = new PayerChannel(h, payee.peerId, { capacitySats: 30_000, expiry: (await chain.height()) + 100 })
    expect(result(await ch.propose()).decision).toBe('accepted')
    const coin = await chain.coin(new Key(), 40_000)
    const funding = buildFunding({ coins: [coin], capacity: 30_000, payerPubHex: ch.terms.payerPub, payeePubHex: ch.payeePub!, change: coin.key.address })
    const out = { txid: funding.txid, vout: 0 }
    const good = ch.payout.address
    const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
    const at = Math.floor(good.length / 2)
    const badChecksum = good.slice(0, at) + alphabet[(alphabet.indexOf(good[at]!) + 1) % alphabet.length] + good.slice(at + 1)
    expect(() => Utils.fromBase58Check(badChecksum)).toThrow()
    const p2sh = Utils.toBase58Check(Hash.hash160(Utils.toArray(ch.payout.pubHex, 'hex')), [0xc4])
    for (const address of [badChecksum, ch.payout.mainnetAddress, p2sh]) {
      expect(`${address}: ${outcome(await ch.signRefund(out, address))}`).toBe(`${address}: refused`)
      expect(await channel(payee, ch.id)).toMatchObject({ state: 'funding', step: 'accepted', fundingTxid: null })
    }
    // Nothing was bound: the same outpoint with a good address is signed.
    const sig = String(result(await ch.signRefund(out, good)).sig)
    expect(ch.refundSigValid(sig, out, good)).toBe(true)
    expect(await channel(payee, ch.id)).toMatchObject({ state: 'funding', step: 'refund-signed', fundingTxid: out.txid })
    expect(await chain.spentBy(coin.txid, 0)).toBeNull()
    expect(await balance(payee)).toBe(balanceBefore)
  }, 30_000)

  it('7b. a proposal whose payer key is no curve point is refused and stores nothing', async () => {
    const h = await hostileTo(payee)
    const ch = new PayerChannel(h, payee.peerId, { capacitySats: 30_000, expiry: (await chain.height()) + 100 })
    // The right shape, but x = 2^256 − 1 lies above the field prime: no point has it, and no 2-of-2 with it can ever be spent.
    const answer = await ch.propose({ payerPub: `02${'ff'.repeat(32)}` })
    const stored = await call<ChannelView>(payee, 'getChannel', { channelId: ch.id })
    expect({ answer: outcome(answer), stored: stored.ok ? `${stored.result.state}/${stored.result.step}` : stored.code }).toEqual({ answer: 'refused', stored: 'not_found' })
  }, 30_000)
})

// ---- 9. unsolicited and wrong frames in every state a hostile payer can drive a payee into ----

type StateName = 'none' | 'proposed' | 'accepted' | 'refund-signed' | 'open' | 'closing' | 'failed'
interface Row {
  state: StateName
  frame: string
  got: string
  want: string
  changed: boolean
}

describe('9. every frame kind in every state', () => {
  const rows: Row[] = []
  let h: HostilePeer

  it('drives a channel into each state, sends every frame kind with wrong content: refused, nothing changes', async () => {
    h = await hostileTo(payee)
    const height = await chain.height()
    const make = (capacitySats = 40_000): PayerChannel => new PayerChannel(h, payee.peerId, { capacitySats, expiry: height + 100 })
    const fundAndOpen = async (ch: PayerChannel, broadcast: boolean): Promise<Outpoint> => {
      const coin = await chain.coin(new Key(), 50_000)
      const f = buildFunding({ coins: [coin], capacity: ch.terms.capacitySats, payerPubHex: ch.terms.payerPub, payeePubHex: ch.payeePub!, change: coin.key.address })
      const out = { txid: f.txid, vout: 0 }
      expect(outcome(await ch.signRefund(out))).toBe('res')
      if (broadcast) {
        expect((await chain.broadcast(f.hex)).ok).toBe(true)
        expect(result(await ch.funded()).state).toBe('open')
      }
      return out
    }

    const none = make()
    const proposed = make(20_000_000)
    expect(result(await proposed.propose()).decision).toBe('pending')
    const accepted = make()
    expect(result(await accepted.propose()).decision).toBe('accepted')
    const bound = make()
    expect(result(await bound.propose()).decision).toBe('accepted')
    await fundAndOpen(bound, false)
    const open = make()
    expect(result(await open.propose()).decision).toBe('accepted')
    const openOut = await fundAndOpen(open, true)
    expect(outcome(await open.pay(1000))).toBe('res')
    const closing = make()
    expect(result(await closing.propose()).decision).toBe('accepted')
    await fundAndOpen(closing, true)
    expect(outcome(await closing.pay(1000))).toBe('res')
    expect(outcome(await closing.ask({ t: 'close', seq: 1, paidSats: 1000 }))).toBe('res')
    const failed = make()
    expect(result(await failed.propose()).decision).toBe('accepted')
    const fake = { txid: await chain.faucet(new Key().address, 5000), vout: 0 }
    expect(outcome(await failed.signRefund(fake))).toBe('res')
    expect(['refused', 'unexpected']).toContain(outcome(await failed.funded(fake)))
    await waitFor('failed', async () => (await channel(payee, failed.id)).state === 'failed', 15_000, 100)

    const states: [StateName, PayerChannel][] = [
      ['none', none], ['proposed', proposed], ['accepted', accepted], ['refund-signed', bound], ['open', open], ['closing', closing], ['failed', failed],
    ]
    const shown = await Promise.all(states.map(async ([, ch]) => {
      const r = await call<ChannelView>(payee, 'getChannel', { channelId: ch.id })
      return r.ok ? (r.result.step ?? r.result.state) : r.code
    }))
    expect(shown).toEqual(['not_found', 'proposed', 'accepted', 'refund-signed', 'open', 'closing', 'failed'])

    const E = 'unexpected'
    const U = 'unknown_channel'
    // What the spec says each state answers (docs/protocol.md, "A channel's life").
    type Case = { frame: string; make: (ch: PayerChannel) => WireRequest; want: Record<StateName, string> }
    const cases: Case[] = [
      {
        frame: 'propose, other terms for the same id',
        make: (ch) => ({ t: 'propose', ...ch.terms, capacitySats: ch.terms.capacitySats + 1 }),
        want: { none: 'skip', proposed: 'conflict', accepted: 'conflict', 'refund-signed': 'conflict', open: 'conflict', closing: 'conflict', failed: 'conflict' },
      },
      {
        frame: 'propose, the same id with fees that do not match the rate',
        make: (ch) => ({ t: 'propose', ...ch.terms, refundFeeSats: ch.terms.refundFeeSats - 1 }),
        want: { none: 'refused', proposed: 'conflict', accepted: 'conflict', 'refund-signed': 'conflict', open: 'conflict', closing: 'conflict', failed: 'conflict' },
      },
      {
        frame: 'propose, the same terms again',
        make: (ch) => ({ t: 'propose', ...ch.terms }),
        want: { none: 'skip', proposed: 'res', accepted: 'res', 'refund-signed': 'res', open: E, closing: E, failed: E },
      },
      {
        frame: 'accept (a payee frame, from the payer)',
        make: (ch) => ({ t: 'accept', channelId: ch.id, payeePub: new Key().pubHex }),
        want: { none: U, proposed: E, accepted: E, 'refund-signed': E, open: E, closing: E, failed: E },
      },
      {
        frame: 'reject (a payee frame, from the payer)',
        make: (ch) => ({ t: 'reject', channelId: ch.id }),
        want: { none: U, proposed: E, accepted: E, 'refund-signed': E, open: E, closing: E, failed: E },
      },
      {
        frame: 'signRefund, another outpoint (one bound elsewhere while accepted)',
        make: (ch) => {
          const other = ch === accepted ? openOut : { txid: randomTxid(), vout: 1 }
          return { t: 'signRefund', channelId: ch.id, fundingTxid: other.txid, fundingVout: other.vout, payerAddress: ch.payout.address }
        },
        want: { none: U, proposed: E, accepted: 'conflict', 'refund-signed': 'conflict', open: E, closing: E, failed: E },
      },
      {
        frame: 'funded, a wrong outpoint',
        make: (ch) => ({ t: 'funded', channelId: ch.id, fundingTxid: randomTxid(), fundingVout: 0 }),
        want: { none: U, proposed: E, accepted: E, 'refund-signed': 'conflict', open: 'conflict', closing: 'conflict', failed: E },
      },
      {
        frame: 'pay, the next seq signed by a stranger',
        make: (ch) => ({ t: 'pay', channelId: ch.id, seq: ch.seq + 1, paidSats: ch.paidSats + 100, sig: strangerSig() }),
        want: { none: U, proposed: E, accepted: E, 'refund-signed': E, open: 'bad_signature', closing: E, failed: E },
      },
      {
        frame: 'pay, a used seq for another amount',
        make: (ch) => ({ t: 'pay', channelId: ch.id, seq: 1, paidSats: 999, sig: strangerSig() }),
        want: { none: U, proposed: E, accepted: E, 'refund-signed': E, open: 'conflict', closing: E, failed: E },
      },
      {
        frame: 'sync',
        make: (ch) => ({ t: 'sync', channelId: ch.id }),
        want: { none: U, proposed: E, accepted: E, 'refund-signed': E, open: 'res', closing: 'res', failed: E },
      },
      {
        frame: 'close, a wrong split',
        make: (ch) => ({ t: 'close', channelId: ch.id, seq: 1, paidSats: 999 }),
        want: { none: U, proposed: E, accepted: E, 'refund-signed': E, open: 'conflict', closing: E, failed: E },
      },
    ]
    const view = async (id: string): Promise<unknown> => {
      const r = await call<ChannelView>(payee, 'getChannel', { channelId: id })
      return r.ok ? r.result : r.code
    }
    const link = await h.link(payee.peerId)
    for (const [state, ch] of states) {
      for (const c of cases) {
        const want = c.want[state]
        // A fresh id with good terms would just open a channel: not a wrong frame in "none".
        if (want === 'skip') continue
        const before = await view(ch.id)
        const got = outcome(await link.request(c.make(ch)))
        const after = await view(ch.id)
        rows.push({ state, frame: c.frame, got, want, changed: JSON.stringify(before) !== JSON.stringify(after) })
      }
    }
    // Safety, whatever the code: nothing changed.
    expect(rows.filter((r) => r.changed).map((r) => `${r.state} / ${r.frame}: ${r.got}`)).toEqual([])
    expect(rows.length).toBeGreaterThan(60)
  }, 90_000)

  it('answers each with the wire code the spec gives', () => {
    expect(rows.length).toBeGreaterThan(0)
    const wrong = rows.filter((r) => r.got !== r.want).map((r) => `${r.state} / ${r.frame}: got ${r.got}, spec says ${r.want}`)
    expect(wrong).toEqual([])
  })

  it('a frame that breaks the schema is answered `malformed`; a non-minimal or oversized length resets the stream', async () => {
    const link = await h.freshLink(payee.peerId)
    const bad = async (value: unknown, id: number): Promise<string> => {
      link.send(value)
      return outcome(await link.answerTo(id))
    }
    expect(await bad({ t: 'sync', id: 901, channelId: 'not-hex' }, 901)).toBe('malformed')
    expect(await bad({ t: 'sync', id: 902, channelId: randomChannelId(), extra: 1 }, 902)).toBe('malformed')
    expect(await bad({ t: 'teleport', id: 903, channelId: randomChannelId() }, 903)).toBe('malformed')
    expect(await bad({ t: 'pay', id: 904, channelId: randomChannelId(), seq: 1, paidSats: 1.5, sig: strangerSig() }, 904)).toBe('malformed')
    expect(await bad({ t: 'pay', id: 907, channelId: randomChannelId(), seq: 1, paidSats: 1, sig: strangerSig(), memo: 'm'.repeat(257) }, 907)).toBe('malformed')
    expect(await bad({ t: 'sync', id: 908 }, 908)).toBe('malformed')
    // Exactly 16 KiB is still a frame (answered), one byte more is not.
    const head = JSON.stringify({ t: 'sync', id: 905, channelId: randomChannelId(), pad: '' })
    const exact = JSON.stringify({ t: 'sync', id: 905, channelId: randomChannelId(), pad: 'x'.repeat(16 * 1024 - head.length) })
    expect(exact.length).toBe(16 * 1024)
    link.sendRaw(frameBytes(new TextEncoder().encode(exact)))
    expect(outcome(await link.answerTo(905))).toBe('malformed')
    expect(link.isOpen).toBe(true)
    expect(outcome(await link.request({ t: 'sync', channelId: randomChannelId() }))).toBe('unknown_channel')

    const resets = async (bytes: Uint8Array): Promise<{ reset: boolean }> => {
      const l = await h.freshLink(payee.peerId)
      expect(outcome(await l.request({ t: 'sync', channelId: randomChannelId() }))).toBe('unknown_channel')
      l.sendRaw(bytes)
      return Promise.race([l.closed, new Promise<{ reset: boolean }>((r) => setTimeout(() => r({ reset: false }), 10_000).unref())])
    }
    const body = encode({ t: 'sync', id: 906, channelId: randomChannelId() }).subarray(1)
    expect(body.byteLength).toBeLessThan(0x80)
    // The body's length in two bytes (a trailing zero group), in five, and one byte above the limit.
    expect(await resets(concat(Uint8Array.from([body.byteLength | 0x80, 0x00]), body))).toEqual({ reset: true })
    expect(await resets(concat(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x01]), body))).toEqual({ reset: true })
    expect(await resets(concat(varint(16 * 1024 + 1), new Uint8Array(64)))).toEqual({ reset: true })
    // The daemon still serves the peer on a new stream.
    expect(outcome(await (await h.freshLink(payee.peerId)).request({ t: 'sync', channelId: randomChannelId() }))).toBe('unknown_channel')
  }, 60_000)
})

describe('10. a payer that goes silent after paying and races its refund', () => {
  it('the payee settles its latest state before the refund is valid; the refund never spends the funding', async () => {
    const h = await hostileTo(payee)
    const before = await balance(payee)
    const lastSeqBefore = (await walletTransactions(payee))[0]?.seq ?? 0
    const expiry = (await chain.height()) + 8
    const ch = new PayerChannel(h, payee.peerId, { capacitySats: 40_000, expiry })
    expect(result(await ch.propose()).decision).toBe('accepted')
    const coin = await chain.coin(new Key(), 50_000)
    const f = buildFunding({ coins: [coin], capacity: 40_000, payerPubHex: ch.terms.payerPub, payeePubHex: ch.payeePub!, change: coin.key.address })
    const out = { txid: f.txid, vout: 0 }
    const payeeRefundSig = String(result(await ch.signRefund(out)).sig)
    expect((await chain.broadcast(f.hex)).ok).toBe(true)
    expect(result(await ch.funded()).state).toBe('open')
    for (const sats of [700, 800, 900]) expect(outcome(await ch.pay(sats))).toBe('res')
    const refund = refundTx({ funding: out, capacity: 40_000, refundFee: FEES.refundFeeSats, payerAddress: ch.payout.address, expiry })
    const ourSig = signInput(refund, 0, multisigScript(ch.terms.payerPub, ch.payeePub!), 40_000, ch.key)
    const refundHex = completeMultisig(refund, ourSig, payeeRefundSig).toHex()
    expect(await chain.broadcast(refundHex)).toMatchObject({ ok: false, title: 'non-final' })

    // From expiry − closeMarginBlocks on, the payee settles on its own.
    await mineTo(expiry - 6)
    await waitFor('the payee settled', async () => (await channel(payee, ch.id)).settlementTxid !== null, 20_000, 100)
    const settlementTxid = (await channel(payee, ch.id)).settlementTxid!
    expect(await chain.broadcast(refundHex)).toMatchObject({ ok: false })
    await mineTo(expiry)
    expect(await chain.broadcast(refundHex)).toMatchObject({ ok: false, title: 'double-spend' })
    await chain.mine(1)
    await waitFor('closed', async () => (await channel(payee, ch.id)).state === 'closed', 20_000, 100)
    expect(await channel(payee, ch.id)).toMatchObject({ state: 'closed', seq: 3, paidSats: 2400, settlementTxid, refundTxid: null })
    expect(await chain.spentBy(out.txid, 0)).toMatchObject({ txid: settlementTxid })
    const settlement = (await chain.tx(settlementTxid))!
    expect(settlement.outputs.map((o) => [o.satoshis, o.lockingScript.toHex()])).toEqual([
      [2400, p2pkh(ch.payeeAddress!).toHex()],
      [40_000 - 2400 - FEES.settlementFeeSats, ch.payout.lock.toHex()],
    ])
    // The blocks mined here also reach the close margin of earlier tests' channels with this
    // payee, so their settlements may land now too: the wallet must hold this one's 2,400 and
    // exactly what its history says came in besides, nothing else.
    const arrived = async (): Promise<WalletTransaction[]> => (await walletTransactions(payee)).filter((t) => t.seq > lastSeqBefore)
    await waitFor('the settlement in the wallet', async () => (await arrived()).some((t) => t.txid === settlementTxid), 15_000, 100)
    const since = await arrived()
    expect(since.find((t) => t.txid === settlementTxid)).toMatchObject({ direction: 'in', sats: 2400, channel: { id: ch.id, kind: 'settlement' } })
    expect(since.filter((t) => t.direction === 'out')).toEqual([])
    const expected = before + since.reduce((sum, t) => sum + t.sats, 0)
    expect(await settledBalance(payee, expected)).toBe(expected)
  }, 60_000)
})

describe('8. the data dir', () => {
  it.skipIf(process.platform === 'win32')('is the owner’s only: folders 0700, files 0600', () => {
    const wrong: string[] = []
    const walk = (path: string): void => {
      const st = lstatSync(path)
      if (st.isSymbolicLink()) return
      if (st.isDirectory()) {
        if ((st.mode & 0o777) !== 0o700) wrong.push(`${path} ${(st.mode & 0o777).toString(8)}`)
        for (const name of readdirSync(path)) walk(join(path, name))
      } else if ((st.mode & 0o777) !== 0o600) wrong.push(`${path} ${(st.mode & 0o777).toString(8)}`)
    }
    for (const d of [payee, payer2]) walk(d.dataDir)
    expect(wrong).toEqual([])
    expect(readdirSync(payee.dataDir)).toContain('engine.sqlite')
  })
})
