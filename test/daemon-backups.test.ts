// Automatic backups and restore, with real daemon processes and real SQLite files: backups
// on a schedule and on a clean stop, rotated, copied to a second folder, each a sound
// database holding what was committed; a damaged database restored from one with the CLI;
// a backup of another wallet, or a restore while the daemon runs, refused with nothing changed.
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DaemonProc, type DevnetProc, HOST_ENTRIES, runEntry, startDaemon, startDevnet, tempDir, waitFor } from './helpers/processes.js'

const DB = 'engine.sqlite'
const NOBODY = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'
const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc

beforeAll(async () => {
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

function dataDir(config: object = {}): string {
  const dir = tempDir('bsv-p2p-backups-')
  cleanups.push(dir.remove)
  writeFileSync(join(dir.path, 'config.json'), JSON.stringify(config))
  return dir.path
}

async function daemon(dir: string): Promise<DaemonProc> {
  const d = await startDaemon(dir, ['--chain-url', devnet.url], {}, { logLevel: 'warn' })
  cleanups.push(() => d.kill('SIGKILL'))
  return d
}

const backupsIn = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((n) => /^engine-\d{8}T\d{9}Z\.sqlite$/.test(n)).sort() : [])

function messagesIn(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    expect(db.pragma('quick_check', { simple: true })).toBe('ok')
    return (db.prepare('SELECT text FROM messages ORDER BY seq').all() as { text: string }[]).map((r) => r.text)
  } finally {
    db.close()
  }
}

/** Everything the daemon logged in its data dir. */
const logOf = (dir: string): string => readdirSync(join(dir, 'logs')).map((n) => readFileSync(join(dir, 'logs', n), 'utf8')).join('')

const digest = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

/** The daemon CLI run once (restore, check): its exit code and what it wrote. */
async function cli(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const proc = runEntry(HOST_ENTRIES.daemon, args)
  let stdout = ''
  proc.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()))
  const code = await proc.exited
  return { code, stdout, stderr: proc.stderrTail() }
}

