import { describe, expect, it } from 'vitest'
import type { WalletInfo, WalletTransaction } from '../../../shared/contract/index.js'
import { addressProblem, mnemonicProblem } from '../wallet-text.js'
import { historyKey, mergeHistory, walletDomain, walletTotal } from './wallet-slice.js'

const wallet = (confirmed: number, unconfirmed: number, over: Partial<WalletInfo> = {}): WalletInfo => ({
  network: 'devnet',
  address: 'mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn',
  balance: { confirmed, unconfirmed },
  ready: true,
  ...over,
})
const tx = (seq: number, over: Partial<WalletTransaction> = {}): WalletTransaction => ({
  seq,
  txid: seq.toString(16).padStart(64, '0'),
  direction: 'in',
  sats: 1000 * seq,
  fee: 0,
  address: null,
  height: null,
  createdAt: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
  ...over,
})

describe('wallet slice', () => {
  it('takes the whole wallet from each event and from the snapshot', async () => {
    const next = wallet(5, 7)
    expect(walletDomain.events.wallet!(next, { wallet: wallet(1, 0) })).toEqual({ wallet: next })
    const loaded = await walletDomain.load({ getWallet: async () => next } as never)
    expect(loaded.wallet).toBe(next)
    expect(walletDomain.initial.wallet).toBeNull()
    // The event carries the whole state: an overtaken snapshot is dropped, not merged.
    expect(walletDomain.merge).toBeUndefined()
  })

  it('counts both balances and changes the history key on every change that matters', () => {
    expect(walletTotal(wallet(1500, 250))).toBe(1750)
    const base = historyKey(wallet(1000, 0))
    expect(historyKey(wallet(1000, 0))).toBe(base)
    // A confirmation keeps the total but moves coins between the two: the heights changed.
    expect(historyKey(wallet(0, 1000))).not.toBe(base)
    expect(historyKey(wallet(1000, 0, { address: 'n2ZfsGRzShJ2NaFfQbZ5zuYyPzMudyaS9B' }))).not.toBe(base)
    expect(historyKey(null)).toBe('')
  })

  it('merges history pages newest first, each transaction once, the later copy winning', () => {
    const first = [tx(5), tx(4), tx(3)]
    const more = mergeHistory(first, [tx(2), tx(1)])
    expect(more.map((t) => t.seq)).toEqual([5, 4, 3, 2, 1])
    const confirmed = tx(4, { height: 12 })
    const refreshed = mergeHistory(more, [tx(6), tx(5), confirmed])
    expect(refreshed.map((t) => t.seq)).toEqual([6, 5, 4, 3, 2, 1])
    expect(refreshed[2]).toBe(confirmed)
  })
})

describe('wallet text', () => {
  it('explains a malformed address and accepts a well-formed one', () => {
    expect(addressProblem('')).toMatch(/Enter the address/)
    expect(addressProblem('mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRf0')).toMatch(/“0” never appears/)
    expect(addressProblem('mipcBbFg9g')).toMatch(/26 to 40 characters/)
    expect(addressProblem('mipcBbFg9gMiCh81 Kj8tqqdgoZub1ZJRfn')).toMatch(/no spaces/)
    expect(addressProblem('  mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn ')).toBeNull()
  })

  it('checks the word count and letters of a recovery phrase', () => {
    expect(mnemonicProblem('  ')).toMatch(/Enter your recovery phrase/)
    expect(mnemonicProblem('abandon '.repeat(11))).toMatch(/this one has 11/)
    expect(mnemonicProblem(`${'abandon '.repeat(11)}ab0ut`)).toMatch(/only words of letters/)
    expect(mnemonicProblem(`${'Abandon  '.repeat(11)}about`)).toBeNull()
  })
})
