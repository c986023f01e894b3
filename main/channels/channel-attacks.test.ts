// A payee facing a hostile or buggy payer (or a third peer): every bad update or close is
// refused with a typed error and leaves the stored channel exactly as it was.
import { PrivateKey } from '@bsv/sdk'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DevnetServer } from '../chain/devnet/devnet-server.js'
import { CHANNEL_PROTOCOL, ChannelLink, MAX_CHANNEL_FRAME_BYTES, type OutgoingRequest } from './protocol.js'
import { selectBackend } from './signer.js'
import type { PayerOpen } from './records.js'
import { type Side, connect, fund, removeDir, sendOneFrame, startDevnet, startSide } from './test/harness.js'

describe('channel attacks are refused with the state unchanged', () => {
  let devnet: DevnetServer
  let payer: Side
  let payee: Side
  let mallory: Side
  let channelId: string

  beforeAll(async () => {
    devnet = await startDevnet()
    ;[payer, payee, mallory] = await Promise.all([startSide(devnet), startSide(devnet), startSide(devnet)])
    await connect(payer, payee)
    await connect(mallory, payee)
    await fund(devnet, payer, 1_000_000)
    channelId = (await payer.engine.open({ peerId: payee.peerId, capacitySats: 50_000 })).id
    for (let i = 0; i < 3; i++) await payer.engine.pay({ channelId, sats: 100 })
  }, 30_000)

  afterAll(async () => {
    for (const s of [payer, payee, mallory]) {
      await s?.stop()
      if (s) removeDir(s.dir)
    }
    await devnet?.stop()
  })

  function snapshot(): unknown {
    const c = payee.engine.get(channelId)
    return { seq: c.seq, paidSats: c.paidSats, state: c.state, payments: c.payments.length, row: payee.engine.book.repo.get(channelId) }
  }

  const refusal = (from: Side, frame: OutgoingRequest): Promise<string> => sendOneFrame(from, payee.peerId, frame)

  /** A correctly built settlement signed by `key` (the payer's real key unless stated). */
  function signed(paidSats: number, key?: Uint8Array): string {
    const rec = payer.engine.book.get(channelId) as PayerOpen
    return Buffer.from(payer.engine.tx.settlement(rec).sign(paidSats, key ?? payer.wallet.channelPrivateKey(rec.keyIndex), selectBackend())).toString('hex')
  }

  it('counts broken framing under one metric label, whatever size the peer claims', async () => {
    // Found by the chaos suite's malformed-input barrage: the label was the error text
    // ("frame of 16979 bytes exceeds 16384"), so every claimed size minted a new series.
    const refusedCodes = async (): Promise<string[]> => {
      const json = await payee.engine.components.metrics.registry.getMetricsAsJSON()
      const metric = json.find((m) => m.name === 'bsv_p2p_channel_refused_total')
      return (metric?.values ?? []).map((v) => String(v.labels.code))
    }
    const varint = (n: number): number[] => {
      const out: number[] = []
      for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80)
      return [...out, n]
    }
    for (const claimed of [MAX_CHANNEL_FRAME_BYTES + 1, 20_000, 1_000_000, 123_456_789]) {
      const stream = await mallory.libp2p.dialProtocol(peerIdFromString(payee.peerId), CHANNEL_PROTOCOL)
      const closed = new Promise((resolve) => stream.addEventListener('close', resolve))
      stream.send(Uint8Array.from(varint(claimed)))
      await closed
    }
    const codes = await refusedCodes()
    expect(codes).toContain('framing')
    expect(codes.filter((c) => /\d/.test(c))).toEqual([])
  })

  it('refuses unsigned, wrongly signed, shrinking, replayed, foreign, split-changing and over-capacity updates', async () => {
    const before = snapshot()
    const otherKey = Uint8Array.from(PrivateKey.fromRandom().toArray('be', 32))
    const cases: [string, Side, OutgoingRequest, string][] = [
      ['unsigned', payer, { t: 'pay', channelId, seq: 4, paidSats: 400, sig: '' }, 'malformed'],
      ['garbage signature', payer, { t: 'pay', channelId, seq: 4, paidSats: 400, sig: '30'.repeat(36) + '41' }, 'bad_signature'],
      ['signed by another key', payer, { t: 'pay', channelId, seq: 4, paidSats: 400, sig: signed(400, otherKey) }, 'bad_signature'],
      ['signature over another amount', payer, { t: 'pay', channelId, seq: 4, paidSats: 500, sig: signed(400) }, 'bad_signature'],
      ['smaller cumulative amount', payer, { t: 'pay', channelId, seq: 4, paidSats: 250, sig: signed(250) }, 'refused'],
      ['same amount', payer, { t: 'pay', channelId, seq: 4, paidSats: 300, sig: signed(300) }, 'refused'],
      ['replayed sequence, other state', payer, { t: 'pay', channelId, seq: 2, paidSats: 400, sig: signed(400) }, 'conflict'],
      ['skipped sequence', payer, { t: 'pay', channelId, seq: 9, paidSats: 400, sig: signed(400) }, 'refused'],
      ['over capacity', payer, { t: 'pay', channelId, seq: 4, paidSats: 50_000, sig: signed(400) }, 'refused'],
      ['another peer sends for this channel', mallory, { t: 'pay', channelId, seq: 4, paidSats: 400, sig: signed(400) }, 'unknown_channel'],
      ['another peer asks to close', mallory, { t: 'close', channelId, seq: 3, paidSats: 300 }, 'unknown_channel'],
      ['close with a different split', payer, { t: 'close', channelId, seq: 3, paidSats: 200 }, 'conflict'],
      ['close with a newer unsigned state', payer, { t: 'close', channelId, seq: 4, paidSats: 400 }, 'conflict'],
      ['refund re-signed for another outpoint', payer, { t: 'signRefund', channelId, fundingTxid: 'ab'.repeat(32), fundingVout: 0, payerAddress: payer.wallet.info().address }, 'unexpected'],
    ]
    for (const [name, from, frame, code] of cases) {
      expect(`${name}: ${await refusal(from, frame)}`).toBe(`${name}: ${code}`)
      expect(snapshot()).toEqual(before)
    }
    // The payer's own engine refuses an over-capacity payment before signing anything.
    await expect(payer.engine.pay({ channelId, sats: 60_000 })).rejects.toMatchObject({ code: 'insufficient_funds' })
    // The honest state still moves on.
    expect(await payer.engine.pay({ channelId, sats: 1 })).toMatchObject({ seq: 4, paidSats: 301 })
    expect(payee.engine.get(channelId)).toMatchObject({ seq: 4, paidSats: 301 })
  }, 30_000)

  it('a payer flooding settlements faster than they can be verified meets a bounded queue: busy past it, and the channel goes on', async () => {
    const before = snapshot()
    const c = payee.engine.get(channelId)
    // Each frame passes every check up to the signature, which is wrong: each costs a verification.
    const badSig = signed(c.paidSats + 1, Uint8Array.from(PrivateKey.fromRandom().toArray('be', 32)))
    const link = new ChannelLink(payer.libp2p, payee.peerId, 60_000)
    const codes = new Map<string, number>()
    try {
      await Promise.all(Array.from({ length: 6_000 }, () => link.request({ t: 'pay', channelId, seq: c.seq + 1, paidSats: c.paidSats + 1, sig: badSig } as never).then(
        () => 'accepted',
        (err: { code: string }) => err.code,
      ).then((code) => codes.set(code, (codes.get(code) ?? 0) + 1))))
    } finally {
      link.close()
    }
    expect(codes.get('accepted')).toBeUndefined()
    expect(codes.get('busy')).toBeGreaterThan(0)
    expect(codes.get('bad_signature')).toBeGreaterThan(0)
    expect(snapshot()).toEqual(before)
    await payer.engine.pay({ channelId, sats: 1 })
    expect(payee.engine.get(channelId).paidSats).toBe(c.paidSats + 1)
  }, 60_000)
})
