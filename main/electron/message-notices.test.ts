import { describe, expect, it } from 'vitest'
import type { Message } from '../../shared/contract/index.js'
import { MessageNotices, summaryNotice } from './message-notices.js'
import type { DesktopNotice } from './notifications.js'
import { trayStateFor } from './tray-state.js'

const message = (peerId: string, over: Partial<Message> = {}): Message => ({ id: 'm', seq: 1, peerId, direction: 'in', text: 'hello', sentAt: '', receivedAt: '', status: 'received', ...over })

function setup(seen = false) {
  const shown: DesktopNotice[] = []
  let timers: (() => void)[] = []
  const state = { seen }
  const notices = new MessageNotices({
    show: (n) => shown.push(n),
    windowSeen: () => state.seen,
    peerName: (id) => (id === 'alice' ? 'Alice' : id === 'bob' ? 'Bob' : id),
    setTimeout: (fn) => {
      timers.push(fn)
      return timers.length
    },
    clearTimeout: () => {
      timers = []
    },
  })
  const fire = (): void => {
    const due = timers
    timers = []
    for (const fn of due) fn()
  }
  return { notices, shown, fire, state, pendingTimers: () => timers.length }
}

describe('message notices', () => {
  it('say a received message at once, by the peer name, only while the window is hidden', () => {
    const { notices, shown, state } = setup(true)
    notices.observe(message('alice'))
    expect(shown).toEqual([])
    state.seen = false
    notices.observe(message('alice', { direction: 'out', status: 'delivered' }))
    expect(shown).toEqual([])
    notices.observe(message('alice'))
    expect(shown).toEqual([{ title: 'Message from Alice', body: 'hello' }])
  })

  it('turn a flood into one summary per window', () => {
    const { notices, shown, fire, pendingTimers } = setup()
    notices.observe(message('alice'))
    for (let i = 0; i < 1000; i++) notices.observe(message(i % 2 ? 'alice' : 'bob'))
    expect(shown).toHaveLength(1)
    fire()
    expect(shown[1]).toEqual({ title: '1,000 more messages', body: 'From Bob and Alice. Open BSV P2P Wallet to read them.' })
    // A quiet window ends without a notice, and the next message is news again.
    fire()
    expect(shown).toHaveLength(2)
    expect(pendingTimers()).toBe(0)
    notices.observe(message('bob'))
    expect(shown[2]!.title).toBe('Message from Bob')
    notices.dispose()
    expect(pendingTimers()).toBe(0)
  })

  it('name at most three senders in a summary', () => {
    expect(summaryNotice(1, ['alice'], (id) => id).title).toBe('1 more message')
    expect(summaryNotice(9, ['a', 'b', 'c', 'd', 'e'], (id) => id).body).toBe('From a, b, c and 2 others. Open BSV P2P Wallet to read them.')
  })
})

describe('tray tooltip with unread messages', () => {
  it('leads with the unread count, and says none when there are none', () => {
    expect(trayStateFor(null, 3).tooltip).toBe('BSV P2P Wallet: offline · 3 unread messages')
    expect(trayStateFor(null, 1).statusLines).toContain('Messages: 1 unread message')
    expect(trayStateFor(null, 0).tooltip).toBe('BSV P2P Wallet: offline')
    expect(trayStateFor(null).tooltip).not.toMatch(/unread/)
    expect(trayStateFor(null, 12345).tooltip).toContain('12,345 unread messages')
  })
})
