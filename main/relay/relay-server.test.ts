import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { TempDirs } from '../p2p/test/helpers.js'
import { silentLogger } from '../telemetry/index.js'
import { MULTIADDR_FILE, pickAddress, RelayServer } from './relay-server.js'

const dirs = new TempDirs()
afterAll(() => dirs.cleanup())

const ROOT = join(import.meta.dirname, '..', '..')

describe('pickAddress', () => {
  const id = '12D3KooWH43aujEsmJkETZPzQem7cYfSRQUS313FiRTpgkGziPys'
  const loop = `/ip4/127.0.0.1/tcp/4003/p2p/${id}`
  const lan = `/ip4/192.168.1.5/tcp/4003/p2p/${id}`
  it('prefers the listen host, then a non-loopback address for a wildcard host', () => {
    expect(pickAddress([lan, loop], '127.0.0.1')).toBe(loop)
    expect(pickAddress([loop, lan], '0.0.0.0')).toBe(lan)
    expect(pickAddress([loop], '0.0.0.0')).toBe(loop)
    expect(pickAddress([`${loop}/p2p-circuit`], '127.0.0.1')).toBeUndefined()
  })
})

describe('RelayServer', () => {
  it('keeps its identity across restarts and writes its multiaddr file', async () => {
    const dir = dirs.make('relay-')
    const relay = new RelayServer({ logger: silentLogger }, { dataDir: dir, host: '127.0.0.1', port: 0 })
    expect(() => relay.multiaddr).toThrow(/not running/)
    await relay.start()
    const first = relay.multiaddr
    expect(first).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/)
    expect(readFileSync(join(dir, MULTIADDR_FILE), 'utf8')).toBe(`${first}\n`)
    const peerId = relay.peerId
    await relay.stop()
    await relay.start()
    expect(relay.peerId).toBe(peerId)
    await relay.stop()
    expect(() => new RelayServer({ logger: silentLogger }, { dataDir: dir, host: 'relay.example' })).toThrow(/IPv4 or IPv6/)
  })

  it('runs as a CLI: multiaddr first on stdout, JSON logs on stderr, exit 0 on SIGTERM', async () => {
    const dir = dirs.make('relay-cli-')
    const child = spawn(process.execPath, ['--import', 'tsx', 'main/relay/cli.ts', '--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--log-level', 'info'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const firstLine = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout })
      rl.once('line', (line) => {
        rl.close()
        resolve(line)
      })
      child.once('exit', (code) => reject(new Error(`relay exited early (${code}): ${stderr}`)))
    })
    expect(firstLine).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo\w+$/)
    expect(readFileSync(join(dir, MULTIADDR_FILE), 'utf8').trim()).toBe(firstLine)
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    const logged = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; multiaddr?: string })
    expect(logged.find((l) => l.msg === 'relay listening')?.multiaddr).toBe(firstLine)
    expect(logged.some((l) => l.msg === 'relay stopped')).toBe(true)
  })

  it('refuses bad arguments with exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'main/relay/cli.ts', '--port', 'eighty'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    expect(code).toBe(2)
    expect(stderr).toMatch(/--port/)
  })
})
