import type { Message } from '../../shared/contract/index.js'
import { type DesktopNotice, type PeerNamer, noticeFor, shortPeerName } from './notifications.js'

export interface MessageNoticesDelegate {
  show(notice: DesktopNotice): void
  /** Whether someone is looking at the window: then the Messages view says it, not a pop-up. */
  windowSeen(): boolean
  peerName?: PeerNamer
  setTimeout?: (fn: () => void, ms: number) => unknown
  clearTimeout?: (handle: unknown) => void
}

export interface MessageNoticesInit {
  /** After a notice, further messages within this window become one summary at its end. Default 10 s. */
  windowMs?: number
}

/**
 * Desktop notices for received messages while the window is hidden: the first at once,
 * named by the peer's name; whatever follows within the window becomes ONE summary at its
 * end ("5 more messages", from whom), however many arrive. People turn off apps that shout.
 */
export class MessageNotices {
  private readonly windowMs: number
  private readonly peerName: PeerNamer
  private readonly setTimer: (fn: () => void, ms: number) => unknown
  private readonly clearTimer: (handle: unknown) => void
  private timer: unknown = null
  private held = 0
  private readonly heldFrom = new Map<string, number>()

  constructor(
    private readonly delegate: MessageNoticesDelegate,
    init: MessageNoticesInit = {},
  ) {
    this.windowMs = init.windowMs ?? 10_000
    this.peerName = delegate.peerName ?? shortPeerName
    this.setTimer =
      delegate.setTimeout ??
      ((fn, ms) => {
        const handle = setTimeout(fn, ms)
        handle.unref?.()
        return handle
      })
    this.clearTimer = delegate.clearTimeout ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>))
  }

  observe(message: Message): void {
    if (message.direction !== 'in' || message.status !== 'received' || this.delegate.windowSeen()) return
    if (this.timer === null) {
      const notice = noticeFor('message', message, undefined, this.peerName)
      if (notice) this.delegate.show(notice)
      this.timer = this.setTimer(() => this.endWindow(), this.windowMs)
      return
    }
    this.held++
    this.heldFrom.set(message.peerId, (this.heldFrom.get(message.peerId) ?? 0) + 1)
  }

  private endWindow(): void {
    this.timer = null
    if (this.held === 0) return
    const summary = summaryNotice(this.held, [...this.heldFrom.keys()], this.peerName)
    this.held = 0
    this.heldFrom.clear()
    this.delegate.show(summary)
    // The summary opens a window of its own: a steady flood is one notice per window.
    this.timer = this.setTimer(() => this.endWindow(), this.windowMs)
  }

  dispose(): void {
    if (this.timer !== null) this.clearTimer(this.timer)
    this.timer = null
    this.held = 0
    this.heldFrom.clear()
  }
}

/** "5 more messages" from up to three named peers, then "and N others". */
export function summaryNotice(count: number, peerIds: string[], peerName: PeerNamer): DesktopNotice {
  const names = peerIds.slice(0, 3).map(peerName)
  const others = peerIds.length - names.length
  const from = others > 0 ? `${names.join(', ')} and ${others} other${others === 1 ? '' : 's'}` : names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]
  return { title: `${count.toLocaleString('en-US')} more message${count === 1 ? '' : 's'}`, body: `From ${from}. Open BSV P2P Wallet to read them.` }
}
