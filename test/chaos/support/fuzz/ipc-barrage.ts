// The Electron IPC binding (main/electron/ipc.ts) under generated calls, in Node: a fake
// ipcMain holds the one handler, and every call goes through it with structured-cloned
// arguments (what Electron delivers) from a trusted or an untrusted frame.
import { ERROR_CODES, type ApiHandlers, type Envelope, type MethodName } from '../../../../shared/contract/index.js'
import type { AnyEventSource } from '../../../../main/engine/event-coalescer.js'
import { IPC_CALL_CHANNEL } from '../../../../shared/bridge.js'
import { type FrameLike, type InvokeEventLike, type IpcMainLike, type WebContentsLike, bindContractIpc } from '../../../../main/electron/ipc.js'
import { silentLogger } from '../../../../main/telemetry/index.js'
import { type ApiContext, BAD_METHOD_NAMES, SAFE_WHEN_VALID, accepts, apiParams, randomMethod } from './api-inputs.js'
import { type Json, randomJson } from './json-mutator.js'
import type { Prng } from './prng.js'

export interface IpcResult {
  inputs: number
  byKind: Record<string, number>
  byCode: Record<string, number>
  violations: { kind: string; detail: string }[]
}

const ORIGIN = 'app://bundle'

export async function ipcBarrage(opts: { handlers: ApiHandlers; events: AnyEventSource; ctx: ApiContext; total: number; r: Prng; concurrency: number }): Promise<IpcResult> {
  const { r } = opts
  let handler: ((event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>) | null = null
  const ipcMain: IpcMainLike = {
    handle: (channel, listener) => {
      if (channel === IPC_CALL_CHANNEL) handler = listener
    },
    removeHandler: () => {
      handler = null
    },
  }
  const mainFrame: FrameLike = { url: `${ORIGIN}/index.html`, parent: null }
  const webContents: WebContentsLike = { mainFrame, isDestroyed: () => false, send: () => {} }
  const unbind = bindContractIpc({ ipcMain, handlers: opts.handlers, events: opts.events, logger: silentLogger }, { origin: ORIGIN, webContents: () => webContents })
  const untrusted: (FrameLike | null)[] = [
    null,
    { url: `${ORIGIN}/index.html`, parent: mainFrame },
    { url: `${ORIGIN}/index.html`, parent: null },
    { url: 'https://evil.example/', parent: null },
    { url: 'not a url', parent: null },
  ]
  const result: IpcResult = { inputs: 0, byKind: {}, byCode: {}, violations: [] }
  let n = 0
  const lane = async (): Promise<void> => {
    while (n < opts.total) {
      n++
      // Calls answered from memory resolve as microtasks: let timers and I/O of this process run now and then.
      if (n % 200 === 0) await new Promise((res) => setImmediate(res))
      const roll = r.int(100)
      let kind: string
      let frame: FrameLike | null = mainFrame
      let args: unknown[]
      let validCall = false
      if (roll < 5) {
        kind = 'untrusted-sender'
        frame = r.pick(untrusted)
        args = [randomMethod(r), {}]
      } else if (roll < 12) {
        kind = 'bad-method'
        args = [r.chance(0.5) ? r.pick(BAD_METHOD_NAMES) : randomJson(r, 1), {}]
      } else if (roll < 20) {
        kind = 'bad-arity'
        // Missing params mean {} (valid for some methods), extra arguments are ignored: any typed answer is right.
        // Only methods whose valid calls are harmless, since {} is a valid restartNode or updateSettings.
        validCall = true
        const safe = (): MethodName => r.pick([...SAFE_WHEN_VALID])
        args = r.pick<unknown[]>([[], [safe()], [safe(), {}, randomJson(r)], [safe(), undefined]])
      } else {
        kind = 'params'
        const call = apiParams(r, randomMethod(r), opts.ctx)
        validCall = call.valid
        args = [call.name, call.params satisfies Json]
      }
      let delivered: unknown[]
      try {
        delivered = structuredClone(args)
      } catch {
        // Electron's structured clone refuses it (nesting too deep) before it ever reaches the main process.
        result.byKind.undeliverable = (result.byKind.undeliverable ?? 0) + 1
        n--
        continue
      }
      if (kind === 'params') validCall = accepts(delivered[0] as string, delivered[1])
      let envelope: Envelope<unknown>
      try {
        envelope = structuredClone(await handler!({ senderFrame: frame }, ...delivered)) as Envelope<unknown>
      } catch (err) {
        result.violations.push({ kind, detail: `the handler threw: ${(err as Error).message}` })
        continue
      } finally {
        result.inputs++
        result.byKind[kind] = (result.byKind[kind] ?? 0) + 1
      }
      const code = envelope.ok ? 'ok' : envelope.error.code
      result.byCode[code] = (result.byCode[code] ?? 0) + 1
      const problem =
        typeof envelope !== 'object' || envelope === null || (!envelope.ok && !(ERROR_CODES as readonly string[]).includes(envelope.error.code))
          ? 'not an envelope'
          : kind === 'untrusted-sender' && code !== 'forbidden'
            ? `untrusted sender got ${code}`
            : code === 'internal'
              ? 'internal error'
              : !validCall && code === 'ok'
                ? 'bad input accepted'
                : null
      if (problem && result.violations.length < 50) result.violations.push({ kind, detail: `${problem}: ${JSON.stringify(args).slice(0, 200)}` })
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, lane))
  unbind()
  return result
}
