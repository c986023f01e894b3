import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DevnetServer } from '../chain/devnet/devnet-server.js'
import { WalletRepository } from '../wallet/wallet-repository.js'
import { type Side, connect, fund, removeDir, startDevnet, startSide } from './test/harness.js'

/** Satoshis of the coins the wallet may spend now, as its database has them. */
function spendable(side: Side): number {
  return (side.store.db.prepare("SELECT COALESCE(SUM(satoshis), 0) AS s FROM wallet_utxos WHERE state = 'available'").get() as { s: number }).s
}

function reservedCoins(side: Side): number {
  return (side.store.db.prepare("SELECT COUNT(*) AS n FROM wallet_utxos WHERE state = 'reserved'").get() as { n: number }).n
}

/**
 * Opens a channel to `payeeId` and "kills" the payer the moment its funding reaches `step` on
 * disk: the database closes then (nothing later is stored), and the rest stops. Returns how
 * the open ended for its caller.
 */
async function openAndKillAt(payer: Side, payeeId: string, step: 'built' | 'refund-signed'): Promise<'opened' | 'failed'> {
  const emit = payer.engine.book.onChanged
  let reached = (): void => {}
  const atStep = new Promise<void>((r) => (reached = r))
  payer.engine.book.onChanged = (c, kind) => {
    emit(c, kind)
    if (c.role === 'payer' && c.state === 'funding' && c.step === step) {
      payer.store.db.close()
      reached()
    }
  }
  const opening = payer.engine.open({ peerId: payeeId, capacitySats: 100_000 }).then(() => 'opened' as const, () => 'failed' as const)
  await atStep
  await payer.crash()
  return opening
}

/** The same side again on its data dir, peer id and port, as after a kill. */
async function restart(devnet: DevnetServer, side: Side): Promise<Side> {
  return startSide(devnet, { dir: side.dir, key: side.key, port: side.port })
}

// A funding reserves its coins before the channel's record names the reservation; a kill
// in between must not leave them reserved for ever (the wallet could never spend them).
describe('coins reserved for a channel funding, after a kill', () => {
  let devnet: DevnetServer
  let payee: Side
  const sides: Side[] = []

  beforeAll(async () => {
    devnet = await startDevnet()
    payee = await startSide(devnet, { init: { policy: { autoAcceptMaxSats: 500_000 } } })
  })

  afterAll(async () => {
    for (const s of [...sides, payee]) {
      await s.stop().catch(() => {})
      removeDir(s.dir)
    }
    await devnet.stop()
  })

  it('killed after the reservation and before the channel was stored: spendable again on restart, and a channel opens with them', async () => {
    const payer = await startSide(devnet)
    await fund(devnet, payer, 300_000)
    const funded = spendable(payer)
    // The kill's point: the wallet committed the reservation, no channel names it.
    payer.wallet.reserveForChannel({ capacitySats: 100_000, feeRateSatsPerKb: 50 })
    expect(spendable(payer)).toBe(0)
    await payer.crash()

    const again = await restart(devnet, payer)
    sides.push(again)
    expect({ spendable: spendable(again), reserved: reservedCoins(again) }).toEqual({ spendable: funded, reserved: 0 })
    await connect(again, payee)
    const channel = await again.engine.open({ peerId: payee.peerId, capacitySats: 250_000 })
    expect(channel.state).toBe('open')
  }, 30_000)

  it('a start whose write to free them fails still starts, the coins kept reserved; the next start frees them', async () => {
    const payer = await startSide(devnet)
    await fund(devnet, payer, 300_000)
    const funded = spendable(payer)
    payer.wallet.reserveForChannel({ capacitySats: 100_000, feeRateSatsPerKb: 50 })
    // The disk's refusal, played by SQLite itself: any change to a coin fails.
    payer.store.db.exec("CREATE TRIGGER refuse_coin_update BEFORE UPDATE ON wallet_utxos BEGIN SELECT RAISE(FAIL, 'the disk refuses writes'); END")
    await payer.crash()

    const refused = await restart(devnet, payer)
    expect(refused.engine.isRunning).toBe(true)
    expect(reservedCoins(refused)).toBe(1)
    refused.store.db.exec('DROP TRIGGER refuse_coin_update')
    await refused.stop()

    const again = await restart(devnet, payer)
    sides.push(again)
    expect({ spendable: spendable(again), reserved: reservedCoins(again) }).toEqual({ spendable: funded, reserved: 0 })
  }, 30_000)

  it('killed with its funding built and the refund not yet signed: spendable at once on restart, the channel failed as interrupted', async () => {
    const payer = await startSide(devnet)
    await fund(devnet, payer, 300_000)
    const funded = spendable(payer)
    await connect(payer, payee)
    // The refund's signature is never stored.
    expect(await openAndKillAt(payer, payee.peerId, 'built')).toBe('failed')

    const disk = new Database(join(payer.dir, 'engine.sqlite'), { readonly: true })
    try {
      expect(disk.prepare("SELECT state, step FROM channels WHERE role = 'payer'").all()).toEqual([{ state: 'funding', step: 'built' }])
      expect(disk.prepare("SELECT COUNT(*) AS n FROM wallet_utxos WHERE state = 'reserved'").get()).toEqual({ n: 1 })
    } finally {
      disk.close()
    }

    const again = await restart(devnet, payer)
    sides.push(again)
    // The start itself frees them, without waiting for the chain watch to fail the channel.
    expect({ spendable: spendable(again), reserved: reservedCoins(again) }).toEqual({ spendable: funded, reserved: 0 })
    await expect.poll(() => again.engine.list().map((c) => [c.state, c.failure]), { timeout: 10_000 }).toEqual([['failed', 'interrupted']])
  }, 30_000)

  it('killed with the refund signed and stored: the coins stay out of reach (the funding may be on chain), and the funding goes through', async () => {
    const payer = await startSide(devnet)
    await fund(devnet, payer, 300_000)
    const [coin] = payer.store.db.prepare("SELECT txid, vout FROM wallet_utxos WHERE state = 'available'").all() as { txid: string; vout: number }[]
    await connect(payer, payee)
    expect(await openAndKillAt(payer, payee.peerId, 'refund-signed')).toBe('failed')

    const again = await restart(devnet, payer)
    sides.push(again)
    // Spent and then dropped by a sync once the chain stops listing it: gone.
    const coinState = (): string => (again.store.db.prepare('SELECT state FROM wallet_utxos WHERE txid = ? AND vout = ?').get(coin!.txid, coin!.vout) as { state: string } | undefined)?.state ?? 'gone'
    expect(coinState()).not.toBe('available')
    await connect(again, payee)
    await expect.poll(() => again.engine.list().map((c) => c.state), { timeout: 10_000 }).toEqual(['open'])
    expect(['spent', 'gone']).toContain(coinState())
    expect(reservedCoins(again)).toBe(0)
  }, 30_000)

  it('a send whose signed bytes are stored keeps its coins', async () => {
    const payer = await startSide(devnet)
    sides.push(payer)
    await fund(devnet, payer, 300_000)
    const repo = new WalletRepository(payer.store)
    const [coin] = repo.availableCoins()
    repo.transaction(() => {
      expect(repo.reserve([coin!], 'send-1')).toBe(true)
      repo.insertPendingSend({ sendId: 'send-1', address: payer.wallet.info().address, sats: 1_000, fee: 100, changeAddress: null, changeSats: 0 }, Date.now())
    })
    repo.setPendingRaw('send-1', 'ab'.repeat(32), '00')
    expect(repo.releaseReservationsExcept([])).toBe(0)
    expect(reservedCoins(payer)).toBe(1)
  }, 30_000)
})
