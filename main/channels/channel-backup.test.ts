// The channel backup file: sealed with the wallet's words and refused whole when anything
// is off; and the disk-lost scenario on a real devnet: a payer's and a payee's data dirs
// are deleted mid-channel, each is restored on a fresh dir from its recovery words and its
// channel file, and the chain pays each what the file promised.
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DevnetServer } from '../chain/devnet/devnet-server.js'
import { WalletKeys, generateMnemonic } from '../wallet/mnemonic.js'
import { ChannelBackupError, openChannelBackup, sealChannelBackup } from './channel-backup-file.js'
import { CHANNEL_BACKUP_FILE } from './channel-backup-keeper.js'
import type { ChannelRecord, PayeeOpen } from './records.js'
import { type Side, connect, fund, removeDir, startDevnet, startSide, waitUntil } from './test/harness.js'

const payeeOpen: PayeeOpen = {
  id: 'a'.repeat(32), peerId: '12D3KooWPeer', role: 'payee', state: 'open', capacitySats: 100_000, expiry: 900, feeRate: 100, settlementFeeSats: 50, refundFeeSats: 50,
  payerPub: `02${'1'.repeat(64)}`, keyIndex: 3, createdAt: 1, updatedAt: 2, payeePub: `03${'2'.repeat(64)}`, payerAddress: 'mpayer', payeeAddress: 'mpayee',
  funding: { txid: 'f'.repeat(64), vout: 0 }, fundingHex: null, fundingHeight: 120, seq: 7, paidSats: 700, lastSig: '3044',
}

describe('channel backup file', () => {
  const keys = new WalletKeys(generateMnemonic(), 'devnet')
  const key = keys.secretFor('channel backup')
  const content = { network: 'devnet', wallet: keys.address(0, 0), writtenAt: 5, nextKeyIndex: 4, channels: [{ record: payeeOpen as ChannelRecord, addresses: [{ address: 'mpayee', chain: 1 as const, idx: 2 }] }] }

  it('opens with the same words, whole', () => {
    const again = new WalletKeys(keys.mnemonic, 'devnet').secretFor('channel backup')
    expect(openChannelBackup(sealChannelBackup(content, key), again)).toEqual(content)
  })

  it('is refused whole for other words, one changed bit, a cut, or another format', () => {
    const sealed = sealChannelBackup(content, key)
    const code = (bytes: Uint8Array, k = key): string => {
      try {
        openChannelBackup(bytes, k)
        return 'opened'
      } catch (err) {
        expect(err).toBeInstanceOf(ChannelBackupError)
        return (err as ChannelBackupError).code
      }
    }
    expect(code(sealed, new WalletKeys(generateMnemonic(), 'devnet').secretFor('channel backup'))).toBe('wrong-key-or-damaged')
    expect(code(sealed, keys.secretFor('channel backup') && new WalletKeys(keys.mnemonic, 'testnet').secretFor('channel backup'))).toBe('wrong-key-or-damaged')
    for (const at of [10, 20, Math.floor(sealed.length / 2), sealed.length - 1]) {
      const flipped = Uint8Array.from(sealed)
      flipped[at]! ^= 0x01
      expect(code(flipped)).toBe('wrong-key-or-damaged')
    }
    expect(code(sealed.subarray(0, sealed.length - 3))).toBe('wrong-key-or-damaged')
    expect(code(sealed.subarray(0, 10))).toBe('not-a-backup')
    expect(code(Buffer.from('SQLite format 3\0 and more bytes than a header'))).toBe('not-a-backup')
    const future = Uint8Array.from(sealed)
    future[7] = 9
    expect(code(future)).toBe('unsupported-version')
  })

  it('refuses a sealed channel that does not fit its state', () => {
    const broken = { ...content, channels: [{ record: { ...payeeOpen, lastSig: null } as ChannelRecord, addresses: [] }] }
    expect(() => openChannelBackup(sealChannelBackup(broken, key), key)).toThrow(expect.objectContaining({ code: 'invalid' }))
  })
})

