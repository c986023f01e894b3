import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { type Message, events as eventSchemas } from '../../shared/contract/index.js'
import { tempDir, waitFor } from '../../test/helpers/processes.js'
import { validateConfig } from '../config/index.js'
import { Daemon } from './daemon.js'

let daemon: Daemon
let dir: { path: string; remove: () => void }

beforeAll(async () => {
  dir = tempDir()
  daemon = new Daemon(validateConfig({ dataDir: dir.path, network: 'devnet', logLevel: 'warn', p2p: { host: '127.0.0.1', port: 0, mdns: false }, api: { port: 0 } }))
  await daemon.start()
})

afterAll(async () => {
  await daemon.stop()
  dir.remove()
})

const message = (seq: number): Message => ({ id: `m${seq}`, seq, peerId: 'peer', direction: 'in', text: `flood ${seq}`, sentAt: '2026-01-01T00:00:00.000Z', receivedAt: '2026-01-01T00:00:00.000Z', status: 'received' })

describe('message events over the WebSocket', () => {
  it('arrive as bounded `messages` batches, never one frame per message, and say when some were left out', async () => {
    const token = readFileSync(join(dir.path, 'api-token'), 'utf8').trim()
    const ws = new WebSocket(`${daemon.api.url.replace('http', 'ws')}/api/events`, ['bsv-p2p.v1', `token.${token}`])
    const frames: { event: string; payload: unknown }[] = []
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as { event: string; payload: unknown }))
    await waitFor('the health snapshot', () => frames.some((f) => f.event === 'health'), 10_000)

    // A flood in one turn: 2,000 messages, then a status change of the newest.
    for (let seq = 1; seq <= 2_000; seq++) daemon.engine.events.emit('message', message(seq))
    daemon.engine.events.emit('message', { ...message(2_000), text: 'newest view' })
    await waitFor('a batch', () => frames.some((f) => f.event === 'messages'), 10_000)
    // A lone message later comes in a batch of its own.
    daemon.engine.events.emit('message', message(2_001))
    await waitFor('the second batch', () => frames.filter((f) => f.event === 'messages').length >= 2, 10_000)
    ws.close()

    expect(frames.some((f) => f.event === 'message')).toBe(false)
    const batches = frames.filter((f) => f.event === 'messages').map((f) => eventSchemas.messages.parse(f.payload))
    expect(batches).toHaveLength(2)
    expect(batches[0]!.resync).toBe(true)
    expect(batches[0]!.messages).toHaveLength(500)
    expect(batches[0]!.messages.at(-1)).toMatchObject({ seq: 2_000, text: 'newest view' })
    expect(batches[1]).toEqual({ messages: [message(2_001)], resync: false })
  })
})
