// The keeper of the channel backup file, on real files in a temp dir: settlements batched,
// changes of state written at once, a write that fails reported until one succeeds, and a
// file of another wallet never replaced.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Logger, Metrics, silentLogger } from '../telemetry/index.js'
import { WalletKeys, generateMnemonic } from '../wallet/mnemonic.js'
import { type ChannelBackupContent, openChannelBackup, sealChannelBackup } from './channel-backup-file.js'
import { CHANNEL_BACKUP_FILE, ChannelBackupKeeper } from './channel-backup-keeper.js'
import type { PayeeOpen } from './records.js'
import { removeDir, waitUntil } from './test/harness.js'

const keys = new WalletKeys(generateMnemonic(), 'devnet')
const key = keys.secretFor('channel backup')
const channel: PayeeOpen = {
  id: 'b'.repeat(32), peerId: '12D3KooWPeer', role: 'payee', state: 'open', capacitySats: 100_000, expiry: 900, feeRate: 100, settlementFeeSats: 50, refundFeeSats: 50,
  payerPub: `02${'1'.repeat(64)}`, keyIndex: 0, createdAt: 1, updatedAt: 2, payeePub: `03${'2'.repeat(64)}`, payerAddress: 'mpayer', payeeAddress: 'mpayee',
  funding: { txid: 'e'.repeat(64), vout: 0 }, fundingHex: null, fundingHeight: 120, seq: 0, paidSats: 0, lastSig: null,
}

const dirs: string[] = []
const keepers: ChannelBackupKeeper[] = []
afterEach(async () => {
  for (const k of keepers.splice(0)) await k.stop()
  for (const d of dirs.splice(0)) removeDir(d)
})

function setup(opts: { paths?: string[]; channels?: number; logger?: Logger } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bsv-chan-keeper-'))
  dirs.push(dir)
  let seq = 0
  let channels = opts.channels ?? 1
  let snapshots = 0
  const paths = opts.paths ?? [join(dir, 'backups', CHANNEL_BACKUP_FILE)]
  const keeper = new ChannelBackupKeeper(
    {
      logger: opts.logger ?? silentLogger,
      metrics: new Metrics(),
      snapshot: () => {
        snapshots++
        const content: ChannelBackupContent = { network: 'devnet', wallet: keys.address(0, 0), writtenAt: Date.now(), nextKeyIndex: 1, channels: Array.from({ length: channels }, () => ({ record: { ...channel, seq, paidSats: seq * 10, lastSig: seq > 0 ? '30' : null }, addresses: [] })) }
        return { content, key }
      },
    },
    { paths, settlementEveryMs: 200 },
  )
  keepers.push(keeper)
  const held = (path = paths[0]!): { seq: number; channels: number } => {
    const c = openChannelBackup(readFileSync(path), key)
    const first = c.channels[0]?.record
    return { seq: first && first.role === 'payee' && first.state === 'open' ? first.seq : -1, channels: c.channels.length }
  }
  return {
    dir, keeper, paths, held,
    pay: () => seq++,
    setChannels: (n: number) => (channels = n),
    snapshots: () => snapshots,
  }
}

describe('ChannelBackupKeeper', () => {
  it('writes a change of state at once, batches settlements within the interval, and the last on stop', async () => {
    const t = setup()
    await t.keeper.start()
    await waitUntil(() => existsSync(t.paths[0]!), 2_000, 'the first file')
    expect(t.held()).toEqual({ seq: 0, channels: 1 })
    const before = t.snapshots()
    for (let i = 0; i < 500; i++) {
      t.pay()
      t.keeper.changed(false)
    }
    await waitUntil(() => t.held().seq === 500, 2_000, 'the batched settlement')
    // 500 settlements, one write (or two, if the interval fell in between).
    expect(t.snapshots() - before).toBeLessThanOrEqual(2)
    t.pay()
    t.keeper.changed(false)
    await t.keeper.stop()
    expect(t.held().seq).toBe(501)
  })

  it('flush writes before it resolves; a first place that refuses is a rejection and a health reason until a write succeeds', async () => {
    const blocked = mkdtempSync(join(tmpdir(), 'bsv-chan-keeper-blocked-'))
    dirs.push(blocked)
    writeFileSync(join(blocked, 'not-a-folder'), 'x')
    const warned: string[] = []
    const logger: Logger = { ...silentLogger, warn: (m) => void warned.push(m), child: () => logger }
    const t = setup({ paths: [join(blocked, 'not-a-folder', CHANNEL_BACKUP_FILE)], logger })
    await t.keeper.start()
    await expect(t.keeper.flush()).rejects.toThrow(/could not be written/)
    expect(t.keeper.problem()?.message).toMatch(/not-a-folder/)
    // A place that keeps refusing is warned of once for the spell, not at every retry.
    await expect(t.keeper.flush()).rejects.toThrow(/could not be written/)
    await expect(t.keeper.flush()).rejects.toThrow(/could not be written/)
    expect(warned.filter((m) => m.includes('could not be written'))).toHaveLength(1)

    // A second place failing alone is reported, but the first holds the file.
    const u = setup()
    const second = join(blocked, 'not-a-folder', 'x', CHANNEL_BACKUP_FILE)
    const both = setup({ paths: [u.paths[0]!, second] })
    await both.keeper.start()
    await both.keeper.flush()
    expect(both.held(u.paths[0]!).channels).toBe(1)
    expect(both.keeper.problem()?.message).toContain(second)
  })

  it('never replaces another wallet’s file: left alone while there is nothing to keep, kept aside once there is', async () => {
    const t = setup({ channels: 0 })
    const other = new WalletKeys(generateMnemonic(), 'devnet')
    const theirs = sealChannelBackup({ network: 'devnet', wallet: other.address(0, 0), writtenAt: 1, nextKeyIndex: 3, channels: [{ record: { ...channel, keyIndex: 2 }, addresses: [] }] }, other.secretFor('channel backup'))
    const folder = join(t.dir, 'backups')
    mkdirSync(folder, { recursive: true })
    writeFileSync(t.paths[0]!, theirs)
    await t.keeper.start()
    await t.keeper.flush()
    expect(readFileSync(t.paths[0]!).equals(Buffer.from(theirs))).toBe(true)

    t.setChannels(1)
    await t.keeper.flush()
    expect(t.held()).toEqual({ seq: 0, channels: 1 })
    const aside = readdirSync(folder).filter((n) => n.endsWith('.other'))
    expect(aside).toHaveLength(1)
    expect(readFileSync(join(folder, aside[0]!)).equals(Buffer.from(theirs))).toBe(true)
  })
})
