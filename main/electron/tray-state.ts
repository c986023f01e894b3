import type { Health } from '../../shared/contract/index.js'

export type TrayIcon = 'ok' | 'degraded' | 'offline'

export interface TrayState {
  icon: TrayIcon
  /** One line, shown on hover (kept short: some platforms cut it at 127 characters). */
  tooltip: string
  /** Disabled menu lines under the title, in words. */
  statusLines: string[]
}

const PRODUCT = 'BSV P2P Wallet'

const RELAY_LINE: Record<Health['relay']['state'], string> = {
  reserved: 'Relay: reachable through the relay',
  connecting: 'Relay: unreachable, retrying',
  unavailable: 'Relay: unreachable, retrying',
  disabled: 'Relay: none configured',
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/**
 * Health and the unread message count in, tray picture out. Null health (engine not started
 * yet) reads as offline. Unread messages lead the tooltip: they are what a person acts on.
 */
export function trayStateFor(health: Health | null, unread = 0): TrayState {
  const unreadText = unread > 0 ? `${unread.toLocaleString('en-US')} unread message${unread === 1 ? '' : 's'}` : null
  if (!health || health.status === 'down') {
    const lines = ['Offline: the node is not running']
    if (unreadText) lines.push(`Messages: ${unreadText}`)
    return { icon: 'offline', tooltip: [`${PRODUCT}: offline`, unreadText].filter(Boolean).join(' · '), statusLines: lines }
  }
  const icon: TrayIcon = health.status === 'ok' ? 'ok' : 'degraded'
  const peers = plural(health.connections, 'peer')
  const channels = health.channels ? plural(health.channels.open, 'channel') : null
  const relayShort = health.relay.state === 'reserved' ? 'relay ok' : health.relay.state === 'disabled' ? 'no relay' : 'relay unreachable'
  const tooltip = [`${PRODUCT}: ${health.status === 'ok' ? 'ok' : 'degraded'}`, unreadText, relayShort, peers, channels].filter(Boolean).join(' · ')
  const statusLines = [health.status === 'ok' ? 'Everything is working' : 'Working with reduced reach', RELAY_LINE[health.relay.state], `Peers: ${health.connections} connected`]
  if (health.channels) statusLines.push(`Channels: ${health.channels.open} open, ${health.channels.pending} pending`)
  if (health.chain?.height != null) statusLines.push(`Chain: block ${health.chain.height}`)
  if (unreadText) statusLines.push(`Messages: ${unreadText}`)
  return { icon, tooltip: tooltip.slice(0, 127), statusLines }
}

export function sameTrayState(a: TrayState | null, b: TrayState): boolean {
  return !!a && a.icon === b.icon && a.tooltip === b.tooltip && a.statusLines.join('\n') === b.statusLines.join('\n')
}
