// The templates against the devnet's validator (real script interpretation, finality and
// double-spend rules): funding, refund before and after expiry, settlement.
import { PrivateKey } from '@bsv/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DevnetServer } from '../chain/devnet/devnet-server.js'
import { CURVE_ORDER, encodeDer, parseDer } from './der.js'
import { selectBackend, publicKeyOf } from './signer.js'
import {
  type FundingTx, buildFundingTx, buildRefundTx, buildSettlementTx, channelFees, multisigUnlockingScript, p2pkhScript, signInput,
  withUnlockingScripts,
} from './transactions.js'

const backend = selectBackend()
const FEE_RATE = 100

function party(): { priv: Uint8Array; pub: Uint8Array; address: string } {
  const key = PrivateKey.fromRandom()
  const priv = Uint8Array.from(key.toArray('be', 32))
  return { priv, pub: publicKeyOf(priv), address: key.toAddress([0x6f]) }
}

function rejectionCode(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).message
  }
  return 'accepted'
}

describe('channel transactions on the devnet', () => {
  const devnet = new DevnetServer({ host: '127.0.0.1', minFeeRateSatsPerKb: FEE_RATE })
  const payer = party()
  const payee = party()
  const fees = channelFees(FEE_RATE)

  beforeAll(async () => {
    await devnet.start()
  })
  afterAll(async () => {
    await devnet.stop()
  })

  async function openChannel(capacity: number): Promise<FundingTx> {
    const { txid } = await devnet.faucet(payer.address, capacity + 10_000)
    const f = buildFundingTx({
      utxos: [{ txid, vout: 0, satoshis: capacity + 10_000, lockingScript: p2pkhScript(payer.pub), privateKey: payer.priv }],
      capacity, payerPub: payer.pub, payeePub: payee.pub, change: payer.address, feeRateSatsPerKb: FEE_RATE, backend,
    })
    expect(devnet.submit(f.tx.toHex()).txid).toBe(f.txid)
    return f
  }

  function coSigned(tx: Parameters<typeof signInput>[0], f: FundingTx, capacity: number, mutatePayerSig = (s: Uint8Array) => s): string {
    const source = { lockingScript: f.fundingScript, satoshis: capacity }
    const sigPayer = mutatePayerSig(signInput(tx, 0, source, payer.priv, backend))
    const sigPayee = signInput(tx, 0, source, payee.priv, backend)
    return withUnlockingScripts(tx, new Map([[0, multisigUnlockingScript(sigPayer, sigPayee)]])).toHex()
  }

  it('funding is accepted; the refund is non-final before expiry; the settlement closes; a later refund is a double spend', async () => {
    const capacity = 100_000
    const f = await openChannel(capacity)
    const funding = { txid: f.txid, vout: f.vout }
    const expiry = devnet.height + 3
    const refundHex = coSigned(buildRefundTx({ funding, capacity, payer: payer.pub, expiryLockTime: expiry, feeSats: fees.refundFeeSats }), f, capacity)
    expect(rejectionCode(() => devnet.submit(refundHex))).toBe('non-final')

    const { tx } = buildSettlementTx({ funding, capacity, paidSats: 30_000, payee: payee.address, payer: payer.address, feeSats: fees.settlementFeeSats })
    const highS = (checksig: Uint8Array): Uint8Array => {
      const { r, s } = parseDer(checksig.subarray(0, -1))!
      return Uint8Array.from([...encodeDer(r, CURVE_ORDER - s), checksig[checksig.length - 1]!])
    }
    expect(rejectionCode(() => devnet.submit(coSigned(tx, f, capacity, highS)))).toBe('script-failed')
    expect(rejectionCode(() => devnet.submit(coSigned(tx, f, capacity)))).toBe('accepted')

    devnet.mine(5)
    expect(rejectionCode(() => devnet.submit(refundHex))).toBe('double-spend')
  })

  it('the refund is accepted once the expiry height is reached', async () => {
    const capacity = 50_000
    const f = await openChannel(capacity)
    const expiry = devnet.height + 2
    const refundHex = coSigned(buildRefundTx({ funding: { txid: f.txid, vout: f.vout }, capacity, payer: payer.pub, expiryLockTime: expiry, feeSats: fees.refundFeeSats }), f, capacity)
    expect(rejectionCode(() => devnet.submit(refundHex))).toBe('non-final')
    devnet.mine(2)
    expect(rejectionCode(() => devnet.submit(refundHex))).toBe('accepted')
  })
})