describe('database backups', () => {
  it('are made on schedule and on a clean stop, rotated, copied to a second folder, and restore a damaged database', async () => {
    const extra = tempDir('bsv-p2p-backups-extra-')
    cleanups.push(extra.remove)
    const dir = dataDir({ backups: { everyMs: 1_000, keep: 3, extraDir: extra.path } })
    const a = await daemon(dir)
    const address = (await a.call<{ address: string }>('getWallet')).body.result!.address
    expect((await a.call('sendMessage', { peerId: NOBODY, text: 'before the first backup' })).body.ok).toBe(true)
    // Something written between backups: one on schedule with nothing new is not made.
    let written = 0
    const writeOne = async (): Promise<void> => void (await a.call('sendMessage', { peerId: NOBODY, text: `meanwhile ${written++}` }))
    await waitFor('three backups, then rotation', async () => (await writeOne(), backupsIn(join(dir, 'backups')).length === 3), 20_000, 200)
    // Rotation, shown after two more backups were made (counted by the daemon), not after a sleep.
    const okBackups = async (): Promise<number> => Number(/bsv_p2p_backups_total\{result="ok"\} (\d+)/.exec(await (await fetch(`${a.apiUrl}/metrics`)).text())?.[1] ?? 0)
    const madeAtThree = await okBackups()
    await waitFor('two more backups', async () => (await writeOne(), (await okBackups()) >= madeAtThree + 2), 20_000, 200)
    expect(backupsIn(join(dir, 'backups'))).toHaveLength(3)
    expect(backupsIn(extra.path).length).toBeGreaterThanOrEqual(1)
    expect(backupsIn(extra.path).length).toBeLessThanOrEqual(3)
    const metrics = await (await fetch(`${a.apiUrl}/metrics`)).text()
    expect(metrics).toMatch(/bsv_p2p_backups_total\{result="ok"\} [3-9]/)
    // Each was copied and checked in the worker thread, not on the engine's (which warns).
    expect(logOf(dir)).not.toContain('worker thread could not run')

    // Committed just before a clean stop: the stop's backup holds it.
    expect((await a.call('sendMessage', { peerId: NOBODY, text: 'just before the stop' })).body.ok).toBe(true)
    const before = backupsIn(join(dir, 'backups')).at(-1)
    expect(await a.kill('SIGTERM')).toBe(0)
    const newest = backupsIn(join(dir, 'backups')).at(-1)!
    expect(newest).not.toBe(before)
    const kept = messagesIn(join(dir, 'backups', newest))
    expect([kept[0], kept.at(-1), kept.length]).toEqual(['before the first backup', 'just before the stop', written + 2])
    expect(existsSync(join(dir, 'backups', `${newest}-wal`))).toBe(false)

    // The database is damaged (too damaged to tell whose it is: the person names the wallet):
    // start is refused; the backup restores it, the damaged one kept aside.
    const bytes = readFileSync(join(dir, DB))
    for (let at = 4096; at < bytes.length; at += 89) bytes[at] = 0xff - (bytes[at] ?? 0)
    writeFileSync(join(dir, DB), bytes)
    const damaged = digest(join(dir, DB))
    const refused = runEntry(HOST_ENTRIES.daemon, ['--data-dir', dir, '--network', 'devnet', '--chain-url', devnet.url, '--p2p-port', '0', '--api-port', '0', '--no-mdns'])
    expect(await refused.exited).toBe(2)

    const restored = await cli(['--data-dir', dir, '--restore-backup', join(dir, 'backups', newest), '--accept-wallet', address])
    expect(restored.code, restored.stderr).toBe(0)
    const result = JSON.parse(restored.stdout) as { restored: string; wallet: string; replacedInto: string }
    expect(result.wallet).toBe(address)
    expect(digest(join(result.replacedInto, DB))).toBe(damaged)
    const back = await daemon(dir)
    expect((await back.call<{ address: string }>('getWallet')).body.result?.address).toBe(address)
    const texts = (await back.call<{ text: string }[]>('listMessages', { limit: 500 })).body.result!.map((m) => m.text)
    expect(texts).toEqual(expect.arrayContaining(['before the first backup', 'just before the stop']))

    // While it runs, a restore is refused and changes nothing. (A copy of the backup: the
    // running daemon, backing up every second while it writes and keeping 3, may rotate the
    // original away.)
    const aside = tempDir('bsv-p2p-backups-aside-')
    cleanups.push(aside.remove)
    const copy = join(aside.path, newest)
    copyFileSync(join(dir, 'backups', newest), copy)
    const live = await cli(['--data-dir', dir, '--restore-backup', copy])
    expect(live.code).toBe(2)
    expect(live.stderr).toContain('stop it first')
  }, 120_000)

  it('a backup of another wallet is refused; a database too damaged to say whose it is needs --accept-wallet', async () => {
    const mine = dataDir()
    const theirs = dataDir()
    const a = await daemon(mine)
    const address = (await a.call<{ address: string }>('getWallet')).body.result!.address
    expect(await a.kill('SIGTERM')).toBe(0)
    const c = await daemon(theirs)
    expect(await c.kill('SIGTERM')).toBe(0)
    const theirBackup = join(theirs, 'backups', backupsIn(join(theirs, 'backups')).at(-1)!)
    const myBackup = join(mine, 'backups', backupsIn(join(mine, 'backups')).at(-1)!)

    const untouched = digest(join(mine, DB))
    const other = await cli(['--data-dir', mine, '--restore-backup', theirBackup])
    expect(other.code).toBe(2)
    expect(other.stderr).toContain('another wallet')
    expect(digest(join(mine, DB))).toBe(untouched)

    // Its header garbled, the database cannot say whose it is: the person must name the wallet.
    const bytes = readFileSync(join(mine, DB))
    bytes.fill(0x5a, 0, 100)
    writeFileSync(join(mine, DB), bytes)
    const unnamed = await cli(['--data-dir', mine, '--restore-backup', myBackup])
    expect(unnamed.code).toBe(2)
    expect(unnamed.stderr).toContain(`--accept-wallet ${address}`)
    const wrongName = await cli(['--data-dir', mine, '--restore-backup', theirBackup, '--accept-wallet', address])
    expect(wrongName.code).toBe(2)
    const named = await cli(['--data-dir', mine, '--restore-backup', myBackup, '--accept-wallet', address])
    expect(named.code).toBe(0)
    const back = await daemon(mine)
    expect((await back.call<{ address: string }>('getWallet')).body.result?.address).toBe(address)
  }, 120_000)
})
