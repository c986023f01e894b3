import { EventSchemaError } from '../kit/index.js'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createBridge, type IpcRendererLike } from '../../preload/bridge.js'
import { connect, ipcTransport } from '../../renderer/src/client/index.js'
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL } from '../../shared/bridge.js'
import { ContractError } from '../../shared/contract/index.js'
import { hostedEngine } from '../../test/helpers/engine-host.js'
import { tempDir } from '../../test/helpers/processes.js'
import { validateConfig } from '../config/index.js'
import type { Engine, EngineHost } from '../engine/index.js'
import { silentLogger } from '../telemetry/index.js'
import { type FrameLike, type InvokeEventLike, type IpcMainLike, type WebContentsLike, bindContractIpc, isTrustedSender, originOf } from './ipc.js'

const ORIGIN = 'app://bundle'

/**
 * An in-memory IPC pair with Electron's semantics where they matter: arguments and results
 * are structured-cloned, events arrive asynchronously, and each call carries the frame it
 * came from (set by the test to play an attacker's iframe or a navigated page).
 */
function memoryIpc() {
  const handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>>()
  const rendererListeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>()
  const mainFrame: FrameLike = { url: `${ORIGIN}/index.html`, parent: null }
  let senderFrame: FrameLike | null = mainFrame
  const ipcMain: IpcMainLike = {
    handle: (channel, listener) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`)
      handlers.set(channel, listener)
    },
    removeHandler: (channel) => {
      handlers.delete(channel)
    },
  }
  const webContents: WebContentsLike & { destroyed: boolean } = {
    destroyed: false,
    mainFrame,
    isDestroyed() {
      return this.destroyed
    },
    send: (channel, ...args) => {
      const cloned = structuredClone(args)
      queueMicrotask(() => {
        for (const l of rendererListeners.get(channel) ?? []) l({ sender: 'ipc-renderer-event' }, ...cloned)
      })
    },
  }
  const ipcRenderer: IpcRendererLike = {
    invoke: async (channel, ...args) => {
      const handler = handlers.get(channel)
      if (!handler) throw new Error(`No handler registered for '${channel}'`)
      return structuredClone(await handler({ senderFrame }, ...structuredClone(args)))
    },
    on: (channel, listener) => {
      let set = rendererListeners.get(channel)
      if (!set) rendererListeners.set(channel, (set = new Set()))
      set.add(listener)
    },
    removeListener: (channel, listener) => {
      rendererListeners.get(channel)?.delete(listener)
    },
  }
  return {
    ipcMain,
    webContents,
    ipcRenderer,
    handlers,
    rendererListeners,
    mainFrame,
    setSender: (frame: FrameLike | null) => {
      senderFrame = frame
    },
  }
}

let host: EngineHost
let engine: Engine
let dir: { path: string; remove: () => void }

beforeAll(async () => {
  dir = tempDir()
  host = hostedEngine({ config: validateConfig({ dataDir: dir.path, network: 'devnet', logLevel: 'warn', p2p: { host: '127.0.0.1', port: 0, mdns: false } }), logger: silentLogger })
  await host.start()
  engine = host.current
})

afterAll(async () => {
  await host.stop()
  dir.remove()
})

describe('contract over Electron IPC (in-memory pair)', () => {
  it('calls every kind of method through preload bridge, ipc binding and the typed client', async () => {
    const ipc = memoryIpc()
    const unbind = bindContractIpc({ ipcMain: ipc.ipcMain, handlers: host.handlers, events: host.events, logger: silentLogger }, { origin: ORIGIN, webContents: () => ipc.webContents })
    const { api } = connect(ipcTransport(createBridge(ipc.ipcRenderer)))
    const health = await api.getHealth()
    expect(health.peerId).toBe(engine.p2p.peerId)
    expect(await api.listPeers()).toEqual([])
    expect((await api.getSettings()).dataDir).toBe(dir.path)
    const bad = await api.connectPeer({ multiaddr: 'not a multiaddr' }).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(ContractError)
    expect((bad as ContractError).code).toBe('invalid_params')
    unbind()
    expect(ipc.handlers.size).toBe(0)
  })

  it('forwards engine events to the page, schema-checked, and stops on unbind', async () => {
    const ipc = memoryIpc()
    const before = engine.events.listenerCount
    const unbind = bindContractIpc({ ipcMain: ipc.ipcMain, handlers: host.handlers, events: host.events, logger: silentLogger }, { origin: ORIGIN, webContents: () => ipc.webContents })
    expect(engine.events.listenerCount).toBe(before + 1)
    const { events } = connect(ipcTransport(createBridge(ipc.ipcRenderer)))
    const seen: string[] = []
    const off = events.on('health', (h) => seen.push(h.peerId))
    const health = engine.health()
    engine.events.emit('health', health)
    // A payload that fails the event's schema never leaves the engine (checks are on in
    // tests) and, sent anyway, never reaches a view.
    expect(() => engine.events.emit('health', { status: 'nonsense' } as never)).toThrow(EventSchemaError)
    ipc.webContents.send(IPC_EVENT_CHANNEL, { event: 'health', payload: { status: 'nonsense' } })
    // Events arrive in the order sent: once the valid one sent after it is seen, the bad one has
    // had its chance to arrive, and did not.
    ipc.webContents.send(IPC_EVENT_CHANNEL, { event: 'health', payload: health })
    await vi.waitFor(() => expect(seen).toHaveLength(2))
    expect(seen).toEqual([health.peerId, health.peerId])
    off()
    expect(ipc.rendererListeners.get(IPC_EVENT_CHANNEL)?.size ?? 0).toBe(0)
    // A destroyed window gets nothing and nothing throws.
    ipc.webContents.destroyed = true
    expect(() => engine.events.emit('health', health)).not.toThrow()
    unbind()
    expect(engine.events.listenerCount).toBe(before)
  })

  it('refuses calls from any frame but our window’s main frame on our origin', async () => {
    const ipc = memoryIpc()
    const unbind = bindContractIpc({ ipcMain: ipc.ipcMain, handlers: host.handlers, events: host.events, logger: silentLogger }, { origin: ORIGIN, webContents: () => ipc.webContents })
    const bridge = createBridge(ipc.ipcRenderer)
    // No frame (navigated away), an iframe, and a look-alike frame that is not our main frame.
    const attempts: (FrameLike | null)[] = [null, { url: `${ORIGIN}/index.html`, parent: ipc.mainFrame }, { url: `${ORIGIN}/index.html`, parent: null }]
    for (const frame of attempts) {
      ipc.setSender(frame)
      const res = await bridge.call('getHealth', {})
      expect(res.ok).toBe(false)
      expect(!res.ok && res.error.code).toBe('forbidden')
    }
    ipc.mainFrame.url = 'https://evil.example/'
    ipc.setSender(ipc.mainFrame)
    expect((await bridge.call('getHealth', {})).ok).toBe(false)
    ipc.mainFrame.url = `${ORIGIN}/index.html#/peers`
    expect((await bridge.call('getHealth', {})).ok).toBe(true)
    // Names the contract does not know, and non-string names, are refused with a code.
    const unknown = await ipc.ipcRenderer.invoke(IPC_CALL_CHANNEL, 'stealFunds', {})
    expect(unknown).toMatchObject({ ok: false, error: { code: 'unknown_method' } })
    const notString = await ipc.ipcRenderer.invoke(IPC_CALL_CHANNEL, { toString: null }, {})
    expect(notString).toMatchObject({ ok: false, error: { code: 'unknown_method' } })
    expect(await bridge.call('../x', {})).toMatchObject({ ok: false, error: { code: 'unknown_method' } })
    unbind()
  })

  it('judges senders and origins without Electron', () => {
    const main: FrameLike = { url: 'app://bundle/index.html', parent: null }
    const wc = { mainFrame: main, isDestroyed: () => false, send: () => {} }
    expect(isTrustedSender({ senderFrame: main }, wc, 'app://bundle')).toBe(true)
    expect(isTrustedSender({ senderFrame: main }, null, 'app://bundle')).toBe(false)
    expect(isTrustedSender({ senderFrame: main }, { ...wc, isDestroyed: () => true }, 'app://bundle')).toBe(false)
    expect(isTrustedSender({ senderFrame: { url: 'app://other/index.html', parent: null } }, { ...wc, mainFrame: { url: 'app://other/index.html', parent: null } }, 'app://bundle')).toBe(false)
    expect(originOf('app://bundle/x/y.html?q#h')).toBe('app://bundle')
    expect(originOf('not a url')).toBeNull()
  })

  it('gives the page a frozen bridge that survives a dead main process', async () => {
    const bridge = createBridge({
      invoke: async () => {
        throw new Error('Error invoking remote method: no handler')
      },
      on: () => {},
      removeListener: () => {},
    })
    expect(Object.isFrozen(bridge)).toBe(true)
    expect(Object.keys(bridge).sort()).toEqual(['call', 'on'])
    expect(await bridge.call('getHealth')).toMatchObject({ ok: false, error: { code: 'unavailable' } })
  })
})
