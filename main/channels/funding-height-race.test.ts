// A channel opened at 0 confirmations learns its funding's block height from the chain
// watch while payments flow (issue 19's bench found this): payments move the live
// record's amounts in place, off the mailbox, so writing the height must not put back a
// copy taken before them. It did: the payee's record went back a state in memory and
// refused the next settlement ("does not follow"), which stopped the channel's payments.
import { describe, expect, it } from 'vitest'
import { usePair, waitUntil } from './test/harness.js'

describe('the funding height arriving while payments flow', () => {
  const pair = usePair(2_000_000)

  it('keeps every payment made meanwhile, in memory and on disk, and payments go on', async () => {
    const { devnet, payer, payee } = pair
    const channelId = (await payer.engine.open({ peerId: payee.peerId, capacitySats: 400_000 })).id
    expect(payee.engine.book.get(channelId)).toMatchObject({ state: 'open', fundingHeight: null })
    devnet.mine(1)
    // Payments in flight all along (four callers, one at a time each) while each side's
    // chain watch records the height.
    let stop = false
    let made = 0
    const paying = Promise.all(Array.from({ length: 4 }, async () => {
      while (!stop) {
        await payer.engine.pay({ channelId, sats: 1 })
        made++
      }
    }))
    await waitUntil(() => made >= 20, 10_000, 'payments flowing')
    // A write of an open record takes as long as a few payments: how the bench met it
    // under load, here on every run.
    for (const side of [payer, payee]) {
      const book = side.engine.book
      const put = book.put.bind(book)
      book.put = async (next) => {
        if (next.state === 'open') {
          const from = made
          await waitUntil(() => made >= from + 3, 10_000, 'payments during the write')
        }
        return put(next)
      }
    }
    await Promise.all([payee.engine.checkChain(), payer.engine.checkChain()])
    const seen = made
    await waitUntil(() => made >= seen + 20, 10_000, 'payments after the height')
    stop = true
    await paying
    const last = await payer.engine.pay({ channelId, sats: 1 })
    expect(last.seq).toBe(made + 1)
    made++
    const held = payee.engine.book.get(channelId)
    expect(held).toMatchObject({ seq: made, paidSats: made })
    expect(held && 'fundingHeight' in held ? held.fundingHeight : null).not.toBeNull()
    expect(payee.engine.book.repo.get(channelId)).toMatchObject({ seq: made, paidSats: made })
    expect(payer.engine.book.get(channelId)).toMatchObject({ seq: made, paidSats: made })
  }, 30_000)
})
