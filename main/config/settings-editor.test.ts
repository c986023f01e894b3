import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ContractError, type EventPayload } from '../../shared/contract/index.js'
import { tempDir } from '../../test/helpers/processes.js'
import { EventBus } from '../kit/index.js'
import { createLogger } from '../telemetry/index.js'
import { configFromEnv, configFromFlags, mergeLayers, validateConfig } from './load.js'
import { SettingsEditor } from './settings-editor.js'

const RELAY = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'
const OTHER_RELAY = '/dns4/relay.example/tcp/443/wss/p2p/12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'

let dir: { path: string; remove: () => void }
let file: string
let events: EventBus
let seen: EventPayload<'settings'>[]

beforeEach(() => {
  dir = tempDir('bsv-p2p-settings-')
  file = join(dir.path, 'config.json')
  events = new EventBus()
  seen = []
  events.on('settings', (s) => seen.push(s))
})
afterEach(() => dir.remove())

/** An editor as a host makes one: the file layer under the environment and flag layers. */
function editorFor(fileLayer: Record<string, unknown> | null, overrides: Record<string, unknown> = {}) {
  if (fileLayer) writeFileSync(file, JSON.stringify(fileLayer))
  const config = validateConfig(mergeLayers(fileLayer ?? {}, overrides, { dataDir: dir.path }))
  const logger = createLogger({ logDir: join(dir.path, 'logs'), level: config.logLevel })
  return { editor: new SettingsEditor({ logger, events }, config, { file, overrides }), logger }
}

const refusal = (fn: () => unknown): ContractError => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError)
    return err as ContractError
  }
  throw new Error('accepted')
}

const onDisk = (): Record<string, any> => JSON.parse(readFileSync(file, 'utf8'))

describe('SettingsEditor', () => {
  it('saves relays and limits for the next start, keeps the rest of the file, and announces the change', () => {
    const { editor } = editorFor({ network: 'devnet', chain: { arcApiKey: 'secret-key', retries: 1 }, limits: { peerDirectoryMax: 500 } })
    const settings = editor.update({ relays: [RELAY, ` ${OTHER_RELAY} `], limits: { maxConnections: 40 } })

    // Running values stay; the next start's are what was saved.
    expect(settings.p2p.relays).toEqual([])
    expect(settings.limits.maxConnections).toBe(100)
    expect(settings.editable.next.relays).toEqual([RELAY, OTHER_RELAY])
    expect(settings.editable.next.limits).toMatchObject({ maxConnections: 40, peerDirectoryMax: 500 })
    expect(onDisk()).toEqual({ network: 'devnet', chain: { arcApiKey: 'secret-key', retries: 1 }, limits: { peerDirectoryMax: 500, maxConnections: 40 }, p2p: { relays: [RELAY, OTHER_RELAY] } })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir.path).filter((f) => f.includes('.tmp-'))).toEqual([])
    expect(seen).toEqual([settings])
    expect(JSON.stringify(settings)).not.toContain('secret-key')

    // What was saved is what a fresh start reads.
    expect(validateConfig(mergeLayers(onDisk(), { dataDir: dir.path })).p2p.relays).toEqual([RELAY, OTHER_RELAY])
  })

  it('makes the config file on the first save', () => {
    const { editor } = editorFor(null)
    editor.update({ limits: { peerDirectoryTtlMs: 60_000 } })
    expect(onDisk()).toEqual({ limits: { peerDirectoryTtlMs: 60_000 } })
    expect(editor.get().editable.configFile).toBe(file)
  })

  it('applies a new log level at once to every logger of the tree', async () => {
    const { editor, logger } = editorFor({ logLevel: 'info' })
    const child = logger.child('p2p')
    child.debug('before the change')
    const settings = editor.update({ logLevel: 'debug' })
    child.debug('after the change')
    expect(settings.logLevel).toBe('debug')
    expect(onDisk().logLevel).toBe('debug')
    const log = await waitForLog(join(dir.path, 'logs', 'engine.log'), 'after the change')
    expect(log).not.toContain('before the change')

    editor.update({ logLevel: 'error' })
    logger.warn('quiet now')
    logger.error('still heard')
    expect(await waitForLog(join(dir.path, 'logs', 'engine.log'), 'still heard')).not.toContain('quiet now')
  })

  it('refuses a key the command line or environment set, and writes nothing', () => {
    const overrides = mergeLayers(configFromEnv({ BSV_P2P_LOG_LEVEL: 'warn' }), configFromFlags({ relay: [RELAY] }).layer)
    const { editor } = editorFor({ limits: { maxConnections: 30 } }, overrides)
    expect(editor.get().editable.fixed).toEqual(['logLevel', 'p2p.relays'])
    expect(refusal(() => editor.update({ logLevel: 'debug' }))).toMatchObject({ code: 'conflict', details: { key: 'logLevel' } })
    expect(refusal(() => editor.update({ relays: [] })).details).toEqual({ key: 'p2p.relays' })
    expect(onDisk()).toEqual({ limits: { maxConnections: 30 } })
    // Limits are not set above the file, so they can still be saved.
    expect(editor.update({ limits: { maxConnections: 31 } }).editable.next.relays).toEqual([RELAY])
    expect(seen).toHaveLength(1)
  })

  it('refuses a relay the keeper could not use, naming which one', () => {
    const { editor } = editorFor({ logLevel: 'info' })
    const noPeer = refusal(() => editor.update({ relays: [RELAY, '/ip4/127.0.0.1/tcp/4001'] }))
    expect(noPeer).toMatchObject({ code: 'invalid_params', details: { key: 'p2p.relays.1' } })
    expect(noPeer.message).toMatch(/relay 2 .*\/p2p\/<relay peer id>/)
    expect(refusal(() => editor.update({ relays: [`${RELAY}/p2p-circuit`] })).message).toMatch(/must not itself go through a relay/)
    expect(refusal(() => editor.update({ relays: [RELAY, RELAY] })).message).toBe('relay 2 is listed twice')
    expect(onDisk()).toEqual({ logLevel: 'info' })
    expect(seen).toEqual([])
  })

  it('never writes over a config file it cannot read', () => {
    const { editor } = editorFor({ logLevel: 'info' })
    writeFileSync(file, '{ "logLevel": "info", ')
    const err = refusal(() => editor.update({ logLevel: 'debug' }))
    expect(err.code).toBe('invalid_state')
    expect(err.message).toMatch(/not valid JSON.*mend or remove it/)
    expect(readFileSync(file, 'utf8')).toBe('{ "logLevel": "info", ')
    expect(editor.get().logLevel).toBe('info')
  })

  it('refuses a saved file that a start would refuse (a bad key a person left in it)', () => {
    const { editor } = editorFor({ logLevel: 'info' })
    writeFileSync(file, JSON.stringify({ logLevel: 'info', p2p: { prot: 1 } }))
    const err = refusal(() => editor.update({ limits: { maxConnections: 10 } }))
    expect(err).toMatchObject({ code: 'invalid_params', details: { key: 'p2p.prot' } })
    expect(onDisk()).toEqual({ logLevel: 'info', p2p: { prot: 1 } })
  })
})

async function waitForLog(path: string, text: string): Promise<string> {
  const started = Date.now()
  for (;;) {
    let content = ''
    try {
      content = readFileSync(path, 'utf8')
    } catch {
      // not written yet
    }
    if (content.includes(text)) return content
    if (Date.now() - started > 5000) throw new Error(`"${text}" never reached ${path}; it holds: ${content.slice(-500)}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