describe('disk lost: restored from recovery words and the channel file', () => {
  let devnet: DevnetServer
  const sides: Side[] = []
  const dirs: string[] = []

  beforeAll(async () => {
    devnet = await startDevnet()
  })

  afterAll(async () => {
    for (const s of sides) await s.stop().catch(() => {})
    for (const d of [...dirs, ...sides.map((s) => s.dir)]) removeDir(d)
    await devnet?.stop()
  })

  /** A side whose channel file is also kept on "another disk" that survives its data dir. */
  async function side(): Promise<{ side: Side; offsite: string }> {
    const offsite = mkdtempSync(join(tmpdir(), 'bsv-offsite-'))
    dirs.push(offsite)
    const dir = mkdtempSync(join(tmpdir(), 'bsv-chan-'))
    const s = await startSide(devnet, { dir, init: { backup: { paths: [join(dir, 'backups', CHANNEL_BACKUP_FILE), join(offsite, CHANNEL_BACKUP_FILE)], settlementEveryMs: 300 } } })
    sides.push(s)
    return { side: s, offsite }
  }

  async function restored(words: string, file: string): Promise<Side> {
    const backupDir = mkdtempSync(join(tmpdir(), 'bsv-chan-bk-'))
    dirs.push(backupDir)
    const s = await startSide(devnet, { init: { backup: { paths: [join(backupDir, CHANNEL_BACKUP_FILE)] } } })
    sides.push(s)
    await s.wallet.restoreWallet({ mnemonic: words })
    const result = await s.engine.restoreBackup(readFileSync(file))
    // A second restore of the same file changes nothing.
    expect(await s.engine.restoreBackup(readFileSync(file))).toMatchObject({ restored: 0, updated: 0 })
    return Object.assign(s, { result })
  }

  it('the payee settles its newest backed-up state at once; the payer gets its refund from a payee lost for good', async () => {
    const { side: payer, offsite: payerOffsite } = await side()
    const { side: payee, offsite: payeeOffsite } = await side()
    const { side: lostPayee } = await side()
    await connect(payer, payee)
    await connect(payer, lostPayee)
    await fund(devnet, payer, 1_000_000)
    const a = await payer.engine.open({ peerId: payee.peerId, capacitySats: 100_000, expiry: devnet.height + 40 })
    const b = await payer.engine.open({ peerId: lostPayee.peerId, capacitySats: 50_000, expiry: devnet.height + 12 })
    devnet.mine(1)
    for (let i = 0; i < 50; i++) await payer.engine.pay({ channelId: a.id, sats: 100 })
    for (let i = 0; i < 5; i++) await payer.engine.pay({ channelId: b.id, sats: 1_000 })

    // The payee's file takes its newest settlement within the interval, without a stop.
    const payeeKey = payee.wallet.channelBackupSecret()!.key
    const payeeFile = join(payeeOffsite, CHANNEL_BACKUP_FILE)
    const backedUp = (): number => {
      const held = openChannelBackup(readFileSync(payeeFile), payeeKey).channels.find((c) => c.record.id === a.id)?.record
      return held?.role === 'payee' && held.state === 'open' ? held.paidSats : 0
    }
    await waitUntil(() => backedUp() === 5_000, 10_000, 'the payee file to hold settlement 50')
    // A few more, then the disks are lost before the next write: these are what is at risk.
    for (let i = 0; i < 5; i++) await payer.engine.pay({ channelId: a.id, sats: 100 })
    const fees = { a: payer.engine.book.get(a.id)!.settlementFeeSats, b: payer.engine.book.get(b.id)!.refundFeeSats }
    const walletLeft = payer.wallet.info().balance.confirmed + payer.wallet.info().balance.unconfirmed
    const payerWords = (await payer.wallet.backupWallet({ passphrase: '' })).mnemonic
    const payeeWords = (await payee.wallet.backupWallet({ passphrase: '' })).mnemonic
    await payer.crash()
    await payee.crash()
    await lostPayee.crash()
    removeDir(payer.dir)
    removeDir(payee.dir)
    removeDir(lostPayee.dir)
    const atRisk = 5_500 - backedUp()
    expect(atRisk).toBeGreaterThanOrEqual(0)
    expect(atRisk).toBeLessThanOrEqual(500)

    const payee2 = await restored(payeeWords, payeeFile)
    expect((payee2 as Side & { result: { restored: number } }).result.restored).toBe(1)
    await waitUntil(() => payee2.engine.get(a.id).settlementTxid !== null, 15_000, 'the restored payee to settle')
    const settledPaid = payee2.engine.get(a.id).paidSats
    expect(settledPaid).toBe(backedUp())
    devnet.mine(1)
    await waitUntil(() => payee2.engine.get(a.id).state === 'closed', 15_000, 'the settlement to confirm')
    await payee2.wallet.sync()
    expect(payee2.wallet.info().balance.confirmed).toBe(settledPaid)

    const payer2 = await restored(payerWords, join(payerOffsite, CHANNEL_BACKUP_FILE))
    expect((payer2 as Side & { result: { restored: number } }).result.restored).toBe(2)
    expect(payer2.engine.get(b.id)).toMatchObject({ state: 'closing', refundTxid: null })
    // Channel a: the payee's settlement closes it; what the chain paid is the payer's truth.
    await waitUntil(() => payer2.engine.get(a.id).state === 'closed', 15_000, 'the payer to see the settlement')
    expect(payer2.engine.get(a.id).paidSats).toBe(settledPaid)
    // Channel b: its payee is gone for good; the refund is refused before expiry, taken after.
    devnet.mine(Math.max(0, b.expiry - devnet.height))
    await waitUntil(() => payer2.engine.get(b.id).refundTxid !== null, 15_000, 'the refund')
    devnet.mine(1)
    await waitUntil(() => payer2.engine.get(b.id).state === 'refunded', 15_000, 'the refund to confirm')
    await payer2.wallet.sync()
    // Everything the payer had: the wallet's coins, channel a's change from the settlement, channel b's refund.
    expect(payer2.wallet.info().balance.confirmed).toBe(walletLeft + (100_000 - settledPaid - fees.a) + (50_000 - fees.b))
    // A new channel never takes a key index a restored one had.
    const keyIndexes = [a, b].map((c) => payer2.engine.book.find(c.id)!.keyIndex)
    expect(payer2.engine.book.nextKeyIndex).toBeGreaterThan(Math.max(...keyIndexes))
  }, 120_000)

  it('a database put back from an older backup is brought up to the channel file at start: the payee settles the newer state', async () => {
    const { side: payer } = await side()
    const { side: payee } = await side()
    await connect(payer, payee)
    await fund(devnet, payer, 300_000)
    const { id } = await payer.engine.open({ peerId: payee.peerId, capacitySats: 50_000 })
    for (let i = 0; i < 10; i++) await payer.engine.pay({ channelId: id, sats: 10 })
    const older = join(payee.dir, 'older.sqlite')
    await payee.store.db.backup(older)
    for (let i = 0; i < 20; i++) await payer.engine.pay({ channelId: id, sats: 10 })
    const { dir, key, port } = payee
    await payee.stop()
    // The database of ten payments ago is put back (as --restore-backup does).
    for (const f of ['engine.sqlite-wal', 'engine.sqlite-shm']) removeDir(join(dir, f))
    copyFileSync(older, join(dir, 'engine.sqlite'))
    const again = await startSide(devnet, { dir, key, port, init: { backup: { paths: [join(dir, 'backups', CHANNEL_BACKUP_FILE)], settlementEveryMs: 300 } } })
    sides.push(again)
    await waitUntil(() => again.engine.get(id).settlementTxid !== null, 15_000, 'the settlement of the newer state')
    expect(again.engine.get(id)).toMatchObject({ state: 'closing', seq: 30, paidSats: 300 })
    expect(await again.engine.components.metrics.registry.getSingleMetricAsString('bsv_p2p_channel_backup_recovered_total')).toMatch(/ 1$/m)
  }, 60_000)

  it('refuses another wallet’s channel file and leaves everything as it was', async () => {
    const { side: one, offsite } = await side()
    await fund(devnet, one, 200_000)
    const { side: other } = await side()
    await connect(one, other)
    await one.engine.open({ peerId: other.peerId, capacitySats: 20_000 })
    await waitUntil(() => {
      try {
        return openChannelBackup(readFileSync(join(offsite, CHANNEL_BACKUP_FILE)), one.wallet.channelBackupSecret()!.key).channels.length === 1
      } catch {
        return false
      }
    }, 10_000, 'the file')
    const before = other.engine.list().length
    await expect(other.engine.restoreBackup(readFileSync(join(offsite, CHANNEL_BACKUP_FILE)))).rejects.toMatchObject({ code: 'invalid_params', details: { reason: 'wrong-key-or-damaged' } })
    expect(other.engine.list()).toHaveLength(before)
  }, 60_000)
})
