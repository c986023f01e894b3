import { P2PKH, PrivateKey, Transaction } from '@bsv/sdk'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainUnavailableError } from '../chain/index.js'
import { Store } from '../store/index.js'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { ChannelFunding } from './channel-funding.js'
import { PlainKeystore } from './keystore.js'
import { walletMigrations } from './migrations.js'
import { TempDirs } from './test/helpers.js'
import { WalletKeyring } from './wallet-keyring.js'
import { WalletRepository } from './wallet-repository.js'
import { WalletSender } from './wallet-sender.js'

const temp = new TempDirs()
const stores: Store[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop()
  temp.cleanup()
})

/** A testnet address nobody here holds the key of. */
const stranger = PrivateKey.fromRandom().toAddress([0x6f])

/** A wallet over SQLite with one 100,000 sat coin and a chain whose broadcaster does what `broadcast` says. */
async function setUp(broadcast: (rawHex: string) => Promise<{ txid: string }>) {
  const store = new Store({ dataDir: temp.make(), migrations: walletMigrations })
  await store.start()
  stores.push(store)
  const repo = new WalletRepository(store)
  const keyring = new WalletKeyring({ repo, logger: silentLogger }, { network: 'devnet', gapLimit: 2, keystore: new PlainKeystore() })
  await keyring.open()
  const funded = repo.currentReceive()!.address
  repo.applySync([{ txid: 'ab'.repeat(32), vout: 3, satoshis: 100_000, height: 1, address: funded }], Date.now(), [])
  const monitor = { reportOk: () => {}, reportUnavailable: () => {} }
  const lookup = { txStatus: async () => ({ height: null, confirmations: 0 }) } as never
  const sender = new WalletSender(
    { repo, keyring, chain: { lookup, broadcaster: { broadcast }, monitor }, logger: silentLogger, metrics: new Metrics(), changed: () => {}, stale: () => {} },
    { network: 'devnet', feeRateSatsPerKb: 100 },
  )
  return { repo, keyring, sender }
}

/** Where `rawHex` pays `address`, read from the transaction itself. */
function indexPaying(rawHex: string, address: string): number {
  const script = new P2PKH().lock(address).toHex()
  return Transaction.fromHex(rawHex).outputs.findIndex((o) => o.lockingScript.toHex() === script)
}

describe('the change outpoint a send records', () => {
  it('is where the signed transaction pays the change address: index 0 when the change is the smaller output', async () => {
    let raw = ''
    const { repo, sender } = await setUp(async (rawHex) => {
      raw = rawHex
      return { txid: Transaction.fromHex(rawHex).id('hex') }
    })
    const sent = await sender.send({ address: stranger, sats: 90_000 })
    const change = repo.utxos().find((u) => u.txid === sent.txid)!
    expect(change.satoshis).toBe(100_000 - 90_000 - sent.fee)
    expect(change.vout).toBe(indexPaying(raw, change.address))
    expect(change.vout).toBe(0)
  })

  it('is where the signed transaction pays it when a send whose answer was lost is completed later', async () => {
    let answer: 'lost' | 'ok' = 'lost'
    const { repo, sender } = await setUp(async (rawHex) => {
      if (answer === 'lost') throw new ChainUnavailableError('answer lost', true)
      return { txid: Transaction.fromHex(rawHex).id('hex') }
    })
    await expect(sender.send({ address: stranger, sats: 90_000 })).rejects.toMatchObject({ code: 'unavailable' })
    const [pending] = repo.pendingSends()
    expect(pending?.rawHex).toBeTruthy()
    answer = 'ok'
    await sender.resolvePending()
    expect(repo.pendingSends()).toEqual([])
    const change = repo.utxos().find((u) => u.txid === pending!.txid)!
    expect(change.address).toBe(pending!.changeAddress)
    expect(change.vout).toBe(indexPaying(pending!.rawHex!, pending!.changeAddress!))
    expect(change.vout).toBe(0)
  })

  it('a channel funding records its change where its transaction pays it, and none it cannot place', async () => {
    const { repo, keyring } = await setUp(async () => ({ txid: '' }))
    const funding = new ChannelFunding({ repo, keyring, changed: () => {} }, { feeRateSatsPerKb: 100 })
    const placed = funding.reserve({ capacitySats: 60_000, feeRateSatsPerKb: 100 })
    // Change first, then the channel's output: the wallet must not assume a layout.
    const tx = new Transaction()
    tx.addOutput({ lockingScript: new P2PKH().lock(placed.changeAddress), satoshis: 39_000 })
    tx.addOutput({ lockingScript: new P2PKH().lock(stranger), satoshis: 60_000 })
    const txid = tx.id('hex')
    funding.complete(placed.reservationId, { txid, capacitySats: 60_000, feeSats: 1_000, changeSats: 39_000, changeAddress: placed.changeAddress, fundingAddress: 'channel:x', rawHex: tx.toHex() })
    expect(repo.utxos().filter((u) => u.txid === txid).map((u) => [u.vout, u.satoshis])).toEqual([[0, 39_000]])
  })
})
