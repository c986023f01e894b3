import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS, type Settings, SettingsUpdateSchema } from '../../shared/contract/index.js'
import { draftChanged, draftOfSettings, fixedReason, parseSettingsDraft, waitingForRestart } from './settings-text.js'

const RELAY = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'
const RELAY_2 = '/dns4/relay.example/tcp/443/wss/p2p/12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'

const settings = (over: Partial<Settings['editable']> = {}): Settings => ({
  network: 'devnet',
  dataDir: '/d',
  logLevel: 'info',
  p2p: { host: '127.0.0.1', port: 0, relays: [RELAY], announce: [], mdns: false },
  limits: { ...DEFAULT_LIMITS },
  editable: { configFile: '/d/config.json', fixed: [], next: { relays: [RELAY], limits: { ...DEFAULT_LIMITS } }, ...over },
})

describe('settings form', () => {
  it('starts from what the next start will use and sends only what changed', () => {
    const saved = settings({ next: { relays: [RELAY], limits: { ...DEFAULT_LIMITS, maxConnections: 50 } } })
    const draft = draftOfSettings(saved)
    expect(draft).toMatchObject({ logLevel: 'info', relays: RELAY, limits: { maxConnections: '50', peerDirectoryTtlMs: '60' } })
    expect(draftChanged(draft, saved)).toBe(false)
    expect(parseSettingsDraft(draft, saved).update).toEqual({})

    const edited = { ...draft, logLevel: 'debug' as const, relays: `\n ${RELAY} \n\n${RELAY_2}\n`, limits: { ...draft.limits, maxConnections: '1,000', peerDirectoryTtlMs: '5' } }
    expect(draftChanged(edited, saved)).toBe(true)
    const { update, problems } = parseSettingsDraft(edited, saved)
    expect(problems).toEqual({ limits: {} })
    expect(update).toEqual({ logLevel: 'debug', relays: [RELAY, RELAY_2], limits: { maxConnections: 1000, peerDirectoryTtlMs: 300_000 } })
    expect(SettingsUpdateSchema.safeParse(update).success).toBe(true)
    // Blank lines and spaces alone are no change.
    expect(draftChanged({ ...draft, relays: `  ${RELAY}\n\n` }, saved)).toBe(false)
  })

  it('says what is wrong with a relay or a limit, in words, and sends nothing', () => {
    const saved = settings()
    const draft = draftOfSettings(saved)
    const bad = (patch: Partial<typeof draft>) => parseSettingsDraft({ ...draft, ...patch }, saved)

    expect(bad({ relays: 'relay.example:4001' })).toMatchObject({ update: null, problems: { relays: expect.stringMatching(/^A peer address starts with “\/”/) } })
    expect(bad({ relays: `${RELAY}\n/ip4/127.0.0.1/tcp/4001` }).problems.relays).toBe('Line 2: Add the peer’s ID at the end: …/p2p/12D3KooW…')
    expect(bad({ relays: `${RELAY}\n${RELAY}` }).problems.relays).toBe('Line 2: this relay is already listed.')
    expect(bad({ relays: Array.from({ length: 17 }, (_, i) => RELAY.replace('4001', String(4001 + i))).join('\n') }).problems.relays).toBe('A node keeps at most 16 relays.')

    const limits = (name: keyof typeof draft.limits, text: string) => bad({ limits: { ...draft.limits, [name]: text } }).problems.limits[name]
    expect(limits('maxConnections', '0')).toBe('Connections at most must be at least 1.')
    expect(limits('maxConnections', '100001')).toBe('Connections at most can be at most 100000.')
    expect(limits('maxConnections', '2.5')).toBe('Enter a whole number for connections at most.')
    expect(limits('maxConnections', '')).toBe('Enter a whole number for connections at most.')
    expect(limits('peerDirectoryTtlMs', 'soon')).toBe('Enter a whole number of minutes for forget a silent peer after.')
    expect(limits('peerDirectoryTtlMs', '0')).toBe('Forget a silent peer after must be at least 1 minute.')
    expect(limits('peerDirectoryTtlMs', '43201')).toBe('Forget a silent peer after can be at most 43200 minutes.')
  })

  it('leaves out what the command line or environment set', () => {
    const saved = settings({ fixed: ['logLevel', 'p2p.relays'] })
    expect(fixedReason(saved, 'logLevel')).toMatch(/command line or in the environment/)
    expect(fixedReason(saved, 'limits.maxConnections')).toBeNull()
    const draft = { ...draftOfSettings(saved), logLevel: 'debug' as const, relays: 'not even an address' }
    expect(parseSettingsDraft(draft, saved)).toEqual({ update: {}, problems: { limits: {} } })
  })

  it('names what waits for the next start', () => {
    expect(waitingForRestart(settings())).toEqual([])
    expect(waitingForRestart(settings({ next: { relays: [], limits: { ...DEFAULT_LIMITS, maxConnections: 5 } } }))).toEqual(['relays', 'connections at most'])
  })
})
