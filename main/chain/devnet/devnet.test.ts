import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { P2PKH, PrivateKey, Transaction } from '@bsv/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ArcClient } from '../arc-client.js'
import { BroadcastRejectedError, type ChainUtxo } from '../chain.js'
import { WhatsOnChainClient } from '../woc-client.js'
import { DevnetServer } from './devnet-server.js'

const FAST = { retries: 0, timeoutMs: 5000 }

interface Spendable extends ChainUtxo {
  key: PrivateKey
}

async function spend(
  source: Spendable,
  outputs: { to: string; sats: number }[],
  opts: { signWith?: PrivateKey; lockTime?: number; sequence?: number; extraInputs?: Spendable[] } = {},
): Promise<Transaction> {
  const tx = new Transaction()
  for (const s of [source, ...(opts.extraInputs ?? [])]) {
    const lock = new P2PKH().lock(s.key.toAddress([0x6f]))
    tx.addInput({
      sourceTXID: s.txid,
      sourceOutputIndex: s.vout,
      sequence: opts.sequence ?? 0xffffffff,
      unlockingScriptTemplate: new P2PKH().unlock(opts.signWith ?? s.key, 'all', false, s.satoshis, lock),
    })
  }
  for (const o of outputs) tx.addOutput({ lockingScript: new P2PKH().lock(o.to), satoshis: o.sats })
  if (opts.lockTime !== undefined) tx.lockTime = opts.lockTime
  await tx.sign()
  return tx
}

async function rejection(p: Promise<unknown>): Promise<BroadcastRejectedError> {
  try {
    await p
  } catch (err) {
    if (err instanceof BroadcastRejectedError) return err
    throw err
  }
  throw new Error('expected a refusal, but the transaction was accepted')
}

