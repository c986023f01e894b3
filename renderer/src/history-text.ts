import type { WalletTransaction } from '../../shared/contract/index.js'

/** The first 12 hex digits of a channel id, as history rows show it. */
const shortChannelId = (id: string): string => `${id.slice(0, 12)}…`

const CHANNEL_ADDRESS = /^channel:([0-9a-f]{32})$/

/** The channel a wallet transaction belongs to: from the engine's `channel` field, or (older nodes) a funding's `channel:<id>` address. */
export function channelOfTransaction(tx: WalletTransaction): { id: string; peerId: string | null; kind: 'funding' | 'settlement' | 'refund' } | null {
  if (tx.channel) return tx.channel
  const m = tx.address ? CHANNEL_ADDRESS.exec(tx.address) : null
  return m ? { id: m[1]!, peerId: null, kind: 'funding' } : null
}

/**
 * What a history row says a transaction was, given the peer's name (from PeerName) when
 * it is a channel's: "Channel funding to Alice (channel dc3c7ba6e1f0…)", never a raw
 * `channel:<id>` address.
 */
export function transactionTitle(tx: WalletTransaction, peerName: string | null): { title: string; detail: string | null; channelId: string | null } {
  const channel = channelOfTransaction(tx)
  if (!channel) {
    const incoming = tx.direction === 'in'
    return { title: incoming ? 'Received' : 'Sent', detail: tx.address ? `${incoming ? 'at' : 'to'} ${tx.address}` : null, channelId: null }
  }
  const who = peerName ?? 'a peer'
  const which = `channel ${shortChannelId(channel.id)}`
  switch (channel.kind) {
    case 'funding':
      return { title: peerName ? `Channel funding to ${who}` : 'Channel funding', detail: which, channelId: channel.id }
    case 'settlement':
      return { title: tx.direction === 'in' ? `Settlement from the channel with ${who}` : `Settlement of the channel with ${who}`, detail: which, channelId: channel.id }
    case 'refund':
      return { title: `Refund from the channel with ${who}`, detail: which, channelId: channel.id }
  }
}
