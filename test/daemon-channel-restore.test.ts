// A lost disk, with real daemon processes on a real devnet: both sides export their backups
// (the database and the channel file) to "another disk" from the API, are killed, and lose
// their data dirs; each is started on a fresh dir with `--restore-words-file` and
// `--restore-channels`. The payee settles what it was paid, the payer sees it and closes; a
// channel file given to the wrong wallet is refused before anything changes.
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChannelView, devnetDaemon, directAddr, fundWallet, ok } from './helpers/devnet-daemons.js'
import { type DaemonProc, type DevnetProc, HOST_ENTRIES, mineBlocks, runEntry, startDevnet, tempDir, waitFor } from './helpers/processes.js'

const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc
beforeAll(async () => {
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

function dir(prefix: string): string {
  const d = tempDir(prefix)
  cleanups.push(d.remove)
  return d.path
}

async function daemon(dataDir: string, args: string[] = []): Promise<DaemonProc> {
  const d = await devnetDaemon(devnet, dataDir, args)
  cleanups.push(() => d.kill('SIGKILL'))
  return d
}

describe('a lost disk, restored from the CLI', () => {
  it('exports both backups, loses both data dirs, and gets the channel money back from words and channel file', async () => {
    const payer = await daemon(dir('bsv-p2p-lost-payer-'))
    const payee = await daemon(dir('bsv-p2p-lost-payee-'))
    await fundWallet(devnet, payer, 500_000)
    await ok(payer, 'connectPeer', { multiaddr: await directAddr(payee) })
    const { id } = await ok<ChannelView>(payer, 'openChannel', { peerId: payee.peerId, capacitySats: 100_000 })
    let paid = 0
    for (let i = 1; i <= 20; i++) {
      await ok(payer, 'pay', { channelId: id, sats: i })
      paid += i
    }

    // The export: one call each, into a folder that outlives the data dir.
    const offsite = { payer: dir('bsv-p2p-usb-payer-'), payee: dir('bsv-p2p-usb-payee-') }
    const exported = await ok<{ database: { file: string }; channelsFile: string; channels: number }>(payee, 'exportBackup', { dir: offsite.payee })
    expect(exported).toMatchObject({ channelsFile: join(offsite.payee, 'channels.bsvchan'), channels: 1 })
    expect(statSync(exported.database.file).size).toBeGreaterThan(0)
    expect(existsSync(exported.channelsFile)).toBe(true)
    expect((await ok<{ channels: number }>(payer, 'exportBackup', { dir: offsite.payer })).channels).toBe(1)
    const refused = await payer.call('exportBackup', { dir: 'relative/folder' })
    expect(refused.body.error).toMatchObject({ code: 'invalid_params', details: { field: 'dir' } })

    // A burst: twelve calls at once, eight for one folder and four for others. Those for the
    // folder being written share its export; one for another folder while it runs is told so.
    // Whatever the timing, every answer is a whole export or that refusal, and no folder
    // holds a part of a file.
    const burstDirs = [dir('bsv-p2p-usb-burst-'), dir('bsv-p2p-usb-burst-'), dir('bsv-p2p-usb-burst-'), dir('bsv-p2p-usb-burst-'), dir('bsv-p2p-usb-burst-')]
    const targets = [...Array<string>(8).fill(burstDirs[0]!), ...burstDirs.slice(1)]
    const answers = await Promise.all(targets.map((d) => payee.call<{ dir: string; database: { file: string } }>('exportBackup', { dir: d })))
    for (const [i, a] of answers.entries()) {
      if (a.body.ok) expect(a.body.result).toMatchObject({ dir: targets[i], channels: 1 })
      else expect(a.body.error).toMatchObject({ code: 'unavailable', details: { reason: 'export-running' } })
    }
    expect(answers.slice(0, 8).filter((a) => a.body.ok).length).toBeGreaterThan(0)
    for (const [i, d] of burstDirs.entries()) {
      const names = readdirSync(d)
      expect(names.filter((n) => !/^(engine-\d{8}T\d{9}Z\.sqlite|channels\.bsvchan)$/.test(n))).toEqual([])
      if (i === 0) expect(names).toContain('channels.bsvchan')
    }

    const words = {
      payer: (await ok<{ mnemonic: string }>(payer, 'backupWallet', { passphrase: 'unused on devnet' })).mnemonic,
      payee: (await ok<{ mnemonic: string }>(payee, 'backupWallet', { passphrase: 'unused on devnet' })).mnemonic,
    }
    const wordsFile = { payer: join(offsite.payer, 'words.txt'), payee: join(offsite.payee, 'words.txt') }
    writeFileSync(wordsFile.payer, words.payer)
    writeFileSync(wordsFile.payee, words.payee)
    await payer.kill('SIGKILL')
    await payee.kill('SIGKILL')

    // The wrong wallet's words for a channel file: refused, exit 2, nothing restored.
    const wrongDir = dir('bsv-p2p-lost-wrong-')
    writeFileSync(join(wrongDir, 'config.json'), '{}')
    const wrong = runEntry(HOST_ENTRIES.daemon, ['--data-dir', wrongDir, '--network', 'devnet', '--chain-url', devnet.url, '--p2p-host', '127.0.0.1', '--p2p-port', '0', '--api-port', '0', '--no-mdns', '--log-level', 'warn', '--restore-words-file', wordsFile.payer, '--restore-channels', exported.channelsFile])
    cleanups.push(() => wrong.kill('SIGKILL'))
    expect(await wrong.exited).toBe(2)
    expect(wrong.stderrTail()).toMatch(/restore refused: .*does not open with this wallet/)

    // Fresh data dirs: the words, then the channel file.
    const payee2 = await daemon(dir('bsv-p2p-restored-payee-'), ['--restore-words-file', wordsFile.payee, '--restore-channels', exported.channelsFile])
    expect(payee2.ready.restored).toMatchObject({ channels: { restored: 1, updated: 0 } })
    await waitFor('the restored payee to settle', async () => (await ok<ChannelView>(payee2, 'getChannel', { channelId: id })).settlementTxid !== null, 30_000)
    expect(await ok<ChannelView>(payee2, 'getChannel', { channelId: id })).toMatchObject({ state: 'closing', paidSats: paid, seq: 20 })
    await mineBlocks(devnet.url, 1)
    await waitFor('the settlement confirmed', async () => (await ok<ChannelView>(payee2, 'getChannel', { channelId: id })).state === 'closed', 30_000)
    await waitFor('the payee wallet to hold what it was paid', async () => (await ok<{ balance: { confirmed: number } }>(payee2, 'getWallet')).balance.confirmed === paid, 30_000)

    const payer2 = await daemon(dir('bsv-p2p-restored-payer-'), ['--restore-words-file', wordsFile.payer, '--restore-channels', join(offsite.payer, 'channels.bsvchan')])
    expect(payer2.ready.restored).toMatchObject({ channels: { restored: 1 } })
    await waitFor('the restored payer to see the settlement', async () => (await ok<ChannelView>(payer2, 'getChannel', { channelId: id })).state === 'closed', 30_000)
    expect(await ok<ChannelView>(payer2, 'getChannel', { channelId: id })).toMatchObject({ paidSats: paid })
    // Restoring the same file again over the API changes nothing.
    expect(await ok(payer2, 'restoreChannelBackup', { file: join(offsite.payer, 'channels.bsvchan') })).toMatchObject({ restored: 0, updated: 0, unchanged: 1 })
  }, 240_000)
})
