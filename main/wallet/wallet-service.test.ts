import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Mnemonic, Transaction } from '@bsv/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContractError, type WalletInfo, methods } from '../../shared/contract/index.js'
import { ChainUnavailableError } from '../chain/chain.js'
import { WhatsOnChainClient } from '../chain/woc-client.js'
import { DevnetServer } from '../chain/devnet/devnet-server.js'
import { DATABASE_FILE } from '../store/index.js'
import { walletHandlers } from './handlers.js'
import { WalletKeys } from './mnemonic.js'
import { TempDirs, type TestWallet, faucet, mine, startWallet } from './test/helpers.js'
import { WalletConfigError, WalletLockedError, WalletService, WrongPassphraseError } from './wallet-service.js'

const temp = new TempDirs()

async function contractCode(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return err instanceof ContractError ? err.code : `not a ContractError: ${String(err)}`
  }
  return 'no error'
}

describe('wallet on a devnet', () => {
  const devnet = new DevnetServer({ minFeeRateSatsPerKb: 50 })
  let url: string
  let woc: WhatsOnChainClient
  const open: TestWallet[] = []

  async function wallet(init: Parameters<typeof startWallet>[2] = {}, dataDir = temp.make()): Promise<TestWallet> {
    const w = await startWallet(url, dataDir, init)
    open.push(w)
    return w
  }

  beforeAll(async () => {
    await devnet.start()
    url = devnet.url
    woc = new WhatsOnChainClient({ baseUrl: `${url}/v1/bsv/devnet`, http: { retries: 0 } })
  })
  afterAll(async () => {
    for (const w of open.splice(0)) await w.stop().catch(() => {})
    await devnet.stop()
    temp.cleanup()
  })

  it('faucet -> sync -> balance; send to another wallet -> both balances right after mining', async () => {
    const a = await wallet({ passphrase: 'alice pw' })
    const b = await wallet()
    const events: WalletInfo[] = []
    a.events.on('wallet', (w) => events.push(w))
    const first = a.wallet.info()
    expect(first).toMatchObject({ network: 'devnet', ready: true, balance: { confirmed: 0, unconfirmed: 0 } })
    expect(first.address).toMatch(/^[mn]/)

    await faucet(url, first.address, 100_000)
    expect(await a.wallet.sync()).toBe(true)
    expect(a.wallet.info().balance).toEqual({ confirmed: 0, unconfirmed: 100_000 })
    // Paid once, the receive address moves on to a fresh one.
    expect(a.wallet.info().address).not.toBe(first.address)
    await mine(url)
    await a.wallet.sync()
    expect(a.wallet.info().balance).toEqual({ confirmed: 100_000, unconfirmed: 0 })
    expect(events.at(-1)?.balance).toEqual({ confirmed: 100_000, unconfirmed: 0 })

    const handlers = walletHandlers(a.wallet)
    const bAddress = b.wallet.info().address
    const sent = await handlers.send({ address: bAddress, sats: 30_000 }, null)
    expect(sent.sats).toBe(30_000)
    expect(sent.fee).toBeGreaterThan(0)
    expect(sent.fee).toBeLessThan(100)
    // Right after the send: change is ours, unconfirmed.
    expect(a.wallet.info().balance).toEqual({ confirmed: 0, unconfirmed: 100_000 - 30_000 - sent.fee })
    await mine(url)
    await Promise.all([a.wallet.sync(), b.wallet.sync()])
    expect(a.wallet.info().balance).toEqual({ confirmed: 100_000 - 30_000 - sent.fee, unconfirmed: 0 })
    expect(b.wallet.info().balance).toEqual({ confirmed: 30_000, unconfirmed: 0 })

    const aTxs = await handlers.listTransactions({ limit: 10 })
    expect(aTxs.map((t) => [t.direction, t.sats])).toEqual([
      ['out', 30_000],
      ['in', 100_000],
    ])
    expect(aTxs[0]).toMatchObject({ txid: sent.txid, fee: sent.fee, address: bAddress })
    expect(aTxs.every((t) => t.height !== null)).toBe(true)
    const bTxs = b.wallet.listTransactions({ limit: 10 })
    expect(bTxs).toMatchObject([{ direction: 'in', sats: 30_000, txid: sent.txid, fee: 0 }])
    expect(a.wallet.listTransactions({ limit: 10, before: aTxs[0]!.seq })).toHaveLength(1)

    // The chain agrees: the send is mined and the change output exists.
    expect((await woc.txStatus(sent.txid))?.confirmations).toBe(1)
    const newAddr = await handlers.newAddress({}, null)
    expect(a.wallet.info().address).toBe(newAddr.address)
  })

  it('records the change at the output the signed transaction pays it, not at a fixed index, and can spend it before any sync', async () => {
    const a = await wallet()
    const b = await wallet()
    await faucet(url, a.wallet.info().address, 1_000_000)
    await a.wallet.sync()
    // Outputs are ordered by amount: change smaller than the payment comes first.
    const sent = await a.wallet.send({ address: b.wallet.info().address, sats: 900_000 })
    const raw = await woc.rawTx(sent.txid)
    expect(raw).not.toBeNull()
    const tx = Transaction.fromHex(raw!)
    const changeVout = tx.outputs.findIndex((o) => o.satoshis === 1_000_000 - 900_000 - sent.fee)
    expect(changeVout).toBe(0)
    expect(a.store.db.prepare('SELECT vout, satoshis FROM wallet_utxos WHERE txid = ?').all(sent.txid)).toEqual([{ vout: 0, satoshis: 1_000_000 - 900_000 - sent.fee }])
    // Spending the change as recorded (no sync in between) is accepted by the chain: the outpoint is real and ours.
    const again = await a.wallet.send({ address: b.wallet.info().address, sats: 50_000 })
    expect(await woc.txStatus(again.txid)).not.toBeNull()
    await b.wallet.sync()
    expect(b.wallet.info().balance.unconfirmed).toBe(950_000)
  })

  it('refuses bad addresses, wrong networks and overspending, and reserves nothing for them', async () => {
    const w = await wallet()
    await faucet(url, w.wallet.info().address, 5_000)
    await w.wallet.sync()
    const mainnetAddr = new WalletKeys(new WalletKeys('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about', 'mainnet').mnemonic, 'mainnet').address(0, 0)
    expect(await contractCode(w.wallet.send({ address: mainnetAddr, sats: 1_000 }))).toBe('wrong_network')
    expect(await contractCode(w.wallet.send({ address: 'mxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', sats: 1_000 }))).toBe('invalid_address')
    expect(await contractCode(w.wallet.send({ address: w.wallet.info().address, sats: 5_000 }))).toBe('insufficient_funds')
    expect(await contractCode(w.wallet.send({ address: w.wallet.info().address, sats: 0 }))).toBe('invalid_params')
    // A send to ourselves works and keeps the balance minus the fee.
    const self = await w.wallet.send({ address: w.wallet.info().address, sats: 1_000 })
    await w.wallet.sync()
    expect(w.wallet.info().balance.unconfirmed).toBe(5_000 - self.fee)
  })

  it('previews a send (fee, total, max) reserving and writing nothing; the sends then pay exactly what was previewed', async () => {
    const w = await wallet()
    const payee = await wallet()
    for (const sats of [20_000, 7_000, 300]) await faucet(url, w.wallet.info().address, sats)
    await mine(url)
    await w.wallet.sync()
    const to = payee.wallet.info().address
    const handlers = walletHandlers(w.wallet)
    const tables = ['wallet_keys', 'wallet_addresses', 'wallet_utxos', 'wallet_transactions', 'wallet_pending_sends']
    const everything = (): string => JSON.stringify(tables.map((t) => w.store.db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()))
    const before = everything()

    const preview = await handlers.previewSend({ address: to, sats: 10_000 })
    expect(preview.sats).toBe(10_000)
    expect(preview.feeSats).toBeGreaterThan(0)
    expect(preview.totalSats).toBe(10_000 + preview.feeSats)
    expect(preview.spendableSats).toBe(27_300)
    // Without an address (the Max button before one is typed) the numbers are the same.
    expect(await handlers.previewSend({ sats: 10_000 })).toEqual(preview)
    const max = await handlers.previewSend({ address: to, max: true })
    expect(max.totalSats).toBe(27_300)
    expect(max.sats).toBe(27_300 - max.feeSats)
    expect(max.feeSats).toBeGreaterThan(preview.feeSats)

    // Refused as a send would be, with the numbers in the details.
    const mainnetAddr = new WalletKeys('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about', 'mainnet').address(0, 0)
    expect(await contractCode(handlers.previewSend({ address: mainnetAddr, sats: 1_000 }))).toBe('wrong_network')
    expect(await contractCode(handlers.previewSend({ address: mainnetAddr, max: true }))).toBe('wrong_network')
    expect(await contractCode(handlers.previewSend({ address: 'mxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', sats: 1_000 }))).toBe('invalid_address')
    const short = await handlers.previewSend({ address: to, sats: max.sats + 1 }).catch((e: unknown) => e)
    expect(short).toBeInstanceOf(ContractError)
    expect(short).toMatchObject({ code: 'insufficient_funds', details: { available: 27_300 } })
    expect(((short as ContractError).details as { needed: number }).needed).toBeGreaterThan(27_300)
    // The contract takes an amount or max, never both, never neither.
    const params = methods.previewSend.params
    expect(params.safeParse({ address: to, sats: 1 }).success).toBe(true)
    expect(params.safeParse({ max: true }).success).toBe(true)
    for (const bad of [{}, { sats: 1, max: true }, { max: false }, { sats: 0 }, { sats: 1.5 }, { address: to }, { sats: 1, idempotencyKey: 'a1b2c3d4-e5f6-4789-9abc-def012345678' }]) {
      expect(params.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    }
    // Nothing reserved, nothing written.
    expect(everything()).toBe(before)

    const sent = await handlers.send({ address: to, sats: 10_000 }, null)
    expect(sent.fee).toBe(preview.feeSats)
    await w.wallet.sync()
    const rest = await handlers.previewSend({ address: to, max: true })
    expect(rest.totalSats).toBe(27_300 - preview.totalSats)
    const all = await handlers.send({ address: to, sats: rest.sats }, null)
    expect(all.fee).toBe(rest.feeSats)
    await mine(url)
    await Promise.all([w.wallet.sync(), payee.wallet.sync()])
    expect(w.wallet.info().balance).toEqual({ confirmed: 0, unconfirmed: 0 })
    expect(payee.wallet.info().balance.confirmed).toBe(10_000 + rest.sats)
    expect(await contractCode(handlers.previewSend({ max: true }))).toBe('insufficient_funds')
  })

  it('20 concurrent sends from one wallet: no UTXO selected twice, every accepted send valid on the devnet', async () => {
    const payer = await wallet()
    const payee = await wallet()
    const coins = 12
    for (let i = 0; i < coins; i++) await faucet(url, payer.wallet.info().address, 10_000)
    await mine(url)
    await payer.wallet.sync()
    expect(payer.wallet.info().balance.confirmed).toBe(coins * 10_000)

    const to = payee.wallet.info().address
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => payer.wallet.send({ address: to, sats: 4_000 })))
    const accepted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    // Only "not enough coins right now": never a chain refusal (that would be a double spend).
    for (const err of refused) expect(err instanceof ContractError && err.code).toBe('insufficient_funds')
    expect(accepted.length).toBeGreaterThanOrEqual(coins)

    const seen = new Set<string>()
    for (const send of accepted) {
      const raw = await woc.rawTx(send.txid)
      expect(raw).not.toBeNull()
      for (const input of Transaction.fromHex(raw!).inputs) {
        const outpoint = `${input.sourceTXID}:${input.sourceOutputIndex}`
        expect(seen.has(outpoint)).toBe(false)
        seen.add(outpoint)
      }
    }
    await mine(url)
    await Promise.all([payer.wallet.sync(), payee.wallet.sync()])
    const spent = accepted.reduce((s, a) => s + a.sats + a.fee, 0)
    expect(payer.wallet.info().balance).toEqual({ confirmed: coins * 10_000 - spent, unconfirmed: 0 })
    expect(payee.wallet.info().balance.confirmed).toBe(accepted.length * 4_000)
    expect(payer.store.db.prepare("SELECT COUNT(*) AS n FROM wallet_utxos WHERE state = 'reserved'").get()).toEqual({ n: 0 })
    for (const send of accepted) expect((await woc.txStatus(send.txid))?.height).not.toBeNull()
  })

  it('restores from the mnemonic in a new data dir: same addresses and balance', async () => {
    const original = await wallet({ passphrase: 'orig pw' })
    // Coins on the first receive address, the next one, and change.
    await faucet(url, original.wallet.info().address, 40_000)
    await original.wallet.sync()
    await faucet(url, original.wallet.info().address, 7_000)
    await original.wallet.sync()
    const other = await wallet()
    await original.wallet.send({ address: other.wallet.info().address, sats: 11_000 })
    await mine(url)
    await original.wallet.sync()
    const before = original.wallet.info()
    const { mnemonic } = await walletHandlers(original.wallet).backupWallet({ passphrase: 'orig pw' })
    expect(mnemonic.split(' ')).toHaveLength(12)

    const restored = await wallet({ passphrase: 'something else' })
    expect(restored.wallet.info().address).not.toBe(before.address)
    const info = await walletHandlers(restored.wallet).restoreWallet({ mnemonic, passphrase: 'new pw' }, null)
    expect(info).toEqual(before)
    const addrs = (t: TestWallet) => (t.store.db.prepare('SELECT address FROM wallet_addresses WHERE used = 1 ORDER BY chain, idx').all() as { address: string }[]).map((r) => r.address)
    expect(addrs(restored)).toEqual(addrs(original))
    // The new passphrase now guards the backup.
    expect(await contractCode(restored.wallet.backupWallet({ passphrase: 'something else' }))).toBe('wrong_passphrase')
    expect((await restored.wallet.backupWallet({ passphrase: 'new pw' })).mnemonic).toBe(mnemonic)
    // A bad phrase changes nothing. The last word carries checksum bits, so a replacement
    // is valid by chance one time in 16: pick one the checksum refuses.
    const badPhrase = ['zoo', 'zone', 'zero', 'youth', 'wrong', 'abandon']
      .map((w) => mnemonic.replace(/\w+$/, w))
      .find((phrase) => phrase !== mnemonic && !Mnemonic.isValid(phrase))!
    expect(await contractCode(restored.wallet.restoreWallet({ mnemonic: badPhrase }))).toBe('invalid_params')
    expect(restored.wallet.info()).toEqual(before)
  })

  it('wrong passphrase: a clear error, nothing decrypted, nothing changed on disk', async () => {
    const dir = temp.make()
    const first = await startWallet(url, dir, { passphrase: 'right' })
    const address = first.wallet.info().address
    expect(await contractCode(first.wallet.backupWallet({ passphrase: 'wrong' }))).toBe('wrong_passphrase')
    await first.stop()
    const file = join(dir, DATABASE_FILE)
    const hash = (): string => createHash('sha256').update(readFileSync(file)).digest('hex')
    const before = hash()

    const err = await startWallet(url, dir, { passphrase: 'wrong' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WrongPassphraseError)
    expect((err as Error).message).toMatch(/wrong passphrase/)
    const locked = await startWallet(url, dir, {}).catch((e: unknown) => e)
    expect(locked).toBeInstanceOf(WalletLockedError)
    expect(hash()).toBe(before)

    const again = await startWallet(url, dir, { passphrase: 'right' })
    expect(again.wallet.info().address).toBe(address)
    await again.stop()
  })

  it('mainnet refuses an unencrypted wallet', () => {
    expect(() => new WalletService({} as never, { network: 'mainnet' })).toThrow(WalletConfigError)
  })
})

