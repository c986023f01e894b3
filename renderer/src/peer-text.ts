import type { Peer } from '../../shared/contract/index.js'
import { shortClock } from './human.js'

/** Longest reason shown from the engine: one line, never a wall of text. */
const REASON_MAX = 160

/** The engine's reason in one tidy line (trimmed, shortened), or null when it gave none. */
export function unreachableReason(peer: Pick<Peer, 'unreachable'>): string | null {
  const reason = peer.unreachable?.reason.replace(/\s+/g, ' ').trim() ?? ''
  if (reason === '') return null
  return reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX - 1)}…` : reason
}

/**
 * Whether a peer can be reached, in words: "Connected (direct)", "Connected (through a
 * relay)", "Unreachable since 14:02 — connection refused", "Not connected".
 */
export function reachabilityText(peer: Pick<Peer, 'reachability' | 'connected' | 'connection' | 'unreachable'>, now: number = Date.now()): string {
  if (peer.reachability === 'connected' || peer.connected) {
    if (peer.connection === 'relayed') return 'Connected (through a relay)'
    if (peer.connection === 'direct') return 'Connected (direct)'
    return 'Connected'
  }
  if (peer.reachability === 'unreachable') {
    const since = peer.unreachable ? Date.parse(peer.unreachable.since) : Number.NaN
    const reason = unreachableReason(peer)
    return `Unreachable${Number.isNaN(since) ? '' : ` since ${shortClock(since, now)}`}${reason ? ` — ${reason}` : ''}`
  }
  return 'Not connected'
}

/** Why Pay is held while the payee cannot be reached; null while it may be reached. */
export function payeeUnreachableText(peer: Pick<Peer, 'reachability' | 'connected' | 'unreachable'> | undefined): string | null {
  if (!peer || peer.connected || peer.reachability !== 'unreachable') return null
  const reason = unreachableReason(peer)
  return `The payee cannot be reached right now${reason ? ` (${reason})` : ''}; paying waits until they are back.`
}
