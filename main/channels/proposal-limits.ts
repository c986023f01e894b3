import type { ChannelBook } from './channel-book.js'
import { ChannelRefusal } from './protocol.js'

export interface ProposalLimitsInit {
  /** Channels proposed to us by one peer that are not open yet (default 8). */
  perPeer: number
  /** Channels proposed to us by all peers that are not open yet (default 256). */
  total: number
}

/**
 * Bounds the proposals a payee holds before they are funded: per peer and in all, counting
 * those being handled right now, so a thousand proposals sent at once cannot all pass the
 * check before the first is stored. Unfunded ones expire (channels.proposalTimeoutMs).
 */
export class ProposalLimits {
  private readonly inflight = new Map<string, number>()
  private inflightTotal = 0

  constructor(
    private readonly book: Pick<ChannelBook, 'values'>,
    private readonly init: ProposalLimitsInit,
  ) {}

  pending(): { total: number; byPeer: Map<string, number> } {
    const byPeer = new Map(this.inflight)
    let total = this.inflightTotal
    for (const c of this.book.values()) {
      if (c.role !== 'payee' || (c.state !== 'proposed' && c.state !== 'funding')) continue
      byPeer.set(c.peerId, (byPeer.get(c.peerId) ?? 0) + 1)
      total++
    }
    return { total, byPeer }
  }

  /** Holds a slot for a proposal from `peerId` until the returned release is called; refuses with `limit` when none is left. */
  reserve(peerId: string): () => void {
    const { total, byPeer } = this.pending()
    if ((byPeer.get(peerId) ?? 0) >= this.init.perPeer) throw new ChannelRefusal('limit', `at most ${this.init.perPeer} unfunded channels per peer`)
    if (total >= this.init.total) throw new ChannelRefusal('limit', 'too many unfunded channels; try again later')
    this.inflight.set(peerId, (this.inflight.get(peerId) ?? 0) + 1)
    this.inflightTotal++
    let released = false
    return () => {
      if (released) return
      released = true
      this.inflightTotal--
      const n = (this.inflight.get(peerId) ?? 1) - 1
      if (n <= 0) this.inflight.delete(peerId)
      else this.inflight.set(peerId, n)
    }
  }
}
