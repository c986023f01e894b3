// A daemon that cannot start as asked says so before it writes anything: ports that clash
// with each other or with another program, and relays that do not parse, each stop it
// with exit 2 (a supervisor must not restart it in a loop), a message naming the options,
// and an untouched data directory.
import { existsSync } from 'node:fs'
import { type AddressInfo, type Server, createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { HOST_ENTRIES, firstLine, freePort, runEntry, startDaemon, tempDir } from './helpers/processes.js'

const dirs: { remove: () => void }[] = []
const held: Server[] = []
afterAll(async () => {
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))))
  dirs.forEach((d) => d.remove())
})

/** Starts the daemon in a data dir that does not exist yet; resolves its exit code and stderr. */
async function refusal(args: string[]): Promise<{ code: number | string; stderr: string; wrote: boolean }> {
  const parent = tempDir('bsv-p2p-refusal-')
  dirs.push(parent)
  const dataDir = join(parent.path, 'data')
  const proc = runEntry('main/daemon/cli.ts', ['--data-dir', dataDir, '--network', 'devnet', '--p2p-host', '127.0.0.1', '--no-mdns', ...args])
  const code = await proc.exited
  return { code, stderr: proc.stderrTail(), wrote: existsSync(dataDir) }
}

async function heldPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  held.push(server)
  return (server.address() as AddressInfo).port
}

describe('daemon start-up refusals', () => {
  it('refuses each pair of clashing ports, naming both options', async () => {
    const [a, b] = [await freePort(), await freePort()]
    const cases: [string[], string][] = [
      [['--p2p-port', String(a), '--api-port', String(a)], `--api-port ${a} is also --p2p-port`],
      [['--p2p-port', String(b), '--ws-port', String(a), '--api-port', String(a)], `--api-port ${a} is also --ws-port`],
      [['--p2p-port', String(a), '--ws-port', String(a), '--api-port', String(b)], `--ws-port ${a} is also --p2p-port`],
    ]
    for (const [args, message] of cases) {
      const r = await refusal(args)
      expect({ code: r.code, wrote: r.wrote }).toEqual({ code: 2, wrote: false })
      expect(r.stderr).toContain(message)
    }
  }, 60_000)

  it('refuses a port another program holds, naming the option, before writing anything', async () => {
    const p2p = await heldPort('0.0.0.0')
    const api = await heldPort()
    const ws = await heldPort('0.0.0.0')
    for (const [args, message] of [
      [['--p2p-port', String(p2p), '--api-port', '0'], `--p2p-port ${p2p} (p2p.port) is in use by another program`],
      [['--p2p-port', '0', '--api-port', String(api)], `--api-port ${api} (api.port) is in use by another program`],
      [['--p2p-port', '0', '--ws-port', String(ws), '--api-port', '0'], `--ws-port ${ws} (p2p.wsPort) is in use by another program`],
    ] as const) {
      const r = await refusal([...args])
      expect({ code: r.code, wrote: r.wrote }).toEqual({ code: 2, wrote: false })
      expect(r.stderr).toContain(message)
    }
  }, 60_000)

  it('refuses a relay that does not parse, naming it by its index', async () => {
    const r = await refusal(['--p2p-port', '0', '--api-port', '0', '--relay', '/ip4/127.0.0.1/tcp/notaport'])
    expect({ code: r.code, wrote: r.wrote }).toEqual({ code: 2, wrote: false })
    expect(r.stderr).toMatch(/invalid p2p\.relays\[0\]: "\/ip4\/127\.0\.0\.1\/tcp\/notaport" is not a relay address/)
    const noId = await refusal(['--p2p-port', '0', '--api-port', '0', '--relay', '/ip4/127.0.0.1/tcp/4001'])
    expect({ code: noId.code, wrote: noId.wrote }).toEqual({ code: 2, wrote: false })
    expect(noId.stderr).toMatch(/must end with \/p2p\/<relay peer id>/)
  }, 60_000)
})

describe('one engine per data dir', () => {
  it('refuses a second daemon on a data dir a running one has (exit 2, naming its pid), and the first runs on', async () => {
    const parent = tempDir('bsv-p2p-twice-')
    dirs.push(parent)
    const dataDir = join(parent.path, 'data')
    const first = await startDaemon(dataDir, ['--log-level', 'warn'])
    try {
      const second = runEntry(HOST_ENTRIES.daemon, ['--data-dir', dataDir, '--network', 'devnet', '--p2p-host', '127.0.0.1', '--p2p-port', '0', '--api-port', '0', '--no-mdns'])
      expect(await second.exited).toBe(2)
      expect(second.stderrTail()).toContain(`another process (pid ${String(first.ready.pid)}) runs an engine on`)
      expect((await first.call('getHealth')).status).toBe(200)
    } finally {
      await first.kill()
    }
  }, 60_000)

  it('of two daemons started at the same instant on one new data dir, one runs and the other is refused', async () => {
    const parent = tempDir('bsv-p2p-twins-')
    dirs.push(parent)
    const args = ['--data-dir', join(parent.path, 'data'), '--network', 'devnet', '--p2p-host', '127.0.0.1', '--p2p-port', '0', '--api-port', '0', '--no-mdns', '--log-level', 'warn']
    const twins = [runEntry(HOST_ENTRIES.daemon, args), runEntry(HOST_ENTRIES.daemon, args)]
    try {
      const refused = await Promise.race(twins.map(async (p, i) => ({ i, code: await p.exited })))
      expect(refused.code).toBe(2)
      expect(twins[refused.i]!.stderrTail()).toContain('runs an engine on')
      // The other one is up: its first line is the ready line, with its API.
      const ready = JSON.parse(await firstLine(twins[1 - refused.i]!)) as { apiUrl?: unknown }
      expect(typeof ready.apiUrl).toBe('string')
    } finally {
      await Promise.all(twins.map((p) => p.kill()))
    }
  }, 60_000)
})
