// Chain and wallet figures (issue 3): devnet validation of one P2PKH spend (parse, UTXO
// checks, fee, script interpretation by @bsv/sdk, SQLite commit), a wallet send end to end
// over HTTP (select + reserve, sign, ARC broadcast to the devnet, commit) and one full sync.
import { P2PKH, PrivateKey, Transaction } from '@bsv/sdk'
import { DevnetServer } from '../main/chain/devnet/devnet-server.js'
import { TempDirs, faucet, mine, startWallet } from '../main/wallet/test/helpers.js'
import { type BenchResult, round, summarise } from './types.js'

export async function runWalletBench(opts: { quick?: boolean } = {}): Promise<BenchResult[]> {
  const n = opts.quick ? 30 : 200
  const temp = new TempDirs()
  const devnet = new DevnetServer({ dataDir: temp.make('devnet-bench-') })
  await devnet.start()
  const results: BenchResult[] = []
  try {
    // 1. Devnet validation: a chain of spends, each timed inside submit().
    const key = PrivateKey.fromRandom()
    const addr = key.toAddress([0x6f])
    const lock = new P2PKH().lock(addr)
    let prev = { txid: (await devnet.faucet(addr, 10_000_000)).txid, vout: 0, sats: 10_000_000 }
    const times: number[] = []
    for (let i = 0; i < n + 5; i++) {
      const tx = new Transaction()
      tx.addInput({ sourceTXID: prev.txid, sourceOutputIndex: prev.vout, sequence: 0xffffffff, unlockingScriptTemplate: new P2PKH().unlock(key, 'all', false, prev.sats, lock) })
      tx.addOutput({ lockingScript: lock, satoshis: 1_000 })
      tx.addOutput({ lockingScript: lock, satoshis: prev.sats - 1_000 - 100 })
      await tx.sign()
      const hex = tx.toHex()
      const t0 = performance.now()
      const { txid } = devnet.submit(hex)
      if (i >= 5) times.push(performance.now() - t0)
      prev = { txid, vout: 1, sats: prev.sats - 1_100 }
    }
    const v = summarise(times)
    results.push({ name: 'devnet accept (validate + commit) of a 1-in 2-out P2PKH tx', unit: 'ms', value: round(v.mean), p50: round(v.p50), p95: round(v.p95), p99: round(v.p99), max: round(v.max), samples: v.samples })

    // 2. Wallet send over HTTP, one after another.
    const payer = await startWallet(devnet.url, temp.make())
    const payee = await startWallet(devnet.url, temp.make())
    try {
      for (let i = 0; i < Math.min(n, 50); i++) await faucet(devnet.url, payer.wallet.info().address, 20_000)
      await mine(devnet.url)
      await payer.wallet.sync()
      const sends: number[] = []
      const to = payee.wallet.info().address
      for (let i = 0; i < Math.min(n, 50); i++) {
        const t0 = performance.now()
        await payer.wallet.send({ address: to, sats: 1_000 })
        sends.push(performance.now() - t0)
      }
      const s = summarise(sends)
      results.push({ name: 'wallet send (select, sign, broadcast to devnet, commit)', unit: 'ms', value: round(s.mean), p50: round(s.p50), p95: round(s.p95), max: round(s.max), samples: s.samples })
      const syncs: number[] = []
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now()
        await payer.wallet.sync()
        syncs.push(performance.now() - t0)
      }
      const addresses = (payer.store.db.prepare('SELECT COUNT(*) AS n FROM wallet_addresses').get() as { n: number }).n
      const y = summarise(syncs)
      results.push({ name: `wallet sync (${addresses} addresses, devnet over HTTP)`, unit: 'ms', value: round(y.mean), p50: round(y.p50), max: round(y.max), samples: y.samples })
    } finally {
      await payer.stop()
      await payee.stop()
    }
  } finally {
    await devnet.stop()
    temp.cleanup()
  }
  return results
}

// Run directly: `npx tsx bench/wallet.bench.ts`
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await runWalletBench({ quick: process.argv.includes('--quick') })) process.stdout.write(`${JSON.stringify(r)}\n`)
}
