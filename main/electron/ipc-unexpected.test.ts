import { describe, expect, it } from 'vitest'
import { IPC_CALL_CHANNEL } from '../../shared/bridge.js'
import type { ApiHandlers } from '../../shared/contract/index.js'
import { EventBus } from '../kit/index.js'
import { createLogger } from '../telemetry/index.js'
import { type FrameLike, type InvokeEventLike, type WebContentsLike, bindContractIpc } from './ipc.js'

const ORIGIN = 'app://bundle'

describe('an unexpected error behind IPC', () => {
  it('is answered internal (no detail to the page) and logged once, with its stack and cause', async () => {
    const lines: Record<string, any>[] = []
    const logger = createLogger({ level: 'info', sink: (line) => lines.push(JSON.parse(line) as Record<string, any>) })
    const mainFrame: FrameLike = { url: `${ORIGIN}/index.html`, parent: null }
    const webContents: WebContentsLike = { mainFrame, isDestroyed: () => false, send: () => {} }
    let invoke: ((event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>) | null = null
    const handlers = {
      getHealth: async () => {
        throw new TypeError('cannot read peerId of undefined', { cause: new Error('the node was stopped') })
      },
    } as unknown as ApiHandlers
    const unbind = bindContractIpc(
      {
        ipcMain: {
          handle: (channel, listener) => {
            if (channel === IPC_CALL_CHANNEL) invoke = listener
          },
          removeHandler: () => {},
        },
        handlers,
        events: new EventBus(),
        logger,
      },
      { origin: ORIGIN, webContents: () => webContents },
    )
    try {
      const envelope = await invoke!({ senderFrame: mainFrame }, 'getHealth', {})
      expect(envelope).toEqual({ ok: false, error: { code: 'internal', message: 'internal error' } })
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({ level: 'error', msg: 'unexpected error', where: 'ipc', what: 'getHealth', err: { name: 'TypeError', cause: { message: 'the node was stopped' } } })
      expect(lines[0]!.err.stack).toContain('ipc-unexpected.test.ts')
    } finally {
      unbind()
    }
  })
})
