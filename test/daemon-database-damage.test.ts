// A damaged database is detected and never served, with real daemon processes and real
// SQLite files: a garbled header and garbled pages stop start-up with exit 2, a message
// naming the file and the way out, and the files left byte for byte as they were;
// `--check-database` reports it; a lost -shm file (a crash's leftover) is no damage.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DaemonProc, type DevnetProc, HOST_ENTRIES, runEntry, startDaemon, startDevnet, tempDir } from './helpers/processes.js'

const DB = 'engine.sqlite'
const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc

beforeAll(async () => {
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

const baseArgs = (dir: string): string[] => ['--data-dir', dir, '--network', 'devnet', '--p2p-host', '127.0.0.1', '--p2p-port', '0', '--api-port', '0', '--no-mdns', '--log-level', 'warn', '--chain-url', devnet.url]

async function daemon(dir: string): Promise<DaemonProc> {
  const d = await startDaemon(dir, ['--chain-url', devnet.url], {}, { logLevel: 'warn' })
  cleanups.push(() => d.kill('SIGKILL'))
  return d
}

/** A data dir with a wallet and a database, stopped cleanly; returns its first address. */
async function preparedDir(): Promise<{ dir: string; address: string }> {
  const dir = tempDir('bsv-p2p-damage-')
  cleanups.push(dir.remove)
  const d = await daemon(dir.path)
  const res = await d.call<{ address: string }>('getWallet')
  expect(await d.kill('SIGTERM')).toBe(0)
  return { dir: dir.path, address: res.body.result!.address }
}

function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const suffix of ['', '-wal']) {
    const f = join(dir, DB + suffix)
    if (existsSync(f)) out[DB + suffix] = createHash('sha256').update(readFileSync(f)).digest('hex')
  }
  return out
}

/** Starts the daemon on a data dir that must be refused: its exit code and what it said. */
async function refusedStart(dir: string): Promise<{ code: number | string; stderr: string }> {
  const proc = runEntry(HOST_ENTRIES.daemon, baseArgs(dir))
  cleanups.push(() => proc.kill('SIGKILL'))
  const code = await Promise.race([proc.exited, new Promise<string>((r) => setTimeout(() => r('still running after 30 s'), 30_000))])
  return { code, stderr: proc.stderrTail() }
}

async function checkDatabase(dir: string): Promise<{ code: number | string; report: { ok: boolean; file: string; problems: string[] } }> {
  const proc = runEntry(HOST_ENTRIES.daemon, ['--data-dir', dir, '--check-database'])
  const lines: string[] = []
  proc.child.stdout!.on('data', (c: Buffer) => lines.push(c.toString()))
  const code = await proc.exited
  return { code, report: JSON.parse(lines.join('').trim()) }
}

describe('a damaged database', () => {
  it('a sound one passes --check-database; garbled pages stop start-up with exit 2, touching nothing', async () => {
    const { dir } = await preparedDir()
    expect(await checkDatabase(dir)).toMatchObject({ code: 0, report: { ok: true, problems: [] } })

    // Garble every page after the first (the schema's tables and indexes live there).
    const file = join(dir, DB)
    const bytes = readFileSync(file)
    const pageSize = bytes.readUInt16BE(16) === 1 ? 65_536 : bytes.readUInt16BE(16)
    expect(bytes.length / pageSize).toBeGreaterThan(2)
    for (let at = pageSize; at < bytes.length; at += 97) bytes[at] = 0xff - (bytes[at] ?? 0)
    writeFileSync(file, bytes)
    const before = digest(dir)

    const { code, stderr } = await refusedStart(dir)
    expect(code).toBe(2)
    expect(stderr).toContain(`the database ${file} is damaged`)
    expect(stderr).toContain('restore a backup')
    expect(digest(dir)).toEqual(before)

    const check = await checkDatabase(dir)
    expect(check.code).toBe(1)
    expect(check.report).toMatchObject({ ok: false, file })
    expect(check.report.problems.length).toBeGreaterThan(0)
    expect(digest(dir)).toEqual(before)
  }, 90_000)

  it('a garbled header (not a database at all) is refused the same way', async () => {
    const { dir } = await preparedDir()
    const file = join(dir, DB)
    const bytes = readFileSync(file)
    bytes.fill(0x5a, 0, 100)
    writeFileSync(file, bytes)
    const before = digest(dir)
    const { code, stderr } = await refusedStart(dir)
    expect(code).toBe(2)
    expect(stderr).toContain('is damaged')
    expect(digest(dir)).toEqual(before)
  }, 90_000)

  it('a lost -shm file after a kill is no damage: the daemon starts with everything it had', async () => {
    const { dir, address } = await preparedDir()
    const d = await daemon(dir)
    await d.call('sendMessage', { peerId: '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp', text: 'kept across the kill' })
    await d.kill('SIGKILL')
    rmSync(join(dir, `${DB}-shm`), { force: true })
    expect(existsSync(join(dir, `${DB}-wal`)) && statSync(join(dir, `${DB}-wal`)).size).toBeGreaterThan(0)
    const again = await daemon(dir)
    expect((await again.call<{ address: string }>('getWallet')).body.result?.address).toBe(address)
    const messages = await again.call<{ text: string }[]>('listMessages', { limit: 5 })
    expect(messages.body.result?.map((m) => m.text)).toContain('kept across the kill')
  }, 90_000)
})