describe('chain unreachable from the start', () => {
  it('the wallet starts, answers and reports the chain unavailable', async () => {
    const devnet = new DevnetServer()
    await devnet.start()
    const deadUrl = devnet.url
    await devnet.stop()
    const w = await startWallet(deadUrl, temp.make())
    try {
      expect(w.wallet.info()).toMatchObject({ ready: true, balance: { confirmed: 0, unconfirmed: 0 } })
      await w.monitor.poll()
      await expect(w.wallet.sync()).rejects.toBeInstanceOf(ChainUnavailableError)
      expect(w.wallet.chainHealth()).toEqual({ state: 'unavailable', height: null, network: 'devnet' })
      expect(await contractCode(w.wallet.send({ address: w.wallet.info().address, sats: 1 }))).toBe('insufficient_funds')
    } finally {
      await w.stop()
    }
  })
})

describe('chain server killed mid-sync', () => {
  it('reports unavailable, keeps the balance, recovers when the chain returns', async () => {
    const chainDir = temp.make('devnet-')
    const devnet = new DevnetServer({ dataDir: chainDir })
    await devnet.start()
    const port = devnet.port
    const url = devnet.url
    const w = await startWallet(url, temp.make(), { gapLimit: 20 })
    try {
      await faucet(url, w.wallet.info().address, 25_000)
      await mine(url)
      await w.wallet.sync()
      expect(w.wallet.chainHealth().state).toBe('ok')
      const balance = w.wallet.info().balance
      expect(balance.confirmed).toBe(25_000)

      // Stop the devnet while a sync (40 look-ups) is under way.
      const syncing = w.wallet.sync()
      await devnet.stop()
      const err = await syncing.catch((e: unknown) => e)
      if (err !== true) expect(err).toBeInstanceOf(ChainUnavailableError)
      await expect(w.wallet.sync()).rejects.toBeInstanceOf(ChainUnavailableError)
      expect(w.wallet.chainHealth().state).toBe('unavailable')
      // Nothing is dropped because the chain did not answer.
      expect(w.wallet.info().balance).toEqual(balance)
      expect(await contractCode(w.wallet.send({ address: w.wallet.info().address, sats: 1_000 }))).toBe('unavailable')
      expect(w.store.db.prepare("SELECT COUNT(*) AS n FROM wallet_utxos WHERE state != 'available'").get()).toEqual({ n: 0 })

      const back = new DevnetServer({ dataDir: chainDir, port })
      await back.start()
      try {
        await w.wallet.sync()
        expect(w.wallet.chainHealth().state).toBe('ok')
        expect(w.wallet.info().balance).toEqual(balance)
        await w.monitor.poll()
        expect(w.wallet.chainHealth()).toMatchObject({ state: 'ok', height: back.height, network: 'devnet' })
      } finally {
        await back.stop()
      }
    } finally {
      await w.stop()
    }
  })
})

