import { describe, expect, it } from 'vitest'
import { addressKind, bestAddress, ownReachability } from './own-address.js'

const ID = '12D3KooWJbR3Y7d4GJ5QyW8dLqVvXgX6tMeVg8D1q6pY2CnctpQm'
const loop = `/ip4/127.0.0.1/tcp/4001/p2p/${ID}`
const lan = `/ip4/192.168.1.20/tcp/4001/p2p/${ID}`
const pub = `/ip4/203.0.113.5/tcp/4001/p2p/${ID}`
const pubWs = `/ip4/203.0.113.5/tcp/4002/ws/p2p/${ID}`
const relay = `/ip4/198.51.100.1/tcp/4001/p2p/12D3KooWA8EXV3KjBxEU5EnsPfneLx84vMWAtTBQBeyooN82KSuS/p2p-circuit/p2p/${ID}`

describe('own address', () => {
  it('tells kinds apart', () => {
    expect([loop, lan, pub, relay, `/ip4/10.1.2.3/tcp/1/p2p/${ID}`, `/ip4/172.20.0.1/tcp/1`, `/ip4/172.32.0.1/tcp/1`, `/ip6/::1/tcp/1`, `/ip6/fd00::1/tcp/1`].map(addressKind)).toEqual([
      'loopback',
      'local',
      'direct',
      'relay',
      'local',
      'local',
      'direct',
      'loopback',
      'local',
    ])
  })

  it('offers the best address to share: public TCP, then relay, then LAN, then loopback', () => {
    expect(bestAddress([loop, lan, relay, pubWs, pub])).toBe(pub)
    expect(bestAddress([loop, lan, relay])).toBe(relay)
    expect(bestAddress([loop, lan])).toBe(lan)
    expect(bestAddress([loop])).toBe(loop)
    expect(bestAddress([])).toBeNull()
  })

  it('says how the node is reached in words', () => {
    expect(ownReachability([pub, loop], 'disabled')).toMatchObject({ reach: 'direct', label: 'Reachable directly' })
    expect(ownReachability([relay, loop], 'reserved')).toMatchObject({ reach: 'relay', label: 'Reachable through a relay' })
    expect(ownReachability([loop], 'reserved').reach).toBe('relay')
    expect(ownReachability([lan, loop], 'unavailable')).toMatchObject({ reach: 'local', label: 'Reachable on your local network only' })
    expect(ownReachability([loop], 'disabled')).toMatchObject({ reach: 'local', label: 'Reachable from this computer only' })
    expect(ownReachability([], 'disabled')).toMatchObject({ reach: 'unreachable', label: 'Unreachable' })
  })
})
