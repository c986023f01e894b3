// A property-based model test of the channel protocol (fast-check), on the real engines:
// random interleavings of local calls (open, pay, accept, close), frames a peer should not
// send (wrong, repeated, out of order, from a third peer), chain events (blocks, a funding
// dropped from the mempool) and crashes of either side, then a drain past every expiry.
// Never may the payee hold an acknowledged payment its verified funding does not cover,
// nor may coins the payer put into a channel end anywhere it did not sign for.
// CHANNEL_MODEL_RUNS=<n> runs more; CHANNEL_MODEL_SEED=<seed> replays a failure.
import { PrivateKey } from '@bsv/sdk'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import fc from 'fast-check'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { Transaction } from '@bsv/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DevnetServer } from '../chain/devnet/devnet-server.js'
import { type Libp2pNode, createNode } from '../p2p/libp2p.js'
import { ChannelLink, type OutgoingRequest } from './protocol.js'
import { publicKeyOf } from './signer.js'
import { type Side, connect, removeDir, startDevnet, startSide } from './test/harness.js'
import { channelFees, fundingOutputScript } from './transactions.js'

const RUNS = Number(process.env.CHANNEL_MODEL_RUNS ?? 40)
const SEED = process.env.CHANNEL_MODEL_SEED === undefined ? undefined : Number(process.env.CHANNEL_MODEL_SEED)
const FEES = channelFees(100)
/** Channels above 50,000 sat wait for a confirmed funding; smaller ones open at 0 conf (a bounded risk). */
const ZERO_CONF_MAX = 50_000
const INIT = { chainPollMs: 3_600_000, chainRetryBaseMs: 0, chainRetryMaxMs: 0, requestTimeoutMs: 1500, payTimeoutMs: 1500, proposalTimeoutMs: 60_000, policy: { autoAcceptMaxSats: 300_000 }, minFundingConfirmations: 1, zeroConfMaxSats: ZERO_CONF_MAX }

type Who = 'payer' | 'payee'
type Cmd =
  | { k: 'open'; capacity: number; life: number }
  | { k: 'pay'; ch: number; sats: number; burst: number }
  | { k: 'close'; ch: number; by: Who }
  | { k: 'accept' | 'reject'; ch: number }
  | { k: 'frame'; ch: number; from: 'payer' | 'payee' | 'mallory'; kind: OutgoingRequest['t']; twist: number }
  | { k: 'mine'; blocks: number }
  | { k: 'drop'; ch: number }
  | { k: 'chain' }
  /** `delayMs`: the crash lands that long into the next command, mid-operation. */
  | { k: 'crash'; side: Who; delayMs: number }

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('open' as const), capacity: fc.constantFrom(20_000, 120_000, 400_000), life: fc.integer({ min: 9, max: 16 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('pay' as const), ch: fc.nat(7), sats: fc.integer({ min: 1, max: 5_000 }), burst: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('close' as const), ch: fc.nat(7), by: fc.constantFrom<Who>('payer', 'payee') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('accept' as const, 'reject' as const), ch: fc.nat(7) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('frame' as const),
      ch: fc.nat(7),
      from: fc.constantFrom<'payer' | 'payee' | 'mallory'>('payer', 'payee', 'mallory'),
      kind: fc.constantFrom<OutgoingRequest['t']>('propose', 'accept', 'reject', 'signRefund', 'funded', 'pay', 'sync', 'close'),
      twist: fc.nat(5),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('mine' as const), blocks: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('drop' as const), ch: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.constant({ k: 'chain' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('crash' as const), side: fc.constantFrom<Who>('payer', 'payee'), delayMs: fc.integer({ min: 0, max: 40 }) }) },
)

/** Every run starts with a channel that opens at once and a few payments, so the rest has something to work on. */
const opening: fc.Arbitrary<Cmd[]> = fc.tuple(fc.constantFrom(20_000, 120_000), fc.integer({ min: 1, max: 5 })).map(([capacity, pays]) => [
  { k: 'open', capacity, life: 14 },
  { k: 'mine', blocks: 1 },
  { k: 'chain' },
  ...Array.from({ length: pays }, (): Cmd => ({ k: 'pay', ch: 0, sats: 100, burst: 2 })),
])

