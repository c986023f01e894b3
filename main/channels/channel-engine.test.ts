// Two real channel engines (real libp2p on 127.0.0.1, real SQLite, real wallets) against
// an in-process devnet: open, pay, cooperative close; the settlement on chain pays exactly
// what both ledgers say.
import { Transaction } from '@bsv/sdk'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Channel } from '../../shared/contract/index.js'
import type { DevnetServer } from '../chain/devnet/devnet-server.js'
import { type Side, usePair, waitUntil } from './test/harness.js'

describe('channel engine: open, pay, close', () => {
  let devnet: DevnetServer
  let payer: Side
  let payee: Side

  const pair = usePair(2_000_000)
  beforeAll(() => {
    ;({ devnet, payer, payee } = pair)
  })

  it('opens a funded channel, pays 200 times (sequential and pipelined), closes cooperatively', async () => {
    const events: Channel[] = []
    payee.events.on('channels', (c) => events.push(c))
    const opened = await payer.engine.open({ peerId: payee.peerId, capacitySats: 100_000 })
    expect(opened.state).toBe('open')
    expect(opened.role).toBe('payer')
    expect(opened.fundingTxid).toMatch(/^[0-9a-f]{64}$/)
    await waitUntil(() => payee.engine.list()[0]?.state === 'open', 5000, 'payee open')
    const mirror = payee.engine.list()[0]!
    expect(mirror).toMatchObject({ id: opened.id, role: 'payee', peerId: payer.peerId, capacitySats: 100_000, fundingTxid: opened.fundingTxid })

    for (let i = 0; i < 100; i++) await payer.engine.pay({ channelId: opened.id, sats: 10 })
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => payer.engine.pay({ channelId: opened.id, sats: 5, memo: `m${i}` })))
    expect(results.at(-1)).toMatchObject({ seq: 200, paidSats: 1500 })
    expect(payee.engine.get(opened.id)).toMatchObject({ seq: 200, paidSats: 1500 })
    expect(payer.engine.get(opened.id)).toMatchObject({ seq: 200, paidSats: 1500 })
    expect(payee.engine.get(opened.id).payments).toHaveLength(200)

    const closed = await payer.engine.close(opened.id)
    expect(closed.state).toBe('closing')
    expect(closed.settlementTxid).toMatch(/^[0-9a-f]{64}$/)
    const raw = await payer.engine.components.chain.lookup.rawTx(closed.settlementTxid!)
    const tx = Transaction.fromHex(raw!)
    expect(tx.outputs[0]!.satoshis).toBe(1500)
    expect(tx.outputs[1]!.satoshis).toBe(100_000 - 1500 - closed.settlementFeeSats)
    devnet.mine(1)
    await waitUntil(() => payer.engine.get(opened.id).state === 'closed' && payee.engine.get(opened.id).state === 'closed', 5000, 'closed')
    expect(events.map((e) => e.state)).toEqual(expect.arrayContaining(['funding', 'open', 'closing', 'closed']))
    expect(payee.engine.counts()).toEqual({ open: 0, pending: 0, total: 1 })
    // An ended channel lives only on disk: still listed and readable, no longer held in memory.
    for (const s of [payer, payee]) {
      expect(s.engine.book.get(opened.id)).toBeUndefined()
      expect(s.engine.list().map((c) => [c.id, c.state])).toEqual([[opened.id, 'closed']])
      expect(s.engine.get(opened.id)).toMatchObject({ state: 'closed', seq: 200, paidSats: 1500 })
    }
    await expect(payer.engine.pay({ channelId: opened.id, sats: 1 })).rejects.toMatchObject({ code: 'invalid_state' })
    await expect(payer.engine.close(opened.id)).rejects.toMatchObject({ code: 'invalid_state' })
  }, 60_000)

  it('a proposal above the auto-accept limit waits for acceptChannel or rejectChannel', async () => {
    const pending = await payer.engine.open({ peerId: payee.peerId, capacitySats: 600_000 })
    expect(pending.state).toBe('proposed')
    await waitUntil(() => payee.engine.list().some((c) => c.id === pending.id), 5000, 'proposal stored')
    expect(payee.engine.get(pending.id).state).toBe('proposed')
    await payee.engine.acceptProposal(pending.id)
    await waitUntil(() => payer.engine.get(pending.id).state === 'open', 5000, 'payer open')
    await waitUntil(() => payee.engine.get(pending.id).state === 'open', 5000, 'payee open')
    expect(await payer.engine.pay({ channelId: pending.id, sats: 7 })).toMatchObject({ seq: 1, paidSats: 7 })

    const refused = await payer.engine.open({ peerId: payee.peerId, capacitySats: 700_000 })
    await payee.engine.rejectProposal(refused.id)
    expect(payee.engine.get(refused.id).state).toBe('rejected')
    await waitUntil(() => payer.engine.get(refused.id).state === 'rejected', 5000, 'payer rejected')
    await expect(payer.engine.pay({ channelId: refused.id, sats: 1 })).rejects.toMatchObject({ code: 'invalid_state' })
  }, 30_000)

  it('a channel the wallet cannot fund fails and reserves nothing', async () => {
    const before = payer.wallet.info().balance
    const tooBig = await payer.engine.open({ peerId: payee.peerId, capacitySats: 50_000_000 })
    expect(tooBig.state).toBe('proposed')
    await payee.engine.acceptProposal(tooBig.id)
    await waitUntil(() => payer.engine.get(tooBig.id).state === 'failed', 5000, 'payer failed')
    expect(payer.engine.get(tooBig.id).fundingTxid).toBeNull()
    expect(payer.wallet.info().balance).toEqual(before)
    const spendable = before.confirmed + before.unconfirmed
    const next = await payer.engine.open({ peerId: payee.peerId, capacitySats: Math.min(400_000, spendable - 10_000) })
    expect(next.state).toBe('open')
  }, 30_000)

  it('archives ended channels only: hidden from the listing, kept on disk with their payments', async () => {
    const all = payer.engine.list()
    const closed = all.find((c) => c.state === 'closed')!
    const failed = all.find((c) => c.state === 'failed')!
    const live = all.find((c) => c.state === 'open')!
    await expect(payer.engine.archive(live.id)).rejects.toMatchObject({ code: 'invalid_state', details: { reason: 'channel-live' } })
    await expect(payer.engine.archive('f'.repeat(32))).rejects.toMatchObject({ code: 'not_found' })

    const events: Channel[] = []
    const off = payer.events.on('channels', (c) => events.push(c))
    const archived = await payer.engine.archive(closed.id)
    expect(archived).toMatchObject({ id: closed.id, state: 'closed', paidSats: 1500, archivedAt: expect.any(String) as string })
    expect(Date.parse(archived.updatedAt)).toBeGreaterThanOrEqual(Date.parse(closed.updatedAt))
    await payer.engine.archive(failed.id)
    // Again: answered as it is, no second event.
    expect((await payer.engine.archive(closed.id)).archivedAt).toBe(archived.archivedAt)
    off()
    expect(events.map((e) => [e.id, e.archivedAt !== null])).toEqual([
      [closed.id, true],
      [failed.id, true],
    ])

    expect(payer.engine.list().map((c) => c.id)).toEqual(all.filter((c) => c.id !== closed.id && c.id !== failed.id).map((c) => c.id))
    expect(payer.engine.list({ archived: true }).map((c) => c.id).sort()).toEqual([closed.id, failed.id].sort())
    expect(payer.engine.get(closed.id)).toMatchObject({ archivedAt: archived.archivedAt, seq: 200 })
    expect(payer.engine.get(closed.id).payments).toHaveLength(200)
    // The payee's own view is its own: archiving is local.
    expect(payee.engine.list().some((c) => c.id === closed.id)).toBe(true)
    // The wallet keeps the funding in its history, and names the (archived) channel and its peer.
    const history = payer.engine.describeTransactions(payer.wallet.listTransactions({ limit: 500 }))
    expect(history.find((t) => t.txid === closed.fundingTxid)?.channel).toEqual({ id: closed.id, peerId: payee.peerId, kind: 'funding' })
    expect(history.filter((t) => t.channel === undefined).length).toBeGreaterThan(0)
    await payee.wallet.sync()
    const earned = payee.engine.describeTransactions(payee.wallet.listTransactions({ limit: 500 }))
    expect(earned.find((t) => t.txid === closed.settlementTxid)).toMatchObject({ direction: 'in', sats: 1500, channel: { id: closed.id, peerId: payer.peerId, kind: 'settlement' } })
    // A restart reads the archive back.
    payer.engine.book.load()
    expect(payer.engine.list({ archived: true }).map((c) => c.id).sort()).toEqual([closed.id, failed.id].sort())
  }, 30_000)
})
