import type { WalletInfo, WalletTransaction } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

export interface WalletSlice {
  /** The wallet's snapshot (address, balance, readiness); null until first loaded. */
  wallet: WalletInfo | null
}

/** What the wallet can spend: mined coins and those still in the mempool. */
export const walletTotal = (w: WalletInfo): number => w.balance.confirmed + w.balance.unconfirmed

/**
 * A key that changes whenever the history may have: a new coin, a spend, a confirmation
 * (unconfirmed moves to confirmed) or a restore (another address). The view reloads its
 * history when it changes, never on a timer.
 */
export const historyKey = (w: WalletInfo | null): string => (w ? `${w.address}:${w.balance.confirmed}:${w.balance.unconfirmed}:${w.ready}` : '')

/** One list, newest first by seq, each transaction once (the later copy wins). */
export function mergeHistory(list: WalletTransaction[], page: WalletTransaction[]): WalletTransaction[] {
  const bySeq = new Map(list.map((t) => [t.seq, t]))
  for (const t of page) bySeq.set(t.seq, t)
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq)
}

export const walletDomain = defineDomain<WalletSlice>({
  name: 'wallet',
  initial: { wallet: null },
  load: async (api) => ({ wallet: await api.getWallet() }),
  // Each event carries the whole wallet: the newest one wins, an overtaken snapshot is dropped.
  events: { wallet: (wallet) => ({ wallet }) },
})