interface World {
  devnet: DevnetServer
  /** Funding txids this run dropped from the mempool (a 0-conf funding that vanished). */
  dropped: Set<string>
  sides: Record<Who, Side>
  up: Record<Who, boolean>
  mallory: Libp2pNode
  dirs: string[]
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Every channel id either side knows, oldest first (the commands pick by index). */
function channelIds(w: World): string[] {
  const ids = new Set<string>()
  for (const who of ['payer', 'payee'] as const) {
    const db = new Database(join(w.sides[who].dir, 'engine.sqlite'), { readonly: true })
    try {
      for (const r of db.prepare('SELECT id FROM channels ORDER BY created_at, id').all() as { id: string }[]) ids.add(r.id)
    } finally {
      db.close()
    }
  }
  return [...ids]
}

function rows(w: World, who: Who): Record<string, unknown>[] {
  const db = new Database(join(w.sides[who].dir, 'engine.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT * FROM channels').all() as Record<string, unknown>[]
  } finally {
    db.close()
  }
}

function signedStates(w: World, channelId: string): { seq: number; paid_sats: number; sig: string }[] {
  const db = new Database(join(w.sides.payer.dir, 'engine.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT seq, paid_sats, sig FROM channel_payments WHERE channel_id = ? AND sig IS NOT NULL').all(channelId) as { seq: number; paid_sats: number; sig: string }[]
  } finally {
    db.close()
  }
}

async function restart(w: World, who: Who): Promise<void> {
  const s = w.sides[who]
  w.sides[who] = await startSide(w.devnet, { dir: s.dir, key: s.key, port: s.port, init: INIT })
  w.up[who] = true
  await reconnect(w)
}

async function reconnect(w: World): Promise<void> {
  if (w.up.payer && w.up.payee) await connect(w.sides.payer, w.sides.payee).catch(() => {})
  for (const who of ['payer', 'payee'] as const) {
    if (!w.up[who]) continue
    await w.mallory.peerStore.merge(w.sides[who].libp2p.peerId, { multiaddrs: w.sides[who].libp2p.getMultiaddrs() }).catch(() => {})
  }
}

/** A frame a peer should not send: plausible fields, wrong in one way or another. */
function hostileFrame(w: World, id: string, kind: OutgoingRequest['t'], twist: number): OutgoingRequest {
  const payerRow = rows(w, 'payer').find((r) => r.id === id)
  const payeeRow = rows(w, 'payee').find((r) => r.id === id)
  const row = payeeRow ?? payerRow
  const otherFunding = rows(w, 'payee').find((r) => r.id !== id && r.funding_txid)?.funding_txid as string | undefined
  const randomTxid = hex(PrivateKey.fromRandom().toArray('be', 32) as unknown as Uint8Array)
  const anyKey = hex(publicKeyOf(Uint8Array.from(PrivateKey.fromRandom().toArray('be', 32))))
  const address = w.sides.payer.wallet.info().address
  const seq = Number(row?.seq ?? 0)
  const paid = Number(row?.paid_sats ?? 0)
  const states = payerRow ? signedStates(w, id) : []
  switch (kind) {
    case 'propose':
      return {
        t: 'propose', channelId: id, capacitySats: Number(row?.capacity_sats ?? 50_000) + (twist % 2), expiry: Number(row?.expiry ?? w.devnet.height + 20) + (twist > 2 ? 1 : 0),
        feeRate: 100, settlementFeeSats: FEES.settlementFeeSats, refundFeeSats: FEES.refundFeeSats, payerPub: twist === 0 && row ? String(row.payer_pub) : anyKey,
      }
    case 'accept':
      return { t: 'accept', channelId: id, payeePub: anyKey }
    case 'reject':
      return { t: 'reject', channelId: id }
    case 'signRefund':
      return { t: 'signRefund', channelId: id, fundingTxid: twist % 2 === 0 && otherFunding ? otherFunding : randomTxid, fundingVout: twist % 3, payerAddress: address }
    case 'funded':
      return { t: 'funded', channelId: id, fundingTxid: twist % 2 === 0 && otherFunding ? otherFunding : String(row?.funding_txid ?? randomTxid), fundingVout: twist === 5 ? 1 : 0 }
    case 'pay': {
      const replay = states[twist % Math.max(1, states.length)]
      const sig = replay && twist < 4 ? replay.sig : `30${'11'.repeat(35)}41`
      return { t: 'pay', channelId: id, seq: Math.max(1, seq + (twist % 3) - 1), paidSats: paid + (twist % 2 === 0 ? 1 : -1) * (1 + twist * 7), sig }
    }
    case 'sync':
      return { t: 'sync', channelId: id }
    case 'close':
      return { t: 'close', channelId: id, seq: Math.max(1, seq + (twist % 2)), paidSats: paid + twist }
  }
}

/** What the runs did, so a run of nothing but refusals cannot pass for coverage. */
const tally = new Map<string, number>()
const count = (what: string): void => {
  tally.set(what, (tally.get(what) ?? 0) + 1)
}

async function run(w: World, c: Cmd): Promise<void> {
  const ids = channelIds(w)
  const pick = (n: number): string | undefined => ids[n % Math.max(1, ids.length)]
  const { payer, payee } = w.sides
  const ignore = (err: unknown): void => count(`${c.k} refused: ${(err as { code?: string }).code ?? (err as Error).message}`)
  switch (c.k) {
    case 'open':
      if (w.up.payer) await payer.engine.open({ peerId: payee.peerId, capacitySats: c.capacity, expiry: w.devnet.height + c.life }).then((ch) => count(`open → ${ch.state}`), ignore)
      return
    case 'pay': {
      const id = pick(c.ch)
      if (id && w.up.payer) await Promise.all(Array.from({ length: c.burst }, () => payer.engine.pay({ channelId: id, sats: c.sats }).then(() => count('pay acknowledged'), ignore)))
      return
    }
    case 'close': {
      const id = pick(c.ch)
      if (id && w.up[c.by]) await w.sides[c.by].engine.close(id).then((ch) => count(`close by ${c.by} → ${ch.state}`), ignore)
      return
    }
    case 'accept':
    case 'reject': {
      const id = pick(c.ch)
      if (id && w.up.payee) await (c.k === 'accept' ? payee.engine.acceptProposal(id) : payee.engine.rejectProposal(id)).catch(ignore)
      return
    }
    case 'frame': {
      const id = pick(c.ch) ?? 'e'.repeat(32)
      const from = c.from === 'mallory' ? w.mallory : c.from === 'payer' ? (w.up.payer ? payer.libp2p : null) : w.up.payee ? payee.libp2p : null
      // Frames to the payer are the payee's kinds; everything else goes to the payee.
      const to = c.kind === 'accept' || c.kind === 'reject' ? (c.from === 'payer' ? null : payer) : c.from === 'payee' ? null : payee
      if (!from || !to || !w.up[to === payer ? 'payer' : 'payee']) return
      const link = new ChannelLink(from, to.peerId, 1500)
      try {
        await link.request(hostileFrame(w, id, c.kind, c.twist) as never).then(() => count(`frame ${c.kind} from ${c.from} accepted`), (err: unknown) => count(`frame ${c.kind} refused: ${(err as { code?: string }).code}`))
      } finally {
        link.close()
      }
      return
    }
    case 'mine':
      w.devnet.mine(c.blocks)
      return
    case 'drop': {
      const row = rows(w, 'payer').find((r) => r.id === pick(c.ch))
      if (row?.funding_txid) for (const txid of w.devnet.drop(String(row.funding_txid)).dropped) w.dropped.add(txid)
      return
    }
    case 'chain':
      for (const who of ['payer', 'payee'] as const) if (w.up[who]) await w.sides[who].engine.checkChain()
      return
    case 'crash':
      if (!w.up[c.side]) return restart(w, c.side)
      count(`crash ${c.side}`)
      w.up[c.side] = false
      await w.sides[c.side].crash()
      return
  }
}

/**
 * The payee never holds an acknowledged payment that a verified funding of its own channel
 * does not cover: above the 0-conf bound the funding must be mined; at or below it, only a
 * funding this run dropped from the mempool may be missing, and only until the payee sends
 * it again or gives the channel up (`final`: after the drain, none may be missing).
 */
function checkPayee(w: World, final = false): void {
  const seen = new Set<string>()
  for (const r of rows(w, 'payee')) {
    if (r.funding_txid && r.state !== 'failed') {
      const key = `${String(r.funding_txid)}:${String(r.funding_vout)}`
      expect(seen.has(key), `two payee channels share funding ${key}`).toBe(false)
      seen.add(key)
    }
    if (Number(r.seq) === 0 || r.state === 'failed') continue
    expect(['open', 'closing', 'closed', 'refunded']).toContain(r.state)
    const txid = String(r.funding_txid)
    const raw = w.devnet.rawTx(txid)
    if (raw === null && !final && Number(r.capacity_sats) <= ZERO_CONF_MAX && w.dropped.has(txid)) continue
    expect(raw, `channel ${String(r.id)} acknowledged payments over a funding the chain does not hold`).not.toBeNull()
    if (Number(r.capacity_sats) > ZERO_CONF_MAX) expect(w.devnet.txHeight(txid), `channel ${String(r.id)} took payments above the 0-conf bound on an unmined funding`).not.toBeNull()
    const out = Transaction.fromHex(raw!).outputs[Number(r.funding_vout)]!
    expect(out.satoshis).toBe(Number(r.capacity_sats))
    expect(out.lockingScript.toHex()).toBe(fundingOutputScript(Buffer.from(String(r.payer_pub), 'hex'), Buffer.from(String(r.payee_pub), 'hex')).toHex())
    expect(Number(r.paid_sats) + Number(r.settlement_fee_sats)).toBeLessThanOrEqual(Number(r.capacity_sats))
  }
}

/** After every expiry: each payer funding on chain is spent, by its refund or by a settlement of a state the payer signed. */
function checkPayer(w: World): void {
  for (const r of rows(w, 'payer')) {
    if (!r.refund_payee_sig || !r.funding_txid) continue
    if (!w.devnet.rawTx(String(r.funding_txid))) continue
    const spender = w.devnet.spender(String(r.funding_txid), Number(r.funding_vout))
    const payeeRow = rows(w, 'payee').find((p) => p.id === r.id)
    const where = `payer ${String(r.state)}/${String(r.step ?? r.failure ?? '')} payee ${String(payeeRow?.state)}/${String(payeeRow?.step ?? payeeRow?.failure ?? '')} expiry ${String(r.expiry)} height ${w.devnet.height}`
    expect(spender, `the coins of channel ${String(r.id)} are stranded in its 2-of-2 (${where})`).not.toBeNull()
    const tx = Transaction.fromHex(w.devnet.rawTx(spender!.txid)!)
    if (tx.lockTime === Number(r.expiry)) {
      expect(tx.outputs.length).toBe(1)
      expect(tx.outputs[0]!.satoshis).toBe(Number(r.capacity_sats) - Number(r.refund_fee_sats))
      continue
    }
    const paid = tx.outputs[0]!.satoshis!
    const signed = signedStates(w, String(r.id)).map((s) => s.paid_sats)
    expect(signed, `a settlement of channel ${String(r.id)} pays ${paid} sat, a state the payer never signed`).toContain(paid)
  }
  // Past every expiry nothing is left half-way: each channel ended, and its end is on chain.
  for (const who of ['payer', 'payee'] as const) {
    for (const r of rows(w, who)) {
      const where = `${who} ${String(r.id)} ${String(r.state)}/${String(r.step ?? r.failure ?? '')} funding ${String(r.funding_txid)} known ${w.devnet.rawTx(String(r.funding_txid)) !== null} spent ${JSON.stringify(r.funding_txid ? w.devnet.spender(String(r.funding_txid), Number(r.funding_vout)) : null)} settlement ${String(r.settlement_txid)} refund ${String(r.refund_txid)} expiry ${String(r.expiry)} height ${w.devnet.height}`
      expect(['closed', 'refunded', 'failed', 'rejected'], where).toContain(r.state)
    }
  }
  const db = new Database(join(w.sides.payer.dir, 'engine.sqlite'), { readonly: true })
  try {
    expect((db.prepare("SELECT COUNT(*) AS n FROM wallet_utxos WHERE state = 'reserved'").get() as { n: number }).n, 'coins left reserved for a funding that never left').toBe(0)
  } finally {
    db.close()
  }
}

async function drain(w: World): Promise<void> {
  for (const who of ['payer', 'payee'] as const) if (!w.up[who]) await restart(w, who)
  await reconnect(w)
  const maxExpiry = Math.max(w.devnet.height, ...rows(w, 'payer').map((r) => Number(r.expiry)))
  // Block by block, so the payee gets its margin to settle before each expiry.
  for (let i = 0; i < 60 && w.devnet.height <= maxExpiry + 3; i++) {
    for (const who of ['payer', 'payee'] as const) await w.sides[who].engine.checkChain()
    w.devnet.mine(1)
  }
  for (let i = 0; i < 6; i++) {
    for (const who of ['payer', 'payee'] as const) await w.sides[who].engine.checkChain()
    w.devnet.mine(1)
  }
  await w.sides.payer.wallet.sync().catch(() => {})
}

describe('channel protocol model (fast-check, real engines)', () => {
  let devnet: DevnetServer
  let mallory: Libp2pNode
  const dirs: string[] = []

  beforeAll(async () => {
    devnet = await startDevnet()
    mallory = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], limits: { maxConnections: 100, inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 100 }, mdns: false, pubsub: false })
    await mallory.start()
  })

  afterAll(async () => {
    await mallory?.stop()
    await devnet?.stop()
    for (const d of dirs) removeDir(d)
  })

  it(`${RUNS} random interleavings of calls, hostile frames, chain events and crashes keep every coin where its owner signed`, async () => {
    await fc.assert(
      fc.asyncProperty(opening, fc.array(cmd, { minLength: 4, maxLength: 30 }), async (start, rest) => {
        const cmds = [...start, ...rest]
        const payer = await startSide(devnet, { init: INIT })
        const payee = await startSide(devnet, { init: INIT })
        const w: World = { devnet, dropped: new Set(), sides: { payer, payee }, up: { payer: true, payee: true }, mallory, dirs }
        dirs.push(payer.dir, payee.dir)
        try {
          await connect(payer, payee)
          await mallory.dial(multiaddr(payee.libp2p.getMultiaddrs()[0]!.toString())).catch(() => {})
          await devnet.faucet(payer.wallet.info().address, 2_000_000)
          await payer.wallet.sync()
          for (let i = 0; i < cmds.length; i++) {
            const c = cmds[i]!
            if (c.k === 'crash' && w.up[c.side] && i + 1 < cmds.length) {
              // The crash lands while the next command is under way.
              const next = cmds[++i]!
              const crashing = new Promise((r) => setTimeout(r, c.delayMs)).then(() => run(w, c))
              await Promise.all([run(w, next), crashing])
            } else {
              await run(w, c)
            }
            checkPayee(w)
          }
          await drain(w)
          checkPayee(w, true)
          checkPayer(w)
          for (const r of rows(w, 'payer')) count(`payer channel ended ${String(r.state)}${r.failure ? `/${String(r.failure)}` : ''}`)
        } finally {
          for (const who of ['payer', 'payee'] as const) if (w.up[who]) await w.sides[who].stop().catch(() => {})
        }
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), ...(process.env.CHANNEL_MODEL_PATH ? { path: process.env.CHANNEL_MODEL_PATH } : {}), verbose: 1 },
    )
    process.stdout.write(`channel model: ${JSON.stringify(Object.fromEntries([...tally].sort()))}\n`)
    // The runs reached the states that matter, not only refusals.
    expect(tally.get('pay acknowledged') ?? 0).toBeGreaterThan(0)
    expect([...tally.keys()].some((k) => k.startsWith('crash'))).toBe(true)
  }, 30 * 60_000)
})