describe('a broadcast whose answer is lost', () => {
  it('keeps the coins aside, never pays twice, and completes the same transaction once the chain answers', async () => {
    const { createServer } = await import('node:http')
    const devnet = new DevnetServer({ minFeeRateSatsPerKb: 50 })
    await devnet.start()
    // In front of the devnet: forwards everything; while `loseAnswers`, a broadcast reaches
    // the devnet but its client hears a 503, as when a response is lost on the way back.
    let loseAnswers = true
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = chunks.length ? Buffer.concat(chunks) : undefined
        fetch(`${devnet.url}${req.url}`, { method: req.method, body, headers: { 'Content-Type': req.headers['content-type'] ?? 'application/json' } })
          .then(async (answer) => {
            const text = await answer.text()
            if (loseAnswers && req.method === 'POST' && req.url?.startsWith('/v1/tx')) res.writeHead(503).end('lost')
            else res.writeHead(answer.status, { 'Content-Type': answer.headers.get('content-type') ?? 'text/plain' }).end(text)
          })
          .catch(() => res.writeHead(502).end())
      })
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`
    const a = await startWallet(proxyUrl, temp.make())
    const b = await startWallet(devnet.url, temp.make())
    try {
      await faucet(devnet.url, a.wallet.info().address, 50_000)
      await mine(devnet.url)
      await a.wallet.sync()
      expect(a.wallet.info().balance.confirmed).toBe(50_000)

      const to = b.wallet.info().address
      let pendingTxid = ''
      try {
        await a.wallet.send({ address: to, sats: 20_000 })
        throw new Error('the send should not report success')
      } catch (err) {
        expect(err).toBeInstanceOf(ContractError)
        expect((err as ContractError).code).toBe('unavailable')
        expect((err as ContractError).message).toMatch(/Do not pay again/)
        pendingTxid = ((err as ContractError).details as { txid: string }).txid
      }
      // The one coin is held by the pending send: a retry cannot spend it again.
      expect(await contractCode(a.wallet.send({ address: to, sats: 20_000 }))).toBe('insufficient_funds')
      // It survives a restart as it is.
      await a.stop()
      const again = await startWallet(proxyUrl, a.dataDir)
      Object.assign(a, again)
      expect(await contractCode(a.wallet.send({ address: to, sats: 20_000 }))).toBe('insufficient_funds')

      // The chain answers again: the next sync settles it, once.
      loseAnswers = false
      await a.wallet.sync()
      const history = await a.wallet.listTransactions({ limit: 10 })
      expect(history.filter((t) => t.direction === 'out')).toEqual([expect.objectContaining({ txid: pendingTxid, sats: 20_000 })])
      await mine(devnet.url)
      await Promise.all([a.wallet.sync(), b.wallet.sync()])
      const fee = history.find((t) => t.txid === pendingTxid)!.fee
      expect(b.wallet.info().balance).toEqual({ confirmed: 20_000, unconfirmed: 0 })
      expect(a.wallet.info().balance).toEqual({ confirmed: 50_000 - 20_000 - fee, unconfirmed: 0 })
      expect(a.store.db.prepare('SELECT COUNT(*) AS n FROM wallet_pending_sends').get()).toEqual({ n: 0 })
    } finally {
      await a.stop().catch(() => {})
      await b.stop()
      await new Promise((resolve) => proxy.close(resolve))
      await devnet.stop()
    }
  })

  it('frees coins a send reserved but never signed (a crash in between)', async () => {
    const devnet = new DevnetServer({ minFeeRateSatsPerKb: 50 })
    await devnet.start()
    const dir = temp.make()
    let w = await startWallet(devnet.url, dir)
    try {
      await faucet(devnet.url, w.wallet.info().address, 10_000)
      await w.wallet.sync()
      // What a send leaves behind when the process dies between reservation and signing.
      w.store.db.transaction(() => {
        w.store.db.prepare("UPDATE wallet_utxos SET state = 'reserved', reserved_by = 'crashed'").run()
        w.store.db.prepare("INSERT INTO wallet_pending_sends (send_id, address, sats, fee, change_address, change_sats, created_at) VALUES ('crashed', 'x', 1, 0, NULL, 0, 0)").run()
      })()
      await w.stop()
      w = await startWallet(devnet.url, dir)
      expect(w.store.db.prepare("SELECT COUNT(*) AS n FROM wallet_utxos WHERE state = 'available'").get()).toEqual({ n: 1 })
      expect(w.store.db.prepare('SELECT COUNT(*) AS n FROM wallet_pending_sends').get()).toEqual({ n: 0 })
      const sent = await w.wallet.send({ address: (await w.wallet.newAddress()).address, sats: 5_000 })
      expect(sent.sats).toBe(5_000)
    } finally {
      await w.stop()
      await devnet.stop()
    }
  })
})
