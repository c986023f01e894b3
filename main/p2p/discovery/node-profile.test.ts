// The profile on a real SQLite file, announced over real gossipsub between two libp2p nodes
// on 127.0.0.1: saved before it is announced, and announced from the first announcement
// after a restart.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Profile, ProfileSchema } from '../../../shared/contract/index.js'
import { EventBus } from '../../kit/index.js'
import { Store } from '../../store/index.js'
import { Metrics, silentLogger } from '../../telemetry/index.js'
import { type Libp2pNode, createNode } from '../libp2p.js'
import { waitFor } from '../test/helpers.js'
import { TEST_LIMITS } from '../messaging/test/fixtures.js'
import type { AnnouncedPeer } from './announcement.js'
import { AnnouncementService } from './announcement-service.js'
import { NodeProfile, profileMigrations } from './node-profile.js'


describe('NodeProfile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bsv-profile-'))
  let a: Libp2pNode
  let b: Libp2pNode
  let listener: AnnouncementService
  const heard: AnnouncedPeer[] = []
  const events = new EventBus()
  const emitted: Profile[] = []
  events.on('profile', (p) => emitted.push(p))

  // A's parts as the engine orders them: store, profile, discovery.
  let store: Store
  let profile: NodeProfile
  let discovery: AnnouncementService
  const startA = async (): Promise<void> => {
    store = new Store({ dataDir: dir, migrations: profileMigrations })
    discovery = new AnnouncementService({ node: { libp2p: a }, logger: silentLogger, metrics: new Metrics() }, { changeDebounceMs: 20 })
    profile = new NodeProfile({ store, announcer: discovery, events, logger: silentLogger })
    await store.start()
    await profile.start()
    await discovery.start()
  }
  const stopA = async (): Promise<void> => {
    await discovery.stop()
    await profile.stop()
    await store.stop()
  }
  const lastFromA = (): AnnouncedPeer | undefined => heard.filter((p) => p.peerId === a.peerId.toString()).at(-1)

  beforeAll(async () => {
    const make = async (): Promise<Libp2pNode> => {
      const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], limits: TEST_LIMITS, mdns: false })
      await n.start()
      return n
    }
    ;[a, b] = await Promise.all([make(), make()])
    listener = new AnnouncementService({ node: { libp2p: b }, logger: silentLogger, metrics: new Metrics() }, { onAnnouncement: (p) => heard.push(p), rateLimit: { burst: 100 } })
    await listener.start()
    await startA()
    await b.dial(a.getMultiaddrs()[0]!)
    await waitFor(() => lastFromA() !== undefined, 'A announced to B')
  })

  afterAll(async () => {
    await stopA()
    await listener?.stop()
    await Promise.all([a?.stop(), b?.stop()])
    rmSync(dir, { recursive: true, force: true })
  })

  it('starts empty: no name, no services', () => {
    expect(profile.get()).toEqual({ name: null, services: [] })
    expect(lastFromA()).toMatchObject({ services: [] })
    expect(lastFromA()?.name).toBeUndefined()
  })

  it('saves an update, emits it, and announces it at once', async () => {
    const next: Profile = { name: 'Alice’s node', services: [{ name: 'storage', priceSats: 50, description: '1 GB a month' }, { name: 'relay', priceSats: 0 }] }
    expect(profile.update(next)).toEqual(next)
    expect(emitted.at(-1)).toEqual(next)
    const row = store.db.prepare('SELECT name, services FROM node_profile').get() as { name: string; services: string }
    expect({ name: row.name, services: JSON.parse(row.services) }).toEqual(next)
    await waitFor(() => lastFromA()?.name === 'Alice’s node', 'the new name')
    expect(lastFromA()?.services).toEqual(next.services)
  })

  it('announces the stored profile from the first announcement after a restart', async () => {
    const before = heard.length
    await stopA()
    await startA()
    expect(profile.get().name).toBe('Alice’s node')
    await waitFor(() => heard.length > before, 'an announcement after the restart')
    expect(heard.slice(before).every((p) => p.name === 'Alice’s node')).toBe(true)
  })

  it('clearing the name clears it in the peer’s view too', async () => {
    profile.update({ name: null, services: [] })
    await waitFor(() => lastFromA()?.name === undefined && lastFromA()?.services.length === 0, 'the name cleared')
  })

  it('ignores a stored row that no longer passes the rules, and announces nothing wrong', async () => {
    store.db.prepare("UPDATE node_profile SET name = ?, services = 'not json'").run('x'.repeat(200))
    await stopA()
    await startA()
    expect(profile.get()).toEqual({ name: null, services: [] })
  })
})

describe('ProfileSchema', () => {
  const ok = (p: unknown): boolean => ProfileSchema.safeParse(p).success
  it('takes a trimmed name and bounded, uniquely named services', () => {
    expect(ProfileSchema.parse({ name: '  Bob  ', services: [] }).name).toBe('Bob')
    expect(ok({ name: null, services: [{ name: 'a', priceSats: 1 }, { name: 'b', priceSats: 0, description: 'free' }] })).toBe(true)
  })
  it('refuses what peers would refuse or that could mislead them', () => {
    expect(ok({ name: '   ', services: [] })).toBe(false)
    expect(ok({ name: 'x'.repeat(65), services: [] })).toBe(false)
    expect(ok({ name: 'Bob\u202Egnp.exe', services: [] })).toBe(false)
    expect(ok({ name: 'a\nb', services: [] })).toBe(false)
    expect(ok({ name: null, services: [{ name: 'a', priceSats: 1 }, { name: 'a', priceSats: 2 }] })).toBe(false)
    expect(ok({ name: null, services: [{ name: 'a', priceSats: 1.5 }] })).toBe(false)
    expect(ok({ name: null, services: [{ name: 'a', priceSats: -1 }] })).toBe(false)
    expect(ok({ name: null, services: Array.from({ length: 9 }, (_, i) => ({ name: `s${i}`, priceSats: 1 })) })).toBe(false)
    // Eight services of the longest descriptions do not fit in an announcement.
    expect(ok({ name: null, services: Array.from({ length: 8 }, (_, i) => ({ name: `s${i}`, priceSats: 1, description: 'é'.repeat(280) })) })).toBe(false)
    expect(ok({ name: null, services: [], extra: 1 })).toBe(false)
  })
})