describe('devnet', () => {
  const devnet = new DevnetServer({ minFeeRateSatsPerKb: 50 })
  let woc: WhatsOnChainClient
  let arc: ArcClient
  const alice = PrivateKey.fromRandom()
  const bob = PrivateKey.fromRandom()
  const aliceAddr = alice.toAddress([0x6f])
  const bobAddr = bob.toAddress([0x6f])

  async function fund(sats: number, key = alice): Promise<Spendable> {
    const res = await fetch(`${devnet.url}/devnet/faucet`, { method: 'POST', body: JSON.stringify({ address: key.toAddress([0x6f]), satoshis: sats }) })
    expect(res.status).toBe(200)
    const { txid } = (await res.json()) as { txid: string }
    const utxo = (await woc.utxos(key.toAddress([0x6f]))).find((u) => u.txid === txid)
    expect(utxo).toBeDefined()
    return { ...utxo!, key }
  }

  beforeAll(async () => {
    await devnet.start()
    woc = new WhatsOnChainClient({ baseUrl: `${devnet.url}/v1/bsv/devnet`, http: FAST })
    arc = new ArcClient({ baseUrl: devnet.url, http: FAST })
  })
  afterAll(async () => {
    await devnet.stop()
  })

  it('answers with WhatsOnChain shapes, pays from the faucet and mines on request', async () => {
    const h0 = await woc.height()
    const utxo = await fund(50_000)
    expect(utxo).toMatchObject({ satoshis: 50_000, height: null })
    const raw = await woc.rawTx(utxo.txid)
    expect(Transaction.fromHex(raw!).id('hex')).toBe(utxo.txid)
    expect(await woc.txStatus(utxo.txid)).toEqual({ height: null, confirmations: 0 })
    const mined = (await (await fetch(`${devnet.url}/devnet/mine`, { method: 'POST', body: JSON.stringify({ blocks: 2 }) })).json()) as { height: number }
    expect(mined.height).toBe(h0 + 2)
    expect(await woc.height()).toBe(h0 + 2)
    expect(await woc.txStatus(utxo.txid)).toEqual({ height: h0 + 1, confirmations: 2 })
    const [again] = (await woc.utxos(aliceAddr)).filter((u) => u.txid === utxo.txid)
    expect(again!.height).toBe(h0 + 1)
    expect(await woc.rawTx('ab'.repeat(32))).toBeNull()
    expect(await woc.txStatus('ab'.repeat(32))).toBeNull()
  })

  it('accepts a valid spend through ARC and WhatsOnChain, and a resubmission is idempotent', async () => {
    const utxo = await fund(20_000)
    const tx = await spend(utxo, [{ to: bobAddr, sats: 19_000 }])
    expect(await arc.broadcast(tx.toHex())).toEqual({ txid: tx.id('hex') })
    expect(await arc.broadcast(tx.toHex())).toEqual({ txid: tx.id('hex') })
    expect(await woc.broadcast(tx.toHex())).toEqual({ txid: tx.id('hex') })
    expect((await woc.utxos(bobAddr)).map((u) => u.txid)).toContain(tx.id('hex'))
    expect((await woc.utxos(aliceAddr)).map((u) => u.txid)).not.toContain(utxo.txid)
  })

  it('refuses a bad signature (script-failed)', async () => {
    const utxo = await fund(10_000)
    const tx = await spend(utxo, [{ to: bobAddr, sats: 9_000 }], { signWith: bob })
    const err = await rejection(arc.broadcast(tx.toHex()))
    expect(err.reason).toBe('script-failed')
    expect(err.status).toBe(461)
    // The same refusal through the WhatsOnChain endpoint.
    expect((await rejection(woc.broadcast(tx.toHex()))).reason).toBe('script-failed')
    // A signature over other outputs (tampered after signing) fails too.
    const good = await spend(utxo, [{ to: bobAddr, sats: 9_000 }])
    good.outputs[0]!.satoshis = 9_500
    expect((await rejection(arc.broadcast(good.toHex()))).reason).toBe('script-failed')
  })

  it('refuses a double spend against the mempool', async () => {
    const utxo = await fund(10_000)
    const first = await spend(utxo, [{ to: bobAddr, sats: 9_000 }])
    const second = await spend(utxo, [{ to: aliceAddr, sats: 9_000 }])
    await arc.broadcast(first.toHex())
    const err = await rejection(arc.broadcast(second.toHex()))
    expect(err.reason).toBe('double-spend')
    expect(err.status).toBe(466)
  })

  it('refuses a spend of an output that does not exist (missing-inputs)', async () => {
    const fake: Spendable = { txid: 'cd'.repeat(32), vout: 0, satoshis: 10_000, height: 1, key: alice }
    const tx = await spend(fake, [{ to: bobAddr, sats: 9_000 }])
    expect((await rejection(arc.broadcast(tx.toHex()))).reason).toBe('missing-inputs')
    const real = await fund(10_000)
    const wrongVout = await spend({ ...real, vout: 7 }, [{ to: bobAddr, sats: 9_000 }])
    expect((await rejection(arc.broadcast(wrongVout.toHex()))).reason).toBe('missing-inputs')
  })

  it('refuses a non-final transaction, accepts it final or once its lock time is reached', async () => {
    const height = await woc.height()
    const utxo = await fund(10_000)
    const locked = await spend(utxo, [{ to: bobAddr, sats: 9_000 }], { lockTime: height + 5, sequence: 0xfffffffe })
    const err = await rejection(arc.broadcast(locked.toHex()))
    expect(err.reason).toBe('non-final')
    // A time lock in the future is non-final too.
    const timeLocked = await spend(utxo, [{ to: bobAddr, sats: 9_000 }], { lockTime: Math.floor(Date.now() / 1000) + 3600, sequence: 0 })
    expect((await rejection(arc.broadcast(timeLocked.toHex()))).reason).toBe('non-final')
    // The same lock time with final sequences is final.
    const finalSeq = await spend(utxo, [{ to: bobAddr, sats: 9_000 }], { lockTime: height + 5, sequence: 0xffffffff })
    // Mine up to the lock time: lockTime < next height makes it final.
    devnet.mine(1)
    const utxo2 = await fund(10_000)
    const later = await spend(utxo2, [{ to: bobAddr, sats: 9_000 }], { lockTime: height + 3, sequence: 0 })
    expect((await rejection(arc.broadcast(later.toHex()))).reason).toBe('non-final')
    devnet.mine(2)
    expect(await arc.broadcast(later.toHex())).toEqual({ txid: later.id('hex') })
    expect(await arc.broadcast(finalSeq.toHex())).toEqual({ txid: finalSeq.id('hex') })
  })

  it('refuses a fee below its minimum and outputs above inputs', async () => {
    const utxo = await fund(10_000)
    const noFee = await spend(utxo, [{ to: bobAddr, sats: 10_000 }])
    const err = await rejection(arc.broadcast(noFee.toHex()))
    expect(err.reason).toBe('fee-too-low')
    expect(err.status).toBe(465)
    // 191 bytes at 50 sat/kB needs 10 sat; 5 is too little, 10 is enough.
    const low = await spend(utxo, [{ to: bobAddr, sats: 9_995 }])
    expect((await rejection(arc.broadcast(low.toHex()))).reason).toBe('fee-too-low')
    const over = await spend(utxo, [{ to: bobAddr, sats: 10_001 }])
    expect((await rejection(arc.broadcast(over.toHex()))).reason).toBe('outputs-exceed-inputs')
    const enough = await spend(utxo, [{ to: bobAddr, sats: 9_990 }])
    expect(await arc.broadcast(enough.toHex())).toEqual({ txid: enough.id('hex') })
  })


  it('refuses malformed transactions and bad requests with clear errors', async () => {
    expect((await rejection(arc.broadcast('00'))).reason).toBe('malformed')
    expect((await rejection(woc.broadcast('zz'))).reason).toBe('malformed')
    const res = await fetch(`${devnet.url}/devnet/faucet`, { method: 'POST', body: JSON.stringify({ address: 'not-an-address-at-all-really', satoshis: 1 }) })
    expect(res.status).toBe(400)
    const badSum = await fetch(`${devnet.url}/devnet/faucet`, { method: 'POST', body: JSON.stringify({ address: aliceAddr, satoshis: 1.5 }) })
    expect(badSum.status).toBe(400)
    expect((await fetch(`${devnet.url}/nowhere`)).status).toBe(404)
  })
})

describe('devnet persistence', () => {
  it('keeps blocks, transactions and outputs across a restart with a data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devnet-test-'))
    try {
      const key = PrivateKey.fromRandom()
      const addr = key.toAddress([0x6f])
      const first = new DevnetServer({ dataDir: dir })
      await first.start()
      const { txid } = await first.faucet(addr, 12_345)
      first.mine(3)
      const height = first.height
      await first.stop()
      const second = new DevnetServer({ dataDir: dir })
      await second.start()
      try {
        const woc = new WhatsOnChainClient({ baseUrl: `${second.url}/v1/bsv/devnet`, http: FAST })
        expect(await woc.height()).toBe(height)
        expect(await woc.utxos(addr)).toEqual([{ txid, vout: 0, satoshis: 12_345, height: height - 2 }])
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
