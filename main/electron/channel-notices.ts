import type { Channel } from '../../shared/contract/index.js'
import { type DesktopNotice, type PeerNamer, shortPeerName } from './notifications.js'

/** What a notice needs to remember of a channel between two of its events. */
export interface ChannelMemory {
  state: Channel['state']
  paidSats: number
  problem?: NonNullable<Channel['problem']>['code'] | null
}

const sats = (n: number): string => `${n.toLocaleString('en-US')} sat${n === 1 ? '' : 's'}`

/**
 * The notice one channel event deserves, given what the previous event of that channel
 * said (undefined: never seen). A channel emits on every save (each payment, each chain
 * check), so only a change of state or a grown amount is news; repeats say nothing.
 */
export function channelNotice(prev: ChannelMemory | undefined, next: Channel, peerName: PeerNamer = shortPeerName): DesktopNotice | null {
  const peer = peerName(next.peerId)
  if (prev === undefined || prev.state !== next.state) {
    switch (next.state) {
      case 'proposed':
        return next.role === 'payee' && prev === undefined ? { title: 'Channel proposed', body: `${peer} wants to open a channel of ${sats(next.capacitySats)} to pay you. Accept or reject it in Channels.` } : null
      case 'open':
        return { title: 'Channel open', body: next.role === 'payer' ? `Your ${sats(next.capacitySats)} channel to ${peer} is open.` : `${peer} opened a ${sats(next.capacitySats)} channel to pay you.` }
      case 'closed':
        return { title: 'Channel closed', body: `The channel with ${peer} is settled: ${sats(next.paidSats)} ${next.role === 'payee' ? 'received' : 'paid'}.` }
      case 'refunded':
        return { title: 'Channel refunded', body: next.role === 'payer' ? `The channel with ${peer} expired; its funds came back to your wallet.` : `The channel with ${peer} expired and was refunded to the payer.` }
      case 'failed':
        if (prev === undefined) return null
        if (next.failure === 'funding-lost' && next.role === 'payee' && next.paidSats > 0) return { title: 'Channel funding lost', body: `The funding of the channel with ${peer} was double-spent: the ${sats(next.paidSats)} received through it are lost.` }
        return { title: 'Channel failed', body: `The channel with ${peer} could not be opened. No funds left your wallet for it.` }
      case 'rejected':
        return next.role === 'payer' && prev !== undefined ? { title: 'Channel rejected', body: `${peer} declined your channel.` } : null
      default:
        return null
    }
  }
  // A problem can cost money if nobody looks: say so once when it appears.
  if (next.problem && next.problem.code !== prev.problem) return { title: 'A channel needs your attention', body: `Channel with ${peer}: ${next.problem.message}` }
  if (next.role === 'payee' && next.paidSats > prev.paidSats) {
    return { title: `Received ${sats(next.paidSats - prev.paidSats)}`, body: `Through the channel with ${peer}; ${sats(next.paidSats)} of ${sats(next.capacitySats)} paid so far.` }
  }
  return null
}

/**
 * Remembers each channel's last state and amount so notices say what changed. Seeded with
 * the channels that exist at start, so an old channel's first event is not taken for news.
 */
export class ChannelNoticeTracker {
  private readonly known = new Map<string, ChannelMemory>()

  /** `peerName`: how notices name the peer (the user's contact name where there is one). */
  constructor(private readonly peerName: PeerNamer = shortPeerName) {}

  /** Channels known before any event; never overwrites what an event already told. */
  seed(channels: readonly Channel[]): void {
    for (const c of channels) if (!this.known.has(c.id)) this.known.set(c.id, { state: c.state, paidSats: c.paidSats, problem: c.problem?.code ?? null })
  }

  observe(channel: Channel): DesktopNotice | null {
    const prev = this.known.get(channel.id)
    // An amount never goes back: a late event carrying an older amount changes nothing.
    this.known.set(channel.id, { state: channel.state, paidSats: Math.max(channel.paidSats, prev?.paidSats ?? 0), problem: channel.problem?.code ?? null })
    return channelNotice(prev, channel, this.peerName)
  }
}
