import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ContractError, type EventName } from '../../shared/contract/index.js'
import { tempDir } from '../../test/helpers/processes.js'
import { mergeLayers, readConfigFile, validateConfig } from '../config/index.js'
import { silentLogger } from '../telemetry/index.js'
import { Engine } from './engine.js'
import { EngineHost } from './engine-host.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A host as the daemon makes one: each engine built from the config file as it is then. */
function hostIn(dataDir: string): EngineHost {
  const file = join(dataDir, 'config.json')
  const overrides = { dataDir, network: 'devnet', p2p: { host: '127.0.0.1', port: 0, mdns: false } }
  const read = () => validateConfig(mergeLayers(readConfigFile(file), overrides))
  const host = new EngineHost({
    config: read(),
    reload: read,
    build: (config, events) => new Engine({ config, logger: silentLogger, events, configSource: { file, overrides } }),
    logger: silentLogger,
  })
  cleanups.push(() => host.stop())
  return host
}

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError)
    return (err as ContractError).code
  }
  throw new Error('resolved')
}

describe('EngineHost', () => {
  it('restarts the engine in place with the saved settings; handlers and events stay bound', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ logLevel: 'warn' }))
    const host = hostIn(dir.path)
    const seen: EventName[] = []
    cleanups.push(host.events.onAny((event) => seen.push(event)))
    await host.start()
    const first = host.current
    const peerId = first.p2p.peerId

    const saved = await host.handlers.updateSettings({ limits: { maxConnections: 7 } })
    expect(saved.limits.maxConnections).toBe(100)
    expect(saved.editable.next.limits.maxConnections).toBe(7)

    const restart = host.restart()
    // One restart at a time; calls wait it out with a clear refusal, health stays readable.
    expect(host.restart()).toBe(restart)
    expect(await codeOf(host.handlers.listPeers({}))).toBe('unavailable')
    expect((await host.handlers.getHealth({})).version).toBeTruthy()
    const restarted = await restart

    expect(restarted.peerId).toBe(peerId)
    expect(host.current).not.toBe(first)
    expect(first.running).toBe(false)
    expect(host.current.running).toBe(true)
    const after = await host.handlers.getSettings({})
    expect(after.limits.maxConnections).toBe(7)
    expect(after.editable.next.limits.maxConnections).toBe(7)
    expect(seen.filter((e) => e === 'restarted')).toHaveLength(1)

    // The new engine's events reach the host's listeners.
    await host.handlers.updateProfile({ name: 'After the restart', services: [] })
    expect(seen).toContain('profile')
    expect((await host.handlers.getProfile({})).name).toBe('After the restart')
  })

  it('starts the old engine again when the new one cannot start, and says why', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ logLevel: 'warn' }))
    const host = hostIn(dir.path)
    await host.start()
    const first = host.current
    // A person breaks the file by hand after the node started.
    writeFileSync(join(dir.path, 'config.json'), '{ "logLevel": ')
    const refused = host.handlers.restartNode({})
    expect(await codeOf(refused)).toBe('invalid_state')
    await refused.catch((err: Error) => expect(err.message).toMatch(/could not start with the saved settings .*not valid JSON.*runs on with the ones it had/))
    expect(host.current).toBe(first)
    expect(first.running).toBe(true)
    expect((await host.handlers.listPeers({})).length).toBeGreaterThanOrEqual(0)
  })

  it('leaves restartNode to the host: a bare engine offers none, so none can lie about restarting', () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    writeFileSync(join(dir.path, 'config.json'), '{}')
    const host = hostIn(dir.path)
    expect(Object.keys(host.current.handlers)).not.toContain('restartNode')
    expect(Object.keys(host.handlers)).toContain('restartNode')
  })
})
