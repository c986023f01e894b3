import { describe, expect, it } from 'vitest'
import type { WalletTransaction } from '../../shared/contract/index.js'
import { channelOfTransaction, transactionTitle } from './history-text.js'

const CH = 'dc3c7ba6e1f04b2a9c8d7e6f5a4b3c2d'
const PEER = '12D3KooWJbQnRkY3Lh3SmwS3EhF9SZ7mRDC2f2XvC3nTqpCtpQm2'
const tx = (over: Partial<WalletTransaction> = {}): WalletTransaction => ({
  seq: 1, txid: 'a'.repeat(64), direction: 'out', sats: 50_000, fee: 120, address: `channel:${CH}`, height: null, createdAt: new Date(0).toISOString(), ...over,
})

describe('history text', () => {
  it('names the peer and the channel of a channel funding, settlement and refund', () => {
    expect(transactionTitle(tx({ channel: { id: CH, peerId: PEER, kind: 'funding' } }), 'Alice')).toEqual({ title: 'Channel funding to Alice', detail: 'channel dc3c7ba6e1f0…', channelId: CH })
    expect(transactionTitle(tx({ direction: 'in', address: 'mx1', channel: { id: CH, peerId: PEER, kind: 'settlement' } }), 'Alice').title).toBe('Settlement from the channel with Alice')
    expect(transactionTitle(tx({ direction: 'in', address: 'mx1', channel: { id: CH, peerId: PEER, kind: 'refund' } }), 'Alice').title).toBe('Refund from the channel with Alice')
  })

  it('reads an older node\'s channel:<id> address, and never shows it raw', () => {
    const t = tx()
    expect(channelOfTransaction(t)).toEqual({ id: CH, peerId: null, kind: 'funding' })
    const words = transactionTitle(t, null)
    expect(words).toEqual({ title: 'Channel funding', detail: 'channel dc3c7ba6e1f0…', channelId: CH })
    expect(JSON.stringify(words)).not.toContain('channel:')
  })

  it('keeps plain sends and receipts as they were', () => {
    expect(transactionTitle(tx({ address: 'mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn' }), null)).toEqual({ title: 'Sent', detail: 'to mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn', channelId: null })
    expect(transactionTitle(tx({ direction: 'in', address: null }), null)).toEqual({ title: 'Received', detail: null, channelId: null })
  })
})
