// Signature backends (issue 5): sign and verify per backend, and the CPU part of the payment
// hot path: the payer builds the next settlement tx, computes its sighash and signs; the
// payee rebuilds the expected tx and verifies. Warm-up runs are discarded.
import { randomBytes } from 'node:crypto'
import { PrivateKey } from '@bsv/sdk'
import { type SignatureBackend, createBsvSdkBackend, createLibsecp256k1Backend, createNobleBackend, createOpenSslBackend, publicKeyOf, sha256 } from '../main/channels/signer.js'
import { buildSettlementTx, channelFees, fundingOutputScript, signInput, verifyInputSignature } from '../main/channels/transactions.js'
import { type BenchResult, round, summarise } from './types.js'

function randomKey(): Uint8Array {
  return Uint8Array.from(PrivateKey.fromRandom().toArray('be', 32))
}

/** Times `fn` per call in µs after `warmup` discarded calls; bounded by `maxMs` as well. */
function timeEach(count: number, warmup: number, maxMs: number, fn: (i: number) => void): number[] {
  for (let i = 0; i < warmup; i++) fn(i)
  const times: number[] = []
  const deadline = performance.now() + maxMs
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const t0 = performance.now()
    fn(i)
    times.push((performance.now() - t0) * 1000)
  }
  return times
}

function report(name: string, times: number[], note?: string): BenchResult[] {
  const s = summarise(times)
  return [
    { name: `${name} (ops/s)`, unit: 'ops/s', value: Math.round(1e6 / s.mean), samples: s.samples, ...(note ? { note } : {}) },
    { name: `${name} (µs)`, unit: 'µs', value: round(s.mean, 1), p50: round(s.p50, 1), p95: round(s.p95, 1), p99: round(s.p99, 1), max: round(s.max, 1), samples: s.samples },
  ]
}

export async function runSigningBench(opts: { quick?: boolean } = {}): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  const backends: SignatureBackend[] = [createLibsecp256k1Backend(), createOpenSslBackend(), createNobleBackend(), createBsvSdkBackend()]
  const hashes = Array.from({ length: 64 }, () => sha256(randomBytes(200)))
  const priv = randomKey()
  const pub = publicKeyOf(priv)

  for (const backend of backends) {
    const slow = backend.name === 'bsv-sdk'
    const n = opts.quick ? (slow ? 40 : 300) : slow ? 300 : 2_000
    const warmup = slow ? 10 : 100
    const sigs = hashes.map((h) => backend.sign(h, priv))
    results.push(...report(`${backend.name} sign`, timeEach(n, warmup, 20_000, (i) => backend.sign(hashes[i % hashes.length]!, priv))))
    results.push(...report(`${backend.name} verify`, timeEach(n, warmup, 20_000, (i) => {
      if (!backend.verify(hashes[i % hashes.length]!, sigs[i % sigs.length]!, pub)) throw new Error('verify failed')
    })))
    await new Promise((resolve) => setImmediate(resolve))
  }

  // A fresh key every call: what the KeyObject cache saves OpenSSL.
  const openssl = backends[1]!
  const coldKeys = Array.from({ length: opts.quick ? 200 : 1_000 }, randomKey)
  results.push(...report('openssl sign, new key each time (KeyObject built)', timeEach(coldKeys.length - 20, 20, 20_000, (i) => openssl.sign(hashes[0]!, coldKeys[i + 20]!))))

  // The payment hot path minus fsync and round trip.
  const payerPriv = randomKey()
  const payeePriv = randomKey()
  const payerPub = publicKeyOf(payerPriv)
  const payeePub = publicKeyOf(payeePriv)
  const capacity = 10_000_000
  const { settlementFeeSats } = channelFees(100)
  const funding = { txid: randomBytes(32).toString('hex'), vout: 0 }
  const source = { lockingScript: fundingOutputScript(payerPub, payeePub), satoshis: capacity }
  const settlement = (paidSats: number) => buildSettlementTx({ funding, capacity, paidSats, payee: payeePub, payer: payerPub, feeSats: settlementFeeSats }).tx
  for (const backend of backends.slice(0, 3)) {
    const n = opts.quick ? 300 : 2_000
    const sigs: Uint8Array[] = []
    results.push(...report(`hot path payer (${backend.name}): build settlement + sighash + sign`, timeEach(n, 100, 20_000, (i) => {
      sigs[i % 128] = signInput(settlement(1_000 + i), 0, source, payerPriv, backend)
    })))
    // Sign the amounts the payee will check (warm-up indices first, then the timed ones).
    const expected = Array.from({ length: 128 }, (_, k) => ({ paid: 5_000 + k, sig: signInput(settlement(5_000 + k), 0, source, payerPriv, backend) }))
    results.push(...report(`hot path payee (${backend.name}): rebuild expected settlement + verify`, timeEach(n, 100, 20_000, (i) => {
      const e = expected[i % expected.length]!
      if (!verifyInputSignature(settlement(e.paid), 0, source, e.sig, payerPub, backend)) throw new Error('payee refused a good signature')
    })))
    await new Promise((resolve) => setImmediate(resolve))
  }
  return results
}
