import { afterEach, describe, expect, it, vi } from 'vitest'
import { PeerSchema } from '../../shared/contract/index.js'
import { MAX_MULTIADDRS_PER_PEER, PeerDirectory } from './peer-directory.js'

const directories: PeerDirectory[] = []
function make(init: ConstructorParameters<typeof PeerDirectory>[0] = {}): PeerDirectory {
  const d = new PeerDirectory(init)
  directories.push(d)
  return d
}

afterEach(async () => {
  await Promise.all(directories.splice(0).map((d) => d.stop()))
  vi.useRealTimers()
})

// Time passes only when a test moves the fake clock: ttls (measured on `now`) and the
// coalescing timer land exactly where the test says, however slow the machine.
const fakeClock = (): (() => number) => {
  vi.useFakeTimers()
  return () => Date.now()
}

describe('PeerDirectory', () => {
  it('keeps at most max entries under a flood of 5,000 discoveries, and coalesces notifications', async () => {
    const now = fakeClock()
    const directory = make({ max: 100, changeIntervalMs: 50, now })
    await directory.start()
    let notifications = 0
    directory.onChange(() => notifications++)
    for (let i = 0; i < 5000; i++) {
      directory.upsert({ peerId: `peer-${i}`, multiaddrs: [`/ip4/10.0.${i % 256}.1/tcp/4001`], source: 'discovery' })
    }
    expect(directory.size).toBe(100)
    // The survivors are the most recent ones, newest first.
    const list = directory.list()
    expect(list[0]?.peerId).toBe('peer-4999')
    expect(list.at(-1)?.peerId).toBe('peer-4900')
    // One notification at the end of the interval, for all 5,000 updates, and none after.
    vi.advanceTimersByTime(49)
    expect(notifications).toBe(0)
    vi.advanceTimersByTime(1)
    expect(notifications).toBe(1)
    vi.advanceTimersByTime(10 * 50)
    expect(notifications).toBe(1)
    for (const peer of list) expect(PeerSchema.safeParse(peer).success).toBe(true)
  })

  it('forgets peers not seen within the ttl, but never a connected one', async () => {
    const now = fakeClock()
    const directory = make({ ttlMs: 200, now })
    directory.upsert({ peerId: 'gone', source: 'discovery' })
    directory.upsert({ peerId: 'connected', source: 'connection', connected: true, connection: 'direct' })
    vi.advanceTimersByTime(200)
    expect(directory.size).toBe(2)
    vi.advanceTimersByTime(1)
    expect(directory.list().map((p) => p.peerId)).toEqual(['connected'])
    expect(directory.get('gone')).toBeUndefined()
    // Once disconnected the ttl applies again, from the disconnect.
    directory.markDisconnected('connected')
    vi.advanceTimersByTime(200)
    expect(directory.size).toBe(1)
    vi.advanceTimersByTime(1)
    expect(directory.size).toBe(0)
  })

  it('merges partial updates and bounds multiaddrs', () => {
    const directory = make()
    directory.upsert({ peerId: 'a', name: 'Alice', source: 'mdns', multiaddrs: ['/ip4/10.0.0.1/tcp/1'] })
    const many = Array.from({ length: 40 }, (_, i) => `/ip4/10.0.1.${i}/tcp/1`)
    directory.upsert({ peerId: 'a', multiaddrs: [...many, 'x'.repeat(2000)] })
    const peer = directory.markConnected('a', 'relayed')
    expect(peer.name).toBe('Alice')
    expect(peer.source).toBe('mdns')
    expect(peer.connection).toBe('relayed')
    expect(peer.multiaddrs).toHaveLength(MAX_MULTIADDRS_PER_PEER)
    expect(peer.multiaddrs[0]).toBe(many[0])
    expect(directory.markDisconnected('a')?.connection).toBe('none')
    // A key given as undefined clears the field (an announcement that no longer names its author).
    expect(directory.upsert({ peerId: 'a', name: undefined }).name).toBeUndefined()
    expect(directory.get('a')?.multiaddrs).toHaveLength(MAX_MULTIADDRS_PER_PEER)
    expect(directory.markDisconnected('unknown')).toBeUndefined()
    expect(directory.has('unknown')).toBe(false)
  })

  it('stops notifying after stop, and notifies again after a restart', async () => {
    fakeClock()
    const directory = make({ changeIntervalMs: 20 })
    let notifications = 0
    directory.onChange(() => notifications++)
    await directory.start()
    directory.upsert({ peerId: 'a' })
    await directory.stop()
    // Well past the moment the pending notification was due, and no timer left to fire.
    vi.advanceTimersByTime(10 * 20)
    expect(notifications).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    await directory.start()
    directory.upsert({ peerId: 'b' })
    vi.advanceTimersByTime(20)
    expect(notifications).toBe(1)
  })

  it('refuses nonsense bounds', () => {
    expect(() => new PeerDirectory({ max: 0 })).toThrow(/max/)
    expect(() => new PeerDirectory({ ttlMs: -1 })).toThrow(/ttlMs/)
  })
})
