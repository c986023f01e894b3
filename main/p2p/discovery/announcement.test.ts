import { describe, expect, it } from 'vitest'
import { type Announcement, checkAnnouncement, encodeAnnouncement } from './announcement.js'
import { MAX_ANNOUNCEMENT_BYTES } from './constants.js'

const AUTHOR = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const VICTIM = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const RELAY = '12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8'
const NOW = 1_800_000_000_000
const CHECK = { now: NOW, maxAgeMs: 60_000, maxFutureSkewMs: 5_000 }

const good: Announcement = {
  v: 1,
  peerId: AUTHOR,
  name: 'alice',
  services: [{ name: 'translation', priceSats: 1000 }],
  relayAddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${AUTHOR}`],
  walletIdentityKey: `02${'ab'.repeat(32)}`,
  ts: NOW - 1000,
}
const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))

describe('checkAnnouncement', () => {
  it('accepts an announcement about its own author', () => {
    expect(checkAnnouncement(encodeAnnouncement(good), AUTHOR, CHECK)).toEqual({ ok: true, announcement: good })
  })

  it('rejects an announcement whose peer id is not the signing author', () => {
    expect(checkAnnouncement(bytes({ ...good, peerId: VICTIM }), AUTHOR, CHECK)).toEqual({ ok: false, action: 'reject', reason: 'forged_peer_id' })
    expect(checkAnnouncement(encodeAnnouncement(good), VICTIM, CHECK)).toMatchObject({ ok: false, action: 'reject', reason: 'forged_peer_id' })
  })

  it('rejects unsigned messages and relay addresses that lead to someone else', () => {
    expect(checkAnnouncement(encodeAnnouncement(good), null, CHECK)).toMatchObject({ ok: false, reason: 'unsigned' })
    const foreign = { ...good, relayAddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${VICTIM}`] }
    expect(checkAnnouncement(bytes(foreign), AUTHOR, CHECK)).toMatchObject({ ok: false, action: 'reject', reason: 'foreign_relay_addr' })
    const direct = { ...good, relayAddrs: ['/ip4/10.0.0.1/tcp/22'] }
    expect(checkAnnouncement(bytes(direct), AUTHOR, CHECK)).toMatchObject({ ok: false, reason: 'foreign_relay_addr' })
  })

  it('ignores stale and future announcements', () => {
    expect(checkAnnouncement(bytes({ ...good, ts: NOW - 61_000 }), AUTHOR, CHECK)).toMatchObject({ ok: false, action: 'ignore', reason: 'stale' })
    expect(checkAnnouncement(bytes({ ...good, ts: NOW + 6_000 }), AUTHOR, CHECK)).toMatchObject({ ok: false, action: 'ignore', reason: 'future' })
  })

  it('rejects malformed, oversized and over-fielded announcements', () => {
    const cases: unknown[] = [
      { ...good, v: 2 },
      { ...good, extra: 1 },
      { ...good, services: [{ name: 'x', priceSats: 1.5 }] },
      { ...good, services: [{ name: 'x', priceSats: -1 }] },
      { ...good, services: [{ name: 'x', priceSats: 1, sneaky: true }] },
      { ...good, walletIdentityKey: '04deadbeef' },
      { ...good, ts: 'yesterday' },
      { ...good, services: Array.from({ length: 33 }, (_, i) => ({ name: `s${i}`, priceSats: i })) },
      null,
      [],
      'announce',
    ]
    for (const c of cases) expect(checkAnnouncement(bytes(c), AUTHOR, CHECK)).toMatchObject({ ok: false, action: 'reject', reason: 'malformed' })
    expect(checkAnnouncement(new Uint8Array([0xff, 0x00]), AUTHOR, CHECK)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(checkAnnouncement(new Uint8Array(MAX_ANNOUNCEMENT_BYTES + 1), AUTHOR, CHECK)).toMatchObject({ ok: false, reason: 'too_large' })
  })
})
