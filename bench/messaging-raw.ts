// The baseline of bench/messaging.bench.ts: raw libp2p length-prefixed writes of the same
// frame bytes, each answered by a 1-byte length-prefixed echo (one write per received
// chunk), with no validation, no storage and no acknowledgement semantics.
import type { Stream } from '@libp2p/interface'
import type { Libp2pNode } from '../main/p2p/libp2p.js'
import { FrameReader, lengthPrefixed } from '../main/kit/index.js'

const RAW_PROTOCOL = '/bsv-p2p/bench-raw-lp/1.0.0'

export async function serveRawEcho(node: Libp2pNode): Promise<void> {
  const echo = lengthPrefixed(new Uint8Array([1]))
  await node.handle(
    RAW_PROTOCOL,
    (stream) => {
      const reader = new FrameReader(64 * 1024)
      stream.addEventListener('message', (evt) => {
        const n = reader.push(evt.data).length
        if (n === 0) return
        const out = new Uint8Array(echo.byteLength * n)
        for (let i = 0; i < n; i++) out.set(echo, i * echo.byteLength)
        stream.send(out)
      })
      stream.addEventListener('remoteCloseWrite', () => void stream.close().catch(() => {}))
    },
    { runOnLimitedConnection: true },
  )
}

/** The sending end: counts echoes, lets a caller wait for the n-th. */
export async function openRawEcho(from: Libp2pNode, to: Parameters<Libp2pNode['dialProtocol']>[0]): Promise<{ stream: Stream; waitFor(n: number): Promise<void> }> {
  const stream = await from.dialProtocol(to, RAW_PROTOCOL, { runOnLimitedConnection: true })
  const reader = new FrameReader(64 * 1024)
  let received = 0
  let waiter: { n: number; resolve: () => void } | null = null
  stream.addEventListener('message', (evt) => {
    received += reader.push(evt.data).length
    if (waiter && received >= waiter.n) {
      const w = waiter
      waiter = null
      w.resolve()
    }
  })
  return {
    stream,
    waitFor: (n) =>
      received >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiter = { n, resolve }
          }),
  }
}
