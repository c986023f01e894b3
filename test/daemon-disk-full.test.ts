// A disk that fills up under a paying daemon, on a real (tmpfs) filesystem with real
// daemons on a real devnet: while the payer's disk refuses writes, payments are refused at
// once (nothing acknowledged that is not on disk), health is `down` with the reason, and
// when space returns everything resumes by itself; no acknowledged payment is lost. Needs
// `mount` (root, as on these machines); skipped, saying so, where it cannot mount.
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { directAddr, fundWallet, ok } from './helpers/devnet-daemons.js'
import { type DevnetProc, mountTmpfs, startDaemon, startDevnet, tempDir, waitFor } from './helpers/processes.js'

interface ChannelView {
  id: string
  seq: number
  paidSats: number
}

const PAYMENTS = 1_000
const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc
let mountPoint = ''

const holder = tempDir('bsv-p2p-diskfull-')
mkdirSync(join(holder.path, 'mnt'))
const mounted = mountTmpfs(join(holder.path, 'mnt'), '64m')
if (!mounted) process.stderr.write('daemon-disk-full: cannot mount a tmpfs here (needs root); the disk-full test is skipped\n')

beforeAll(async () => {
  if (!mounted) return
  mountPoint = join(holder.path, 'mnt')
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
  if (mounted) execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' })
  holder.remove()
})

/** Fills the filesystem to the last byte; returns the filler files (delete them to free it). */
function fill(dir: string): string[] {
  const files: string[] = []
  const chunk = Buffer.alloc(1024 * 1024, 0x61)
  for (const size of [chunk.length, 4096, 512]) {
    const file = join(dir, `filler-${size}`)
    files.push(file)
    const fd = openSync(file, 'w')
    try {
      for (let i = 0; i < 100_000; i++) writeSync(fd, chunk, 0, size)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
    } finally {
      closeSync(fd)
    }
  }
  return files
}

describe.skipIf(!mounted)('the payer\'s disk fills up during 1,000 payments', () => {
  it('refuses at once, says down with the reason, resumes by itself, and loses nothing acknowledged', async () => {
    const aDir = join(mountPoint, 'a')
    const bDir = tempDir('bsv-p2p-diskfull-b-')
    cleanups.push(bDir.remove)
    const a = await startDaemon(aDir, ['--chain-url', devnet.url], {}, { logLevel: 'warn' })
    const b = await startDaemon(bDir.path, ['--chain-url', devnet.url], {}, { logLevel: 'warn' })
    cleanups.push(() => a.kill('SIGKILL'), () => b.kill('SIGKILL'))
    await fundWallet(devnet, a, 1_000_000)
    await ok(a, 'connectPeer', { multiaddr: await directAddr(b) })
    const { id } = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: 500_000 })

    // The payer's program: 4 callers, each payment with its own key, asked again while refused.
    const acked = new Map<number, number>()
    const refusals = new Map<string, number>()
    let next = 0
    const started = Date.now()
    const refusedBy = [0, 0, 0, 0]
    const worker = async (w: number): Promise<void> => {
      while (next < PAYMENTS && Date.now() - started < 240_000) {
        const i = next++
        const params = { channelId: id, sats: (i % 5) + 1, idempotencyKey: `diskfull-${i}` }
        for (let attempt = 0; attempt < 2_000; attempt++) {
          const res = await a.call<{ seq: number; paidSats: number }>('pay', params)
          if (res.body.ok) {
            acked.set(res.body.result!.seq, res.body.result!.paidSats)
            break
          }
          const code = res.body.error?.code ?? 'unknown'
          refusals.set(code, (refusals.get(code) ?? 0) + 1)
          refusedBy[w]!++
          expect(['unavailable', 'timeout']).toContain(code)
          await new Promise((r) => setTimeout(r, 50))
        }
      }
    }
    const paying = Promise.all(Array.from({ length: 4 }, (_, w) => worker(w)))

    await waitFor('200 payments', () => acked.size >= 200, 60_000, 10)
    const fillers = fill(mountPoint)
    const filledAt = Date.now()
    await waitFor('health down for the disk', async () => {
      const h = await a.health()
      return h.status === 'down' && (h.reasons as string[]).some((r) => r.includes('disk refuses writes'))
    }, 60_000, 100)
    const downAfterMs = Date.now() - filledAt
    const ackedWhileFull = acked.size
    // Refused, not acknowledged: while the disk is full nothing more is. A payment each
    // caller had in flight when the disk filled may still be answered (its state was stored
    // before), so the check starts once every caller has been refused since, and spans 40
    // more refusals: counted events, not a sleep.
    const refusedAtDown = [...refusedBy]
    await waitFor('every caller refused while full', () => refusedBy.every((n, w) => n > refusedAtDown[w]!), 60_000, 10)
    const ackedOnceRefused = acked.size
    expect(ackedOnceRefused - ackedWhileFull).toBeLessThanOrEqual(refusedBy.length)
    const refused = (): number => refusedBy.reduce((a, b) => a + b, 0)
    const refusedBefore = refused()
    await waitFor('40 more refusals while full', () => refused() >= refusedBefore + 40, 60_000, 10)
    expect(acked.size).toBe(ackedOnceRefused)
    const metrics = await (await fetch(`${a.apiUrl}/metrics`)).text()
    expect(metrics).toMatch(/bsv_p2p_store_write_fault 1/)

    for (const f of fillers) rmSync(f, { force: true })
    const freedAt = Date.now()
    await waitFor('health back', async () => (await a.health()).status !== 'down', 30_000, 100)
    const upAfterMs = Date.now() - freedAt
    await paying
    expect(acked.size).toBe(PAYMENTS)

    // Both sides agree, and every acknowledged state is one the payee holds.
    let payer: ChannelView | null = null
    let payee: ChannelView | null = null
    await waitFor('A and B agree', async () => {
      payer = await ok<ChannelView>(a, 'getChannel', { channelId: id })
      payee = await ok<ChannelView>(b, 'getChannel', { channelId: id })
      return payer.seq === payee.seq && payer.paidSats === payee.paidSats
    }, 30_000, 100)
    const maxSeq = Math.max(...acked.keys())
    expect(payee!.seq).toBeGreaterThanOrEqual(maxSeq)
    expect(payee!.paidSats).toBe(acked.get(maxSeq))
    process.stdout.write(`${JSON.stringify({ scenario: 'disk-full', payments: PAYMENTS, ackedBeforeFull: ackedWhileFull, refusals: Object.fromEntries(refusals), downAfterMs, upAfterMs, finalSeq: payee!.seq, lost: 0 })}\n`)
  }, 300_000)
})
