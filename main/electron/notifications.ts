import type { EventName, EventPayload } from '../../shared/contract/index.js'
import type { ChannelNoticeTracker } from './channel-notices.js'

export interface DesktopNotice {
  title: string
  body: string
}

/** How a notice names a peer: the user's contact name, else its announced name, else a short id. */
export type PeerNamer = (peerId: string) => string

export const shortPeerName: PeerNamer = (id) => (id.length <= 16 ? id : `${id.slice(0, 10)}…${id.slice(-6)}`)

/** A namer from a lookup of the user's or announced name (the engine's `peerName`), with the short id as the fallback. */
export function peerNamer(lookup: (peerId: string) => string | undefined): PeerNamer {
  return (id) => {
    try {
      return lookup(id) ?? shortPeerName(id)
    } catch {
      // A stopped or restarting engine cannot look names up; a notice still goes out.
      return shortPeerName(id)
    }
  }
}

type Rule<E extends EventName> = (payload: EventPayload<E>, peerName: PeerNamer) => DesktopNotice | null

/**
 * Which events deserve a desktop notification, as pure rules per event. Channel changes
 * and incoming channel payments need the channel's previous event, so `channels` goes
 * through a ChannelNoticeTracker instead; health changes are the tray's job and never pop up.
 */
const NOTIFICATION_RULES: { [E in EventName]?: Rule<E> } = {
  message: (m, peerName) => (m.direction === 'in' && m.status === 'received' ? { title: `Message from ${peerName(m.peerId)}`, body: preview(m.text) } : null),
}

export function noticeFor<E extends EventName>(event: E, payload: EventPayload<E>, channels?: ChannelNoticeTracker, peerName: PeerNamer = shortPeerName): DesktopNotice | null {
  if (event === 'channels') return channels ? channels.observe(payload as EventPayload<'channels'>) : null
  const rule = NOTIFICATION_RULES[event] as Rule<E> | undefined
  return rule ? rule(payload, peerName) : null
}

function preview(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length > 120 ? `${oneLine.slice(0, 119)}…` : oneLine
}

/**
 * A burst (a peer sending many messages, many channels changing at once) becomes at most
 * `max` notices per window, then one summary: people turn off apps that shout.
 */
export class NoticeLimiter {
  private times: number[] = []
  private suppressed = 0

  constructor(
    private readonly max = 3,
    private readonly windowMs = 10_000,
  ) {}

  admit(notice: DesktopNotice, now: number): DesktopNotice | null {
    this.times = this.times.filter((t) => now - t < this.windowMs)
    if (this.times.length < this.max) {
      this.times.push(now)
      if (this.suppressed > 0) {
        const n = this.suppressed
        this.suppressed = 0
        return { title: notice.title, body: `${notice.body} (and ${n} more)` }
      }
      return notice
    }
    this.suppressed++
    return null
  }
}
