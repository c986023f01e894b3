// Recovery: the payer's refund when the payee vanished (refused by the devnet before
// expiry, accepted after), and restarts of either side while payments are in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DevnetServer } from '../chain/devnet/devnet-server.js'
import type { PayerOpen } from './records.js'
import { type Side, connect, fund, removeDir, startDevnet, startSide, waitUntil } from './test/harness.js'

describe('channel recovery', () => {
  let devnet: DevnetServer
  const sides: Side[] = []

  beforeAll(async () => {
    devnet = await startDevnet()
  })

  afterAll(async () => {
    for (const s of sides) {
      await s.stop().catch(() => {})
      removeDir(s.dir)
    }
    await devnet?.stop()
  })

  async function side(opts: Parameters<typeof startSide>[1] = {}): Promise<Side> {
    const s = await startSide(devnet, opts)
    const old = sides.findIndex((x) => x.dir === s.dir)
    if (old >= 0) sides.splice(old, 1)
    sides.push(s)
    return s
  }

  it('payee gone: the refund is refused before expiry and accepted after it', async () => {
    const payer = await side()
    const payee = await side()
    await connect(payer, payee)
    await fund(devnet, payer, 500_000)
    const expiry = devnet.height + 8
    const channel = await payer.engine.open({ peerId: payee.peerId, capacitySats: 40_000, expiry })
    await payer.engine.pay({ channelId: channel.id, sats: 1000 })
    await payee.stop()

    const record = payer.engine.book.get(channel.id) as PayerOpen
    await expect(payer.engine.payer.refund(record)).rejects.toMatchObject({ reason: 'non-final' })
    expect(payer.engine.get(channel.id).state).toBe('open')
    devnet.mine(expiry - devnet.height)
    await waitUntil(() => payer.engine.get(channel.id).refundTxid !== null, 5000, 'refund broadcast')
    expect(payer.engine.get(channel.id).state).toBe('closing')
    devnet.mine(1)
    await waitUntil(() => payer.engine.get(channel.id).state === 'refunded', 5000, 'refunded')
  }, 30_000)

  it('either side restarts while payments are in flight: channels reload, reconcile, payments continue', async () => {
    let payer = await side()
    let payee = await side()
    await connect(payer, payee)
    await fund(devnet, payer, 500_000)
    const { id } = await payer.engine.open({ peerId: payee.peerId, capacitySats: 100_000 })
    for (let i = 0; i < 20; i++) await payer.engine.pay({ channelId: id, sats: 10 })

    // Payee restarts while 30 payments are on their way. Each caller hears that it was
    // acknowledged; or, at once, that the payee went away with it signed and kept (it goes
    // out again when the payee is back); or, for one that started when the payee was
    // already gone, that it could not be reached and nothing was signed.
    const inFlight = Promise.allSettled(Array.from({ length: 30 }, () => payer.engine.pay({ channelId: id, sats: 1 })))
    const { dir, key, port } = payee
    await payee.stop()
    payee = await side({ dir, key, port })
    let signed = 0
    for (const r of await inFlight) {
      if (r.status === 'fulfilled') signed++
      else if ((r.reason as { details?: { pending?: boolean } }).details?.pending) {
        expect(r.reason).toMatchObject({ code: 'unavailable', details: { pending: true } })
        signed++
      } else expect(r.reason).toMatchObject({ code: 'unavailable', details: { reachable: false } })
    }
    expect(signed).toBeGreaterThan(0)
    const restarted = payee
    const seq = 20 + signed
    await waitUntil(() => restarted.engine.get(id).seq === seq, 15_000, 'the kept payments to reach the restarted payee')
    expect(payee.engine.get(id)).toMatchObject({ seq, paidSats: 200 + signed, state: 'open' })
    const before = payer
    await waitUntil(() => before.engine.get(id).seq === seq, 15_000, 'the payer to hear the acknowledgements')

    // Payer restarts; its history and the payee's agree, and it carries on.
    const p = { dir: payer.dir, key: payer.key, port: payer.port }
    await payer.stop()
    payer = await side(p)
    await connect(payer, payee)
    expect(payer.engine.get(id)).toMatchObject({ seq, paidSats: 200 + signed, state: 'open' })
    expect(await payer.engine.pay({ channelId: id, sats: 5 })).toMatchObject({ seq: seq + 1, paidSats: 205 + signed })
    expect(payee.engine.get(id).payments[0]).toMatchObject({ seq: seq + 1, sats: 5, status: 'acked' })

    const closed = await payer.engine.close(id)
    expect(closed.settlementTxid).not.toBeNull()
  }, 40_000)
})
