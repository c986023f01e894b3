// libp2p v3 targets Node 22+ (and Electron, which ships it). On Node 20 two globals are
// missing; this module fills them only when absent, so it is a no-op where they exist.
// It must be the first import of every Node entry point and of the test setup.
import { WebSocket as WsWebSocket } from 'ws'

type WithResolvers = <T>() => {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const promiseCtor = Promise as unknown as { withResolvers?: WithResolvers }
if (typeof promiseCtor.withResolvers !== 'function') {
  promiseCtor.withResolvers = <T>() => {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}

const globals = globalThis as unknown as { WebSocket?: unknown }
if (typeof globals.WebSocket === 'undefined') {
  globals.WebSocket = WsWebSocket
}

export {}
