import { describe, expect, it } from 'vitest'
import type { Health } from '../../shared/contract/index.js'
import { NoticeLimiter, noticeFor } from './notifications.js'
import { TrayController, type TrayMenuItem } from './tray.js'
import { trayStateFor } from './tray-state.js'

const health = (over: Partial<Health> = {}): Health => ({
  status: 'ok',
  reasons: [],
  version: '0.1.0',
  peerId: '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ',
  uptimeSeconds: 10,
  relay: { state: 'reserved', relays: [] },
  connections: 3,
  peers: 5,
  multiaddrs: [],
  memory: { rss: 1, heapUsed: 1 },
  ...over,
})

describe('tray state (pure)', () => {
  it('maps health to the three icons', () => {
    expect(trayStateFor(null).icon).toBe('offline')
    expect(trayStateFor(health({ status: 'down' })).icon).toBe('offline')
    expect(trayStateFor(health()).icon).toBe('ok')
    expect(trayStateFor(health({ status: 'degraded', relay: { state: 'unavailable', relays: [] } })).icon).toBe('degraded')
  })

  it('says relay state, peers and channels in the tooltip and menu', () => {
    const ok = trayStateFor(health({ channels: { open: 2, pending: 1, total: 4 }, chain: { state: 'ok', height: 812, network: 'devnet' } }))
    expect(ok.tooltip).toBe('BSV P2P Wallet: ok · relay ok · 3 peers · 2 channels')
    expect(ok.statusLines).toEqual(['Everything is working', 'Relay: reachable through the relay', 'Peers: 3 connected', 'Channels: 2 open, 1 pending', 'Chain: block 812'])
    const degraded = trayStateFor(health({ status: 'degraded', connections: 1, relay: { state: 'connecting', relays: [] } }))
    expect(degraded.tooltip).toBe('BSV P2P Wallet: degraded · relay unreachable · 1 peer')
    expect(degraded.statusLines[1]).toBe('Relay: unreachable, retrying')
    expect(trayStateFor(health({ relay: { state: 'disabled', relays: [] } })).tooltip).toContain('no relay')
    expect(trayStateFor(health({ connections: 123456789 })).tooltip.length).toBeLessThanOrEqual(127)
  })
})

describe('tray controller', () => {
  it('swaps images only on change, builds the menu, and disposes', () => {
    const log: string[] = []
    let menu: TrayMenuItem[] = []
    let clicked: (() => void) | null = null
    const opened: string[] = []
    const controller = new TrayController<string, TrayMenuItem[]>({
      createTray: (image) => {
        log.push(`create:${image}`)
        return {
          setImage: (i) => log.push(`image:${i}`),
          setToolTip: (t) => log.push(`tip:${t.split(':')[1]?.split(' ·')[0]?.trim()}`),
          setContextMenu: (m) => (menu = m ?? []),
          on: (_e, l) => (clicked = l),
          destroy: () => log.push('destroy'),
        }
      },
      images: { ok: 'green', degraded: 'amber', offline: 'grey' },
      buildMenu: (items) => items,
      onOpen: () => opened.push('open'),
      onQuit: () => opened.push('quit'),
    })
    controller.update(health())
    controller.update(health())
    controller.update(health({ connections: 4 }))
    controller.update(health({ status: 'degraded', relay: { state: 'unavailable', relays: [] } }))
    expect(log).toEqual(['create:grey', 'tip:offline', 'image:green', 'tip:ok', 'tip:ok', 'image:amber', 'tip:degraded'])
    expect(menu.map((m) => m.label ?? '—')).toEqual(['Open BSV P2P Wallet', '—', 'Working with reduced reach', 'Relay: unreachable, retrying', 'Peers: 3 connected', '—', 'Quit'])
    expect(menu.filter((m) => m.enabled === false)).toHaveLength(3)
    clicked!()
    menu.at(-1)!.click!()
    expect(opened).toEqual(['open', 'quit'])
    controller.dispose()
    controller.update(health())
    expect(log.at(-1)).toBe('destroy')
  })
})

describe('desktop notifications (pure)', () => {
  const message = { id: 'm1', seq: 1, peerId: '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ', direction: 'in' as const, text: 'hello\n  there', sentAt: '', receivedAt: '', status: 'received' as const }
  it('notifies incoming messages only, never health or our own', () => {
    expect(noticeFor('message', message)).toEqual({ title: 'Message from 12D3KooWSU…P2WskZ', body: 'hello there' })
    expect(noticeFor('message', { ...message, direction: 'out', status: 'delivered' })).toBeNull()
    expect(noticeFor('health', health())).toBeNull()
    expect(noticeFor('message', { ...message, text: 'x'.repeat(500) })!.body.length).toBe(120)
  })

  it('turns a burst into a few notices and a summary', () => {
    const limiter = new NoticeLimiter(2, 1000)
    const n = { title: 't', body: 'b' }
    expect(limiter.admit(n, 0)).toEqual(n)
    expect(limiter.admit(n, 10)).toEqual(n)
    expect(limiter.admit(n, 20)).toBeNull()
    expect(limiter.admit(n, 30)).toBeNull()
    expect(limiter.admit(n, 1500)).toEqual({ title: 't', body: 'b (and 2 more)' })
  })
})
