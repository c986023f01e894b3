import { randomBytes } from 'node:crypto'
import { Hash, type LockingScript, P2PKH, PrivateKey, PublicKey, Spend, Transaction, TransactionSignature, type UnlockingScript } from '@bsv/sdk'
import { describe, expect, it } from 'vitest'
import { FINAL_SEQUENCE, REFUND_SEQUENCE, SIGHASH_ALL_FORKID } from './constants.js'
import { CURVE_ORDER, encodeDer, parseDer } from './der.js'
import { ChannelTxError } from './errors.js'
import { createLibsecp256k1Backend, createNobleBackend, createOpenSslBackend, publicKeyOf, sha256 } from './signer.js'
import {
  REFUND_TX_SIZE, SETTLEMENT_TX_SIZE, SettlementSighasher, buildFundingTx, buildRefundTx, buildSettlementTx, channelFees, feeForSize, fundingOutputScript,
  multisigUnlockingScript, p2pkhScript, sighash, sighashPreimage, signInput, verifyInputSignature, withUnlockingScripts,
} from './transactions.js'

const openssl = createOpenSslBackend()
const noble = createNobleBackend()
const libsecp = createLibsecp256k1Backend()

function key(): { priv: Uint8Array; pub: Uint8Array } {
  const priv = Uint8Array.from(PrivateKey.fromRandom().toArray('be', 32))
  return { priv, pub: publicKeyOf(priv) }
}
const txid = (): string => randomBytes(32).toString('hex')

/** Runs @bsv/sdk's interpreter on one input; false (not a throw) when the script fails. */
function spendValid(tx: Transaction, inputIndex: number, lockingScript: LockingScript, satoshis: number, unlockingScript?: UnlockingScript): boolean {
  const input = tx.inputs[inputIndex]!
  try {
    return new Spend({
      sourceTXID: input.sourceTXID!,
      sourceOutputIndex: input.sourceOutputIndex,
      sourceSatoshis: satoshis,
      lockingScript,
      transactionVersion: tx.version,
      otherInputs: tx.inputs.filter((_, j) => j !== inputIndex),
      outputs: tx.outputs,
      inputIndex,
      unlockingScript: unlockingScript ?? input.unlockingScript!,
      inputSequence: input.sequence ?? FINAL_SEQUENCE,
      lockTime: tx.lockTime,
    }).validate()
  } catch {
    return false
  }
}

function highS(checksig: Uint8Array): Uint8Array {
  const { r, s } = parseDer(checksig.subarray(0, -1))!
  return Uint8Array.from([...encodeDer(r, CURVE_ORDER - s), checksig[checksig.length - 1]!])
}

const payer = key()
const payee = key()
const funding = { txid: txid(), vout: 0 }
const capacity = 100_000
const fundingScript = fundingOutputScript(payer.pub, payee.pub)
const source = { lockingScript: fundingScript, satoshis: capacity }
const { settlementFeeSats, refundFeeSats } = channelFees(100)

describe('funding output', () => {
  it('is OP_2 <payer> <payee> OP_2 OP_CHECKMULTISIG, keys in role order', () => {
    expect(fundingScript.toASM()).toBe(`OP_2 ${Buffer.from(payer.pub).toString('hex')} ${Buffer.from(payee.pub).toString('hex')} OP_2 OP_CHECKMULTISIG`)
    expect(fundingScript.toBinary().length).toBe(71)
  })

  it('refuses equal, uncompressed or malformed keys', () => {
    expect(() => fundingOutputScript(payer.pub, payer.pub)).toThrow(ChannelTxError)
    expect(() => fundingOutputScript(publicKeyOf(payer.priv, false), payee.pub)).toThrow(ChannelTxError)
    expect(() => fundingOutputScript(payer.pub.subarray(1), payee.pub)).toThrow(ChannelTxError)
  })
})

describe('funding tx', () => {
  const utxos = [20_000, 90_000].map((satoshis) => ({ txid: txid(), vout: 1, satoshis, lockingScript: p2pkhScript(payer.pub), privateKey: payer.priv }))

  for (const backend of [libsecp, openssl, noble]) {
    it(`${backend.name}: spends P2PKH inputs into the multisig output and change, every input valid under the interpreter`, () => {
      const f = buildFundingTx({ utxos, capacity, payerPub: payer.pub, payeePub: payee.pub, change: payer.pub, feeRateSatsPerKb: 100, backend })
      expect(f.tx.outputs[0]!.lockingScript.toHex()).toBe(fundingScript.toHex())
      expect(f.tx.outputs[0]!.satoshis).toBe(capacity)
      expect(f.tx.outputs[1]!.satoshis).toBe(f.changeSats)
      expect(capacity + f.changeSats + f.feeSats).toBe(110_000)
      // The fee covers the real size (the estimate is an upper bound).
      expect(f.feeSats).toBeGreaterThanOrEqual(feeForSize(f.tx.toBinary().length, 100))
      expect(f.tx.version).toBe(1)
      utxos.forEach((u, i) => expect(spendValid(f.tx, i, u.lockingScript, u.satoshis)).toBe(true))
      // A wrong source amount breaks the BIP143 sighash.
      expect(spendValid(f.tx, 0, utxos[0]!.lockingScript, utxos[0]!.satoshis + 1)).toBe(false)
      expect(Transaction.fromHex(f.tx.toHex()).id('hex')).toBe(f.txid)
    })
  }

  it('drops change below dust into the fee and refuses what the inputs cannot pay', () => {
    // 60 sat left over: with change (42 sat fee) the change would be 18 sat, below this dust limit.
    const exact = buildFundingTx({ utxos, capacity: 110_000 - 60, payerPub: payer.pub, payeePub: payee.pub, change: payer.pub, feeRateSatsPerKb: 100, backend: openssl, dustLimit: 546 })
    expect(exact.tx.outputs).toHaveLength(1)
    expect(exact.feeSats).toBe(60)
    expect(() => buildFundingTx({ utxos, capacity: 110_000 - 10, payerPub: payer.pub, payeePub: payee.pub, change: payer.pub, feeRateSatsPerKb: 100, backend: openssl })).toThrow(/cannot pay/)
    expect(() => buildFundingTx({ utxos, capacity: 0.5, payerPub: payer.pub, payeePub: payee.pub, change: payer.pub, feeRateSatsPerKb: 100, backend: openssl })).toThrow(ChannelTxError)
  })

  it('refuses a utxo not locked to its key', () => {
    const other = key()
    const bad = [{ ...utxos[0]!, lockingScript: p2pkhScript(other.pub) }]
    expect(() => buildFundingTx({ utxos: bad, capacity: 1_000, payerPub: payer.pub, payeePub: payee.pub, change: payer.pub, feeRateSatsPerKb: 100, backend: openssl })).toThrow(/not locked/)
  })
})

function coSign(tx: Transaction, payerBackend = openssl, payeeBackend = openssl): { sigPayer: Uint8Array; sigPayee: Uint8Array } {
  return { sigPayer: signInput(tx, 0, source, payer.priv, payerBackend), sigPayee: signInput(tx, 0, source, payee.priv, payeeBackend) }
}

describe('settlement tx', () => {
  it('with both signatures spends the funding output; not with one, a wrong, a swapped, a high-S or a stale signature', () => {
    const { tx } = buildSettlementTx({ funding, capacity, paidSats: 12_345, payee: payee.pub, payer: payer.pub, feeSats: settlementFeeSats })
    expect(tx.lockTime).toBe(0)
    expect(tx.inputs[0]!.sequence).toBe(FINAL_SEQUENCE)
    const { sigPayer, sigPayee } = coSign(tx, openssl, noble)
    expect(verifyInputSignature(tx, 0, source, sigPayer, payer.pub, openssl)).toBe(true)
    expect(verifyInputSignature(tx, 0, source, sigPayee, payee.pub, noble)).toBe(true)
    expect(spendValid(tx, 0, fundingScript, capacity, multisigUnlockingScript(sigPayer, sigPayee))).toBe(true)

    expect(spendValid(tx, 0, fundingScript, capacity, multisigUnlockingScript(sigPayee, sigPayer))).toBe(false)
    expect(spendValid(tx, 0, fundingScript, capacity, multisigUnlockingScript(sigPayer, sigPayer))).toBe(false)
    const stranger = key()
    const sigStranger = signInput(tx, 0, source, stranger.priv, openssl)
    expect(spendValid(tx, 0, fundingScript, capacity, multisigUnlockingScript(sigPayer, sigStranger))).toBe(false)
    expect(verifyInputSignature(tx, 0, source, sigStranger, payee.pub, openssl)).toBe(false)
    // One signature only: CHECKMULTISIG pops a key count's worth and fails.
    const single = withUnlockingScripts(tx, new Map([[0, multisigUnlockingScript(sigPayer, new Uint8Array(0))]]))
    expect(spendValid(single, 0, fundingScript, capacity)).toBe(false)
    // High S: valid ECDSA, refused by version-1 rules and by our verifier.
    expect(spendValid(tx, 0, fundingScript, capacity, multisigUnlockingScript(highS(sigPayer), sigPayee))).toBe(false)
    expect(verifyInputSignature(tx, 0, source, highS(sigPayer), payer.pub, openssl)).toBe(false)
    // A signature for an earlier amount does not fit a later settlement.
    const later = buildSettlementTx({ funding, capacity, paidSats: 12_346, payee: payee.pub, payer: payer.pub, feeSats: settlementFeeSats }).tx
    expect(verifyInputSignature(later, 0, source, sigPayer, payer.pub, openssl)).toBe(false)
    expect(spendValid(later, 0, fundingScript, capacity, multisigUnlockingScript(sigPayer, signInput(later, 0, source, payee.priv, openssl)))).toBe(false)
  })

  it('pitfall: @bsv/sdk relaxes malleability rules for version > 1, hence version 1 channel txs', () => {
    const { tx } = buildSettlementTx({ funding, capacity, paidSats: 7_000, payee: payee.pub, payer: payer.pub, feeSats: settlementFeeSats })
    const { sigPayer, sigPayee } = coSign(tx)
    const nonZeroDummy = (a: Uint8Array, b: Uint8Array): UnlockingScript => {
      const script = multisigUnlockingScript(a, b)
      script.chunks[0] = { op: 0x51 }
      return script
    }
    expect(spendValid(tx, 0, fundingScript, capacity, nonZeroDummy(sigPayer, sigPayee))).toBe(false)
    const v2 = new Transaction(2, tx.inputs, tx.outputs, 0)
    const v2Sigs = { payer: signInput(v2, 0, source, payer.priv, openssl), payee: signInput(v2, 0, source, payee.priv, openssl) }
    expect(spendValid(v2, 0, fundingScript, capacity, multisigUnlockingScript(highS(v2Sigs.payer), v2Sigs.payee))).toBe(true)
    expect(spendValid(v2, 0, fundingScript, capacity, nonZeroDummy(v2Sigs.payer, v2Sigs.payee))).toBe(true)
  })

  it('verifyInputSignature refuses any scope but ALL|FORKID, even with a valid signature', () => {
    const { tx } = buildSettlementTx({ funding, capacity, paidSats: 5_000, payee: payee.pub, payer: payer.pub, feeSats: settlementFeeSats })
    const none = signInput(tx, 0, source, payer.priv, openssl, 0x42)
    expect(verifyInputSignature(tx, 0, source, none, payer.pub, openssl, 0x42)).toBe(true)
    expect(verifyInputSignature(tx, 0, source, none, payer.pub, openssl)).toBe(false)
    const relabelled = Uint8Array.from(none)
    relabelled[relabelled.length - 1] = SIGHASH_ALL_FORKID
    expect(verifyInputSignature(tx, 0, source, relabelled, payer.pub, openssl)).toBe(false)
  })

  it('pays exact integer amounts for many paid values; payer change pays the fee, dust change goes to the fee', () => {
    const dustLimit = 546
    const values = [dustLimit, dustLimit + 1, capacity - settlementFeeSats, capacity - settlementFeeSats - dustLimit, capacity - settlementFeeSats - dustLimit + 1, capacity - settlementFeeSats - 1]
    for (let i = 0; i < 300; i++) values.push(dustLimit + Math.floor(Math.random() * (capacity - settlementFeeSats - dustLimit + 1)))
    for (const paidSats of values) {
      const s = buildSettlementTx({ funding, capacity, paidSats, payee: payee.pub, payer: payer.pub, feeSats: settlementFeeSats, dustLimit })
      const outs = s.tx.outputs.map((o) => o.satoshis!)
      expect(outs.every(Number.isSafeInteger)).toBe(true)
      expect(outs[0]).toBe(paidSats)
      expect(s.tx.outputs[0]!.lockingScript.toHex()).toBe(p2pkhScript(payee.pub).toHex())
      const change = capacity - paidSats - settlementFeeSats
      if (change >= dustLimit) {
        expect(outs).toEqual([paidSats, change])
        expect(s.feeSats).toBe(settlementFeeSats)
      } else {
        expect(outs).toEqual([paidSats])
        expect(s.feeSats).toBe(settlementFeeSats + change)
      }
      expect(s.payeeSats + s.payerSats + s.feeSats).toBe(capacity)
    }
    expect(() => buildSettlementTx({ funding, capacity, paidSats: capacity - settlementFeeSats + 1, payee: payee.pub, payer: payer.pub, feeSats: settlementFeeSats })).toThrow(/exceed/)
    expect(() => buildSettlementTx({ funding, capacity, paidSats: 545, payee: payee.pub, payer: payer.pub, feeSats: settlementFeeSats, dustLimit })).toThrow(ChannelTxError)
    expect(() => buildSettlementTx({ funding, capacity, paidSats: 1.5, payee: payee.pub, payer: payer.pub, feeSats: settlementFeeSats })).toThrow(ChannelTxError)
  })

  it('fully signed, its size stays within the estimate the fee was agreed on, and it survives a hex round trip', () => {
    for (let i = 0; i < 20; i++) {
      const { tx } = buildSettlementTx({ funding, capacity, paidSats: 1_000 + i, payee: PrivateKey.fromRandom().toAddress(), payer: payer.pub, feeSats: settlementFeeSats })
      const { sigPayer, sigPayee } = coSign(tx)
      const signed = withUnlockingScripts(tx, new Map([[0, multisigUnlockingScript(sigPayer, sigPayee)]]))
      expect(signed.toBinary().length).toBeLessThanOrEqual(SETTLEMENT_TX_SIZE)
      const again = Transaction.fromHex(signed.toHex())
      expect(again.id('hex')).toBe(signed.id('hex'))
      expect(again.toHex()).toBe(signed.toHex())
      expect(spendValid(again, 0, fundingScript, capacity)).toBe(true)
      // @bsv/sdk caches a tx's bytes and id: a direct write to unlockingScript goes unseen,
      // withUnlockingScripts builds a fresh copy that sees it.
      const placeholder = multisigUnlockingScript(sigPayee, sigPayer)
      const direct = Transaction.fromHex(signed.toHex())
      const before = direct.id('hex')
      direct.inputs[0]!.unlockingScript = placeholder
      expect(direct.id('hex')).toBe(before)
      expect(withUnlockingScripts(direct, new Map([[0, placeholder]])).id('hex')).not.toBe(before)
    }
  })
})

describe('refund tx', () => {
  const expiry = 850_000
  it('is locked until expiry with a non-final sequence, and spends the funding output with both signatures only', () => {
    const tx = buildRefundTx({ funding, capacity, payer: payer.pub, expiryLockTime: expiry, feeSats: refundFeeSats })
    expect(tx.lockTime).toBe(expiry)
    expect(tx.inputs[0]!.sequence).toBe(REFUND_SEQUENCE)
    expect(tx.outputs.map((o) => o.satoshis)).toEqual([capacity - refundFeeSats])
    const { sigPayer, sigPayee } = coSign(tx)
    const signed = withUnlockingScripts(tx, new Map([[0, multisigUnlockingScript(sigPayer, sigPayee)]]))
    expect(signed.toBinary().length).toBeLessThanOrEqual(REFUND_TX_SIZE)
    expect(spendValid(signed, 0, fundingScript, capacity)).toBe(true)
    expect(spendValid(tx, 0, fundingScript, capacity, multisigUnlockingScript(sigPayee, sigPayer))).toBe(false)
    expect(spendValid(tx, 0, fundingScript, capacity, multisigUnlockingScript(sigPayer, signInput(tx, 0, source, key().priv, openssl)))).toBe(false)
    // The payee's refund signature commits to the lock time: an earlier refund needs a new one.
    const earlier = buildRefundTx({ funding, capacity, payer: payer.pub, expiryLockTime: expiry - 1, feeSats: refundFeeSats })
    expect(verifyInputSignature(earlier, 0, source, sigPayee, payee.pub, openssl)).toBe(false)
    expect(Transaction.fromHex(signed.toHex()).id('hex')).toBe(signed.id('hex'))
  })

  it('refuses bad lock times and a capacity the fee eats', () => {
    expect(() => buildRefundTx({ funding, capacity, payer: payer.pub, expiryLockTime: 0, feeSats: 1 })).toThrow(/expiryLockTime/)
    expect(() => buildRefundTx({ funding, capacity: 100, payer: payer.pub, expiryLockTime: expiry, feeSats: 100 })).toThrow(/below dust/)
    expect(() => buildRefundTx({ funding: { txid: 'xyz', vout: 0 }, capacity, payer: payer.pub, expiryLockTime: expiry, feeSats: 1 })).toThrow(ChannelTxError)
  })

  it('pitfall: the interpreter ignores nLockTime finality (the chain checks it, not Spend)', () => {
    const tx = buildRefundTx({ funding, capacity, payer: payer.pub, expiryLockTime: 0xffffffff, feeSats: refundFeeSats })
    const { sigPayer, sigPayee } = coSign(tx)
    expect(spendValid(tx, 0, fundingScript, capacity, multisigUnlockingScript(sigPayer, sigPayee))).toBe(true)
  })
})

describe('sighash', () => {
  it('equals hash256 of @bsv/sdk’s preimage and signs what @bsv/sdk’s P2PKH template signs', async () => {
    const k = PrivateKey.fromRandom()
    const lock = new P2PKH().lock(k.toAddress())
    const tx = new Transaction(1, [], [], 0)
    tx.addInput({ sourceTXID: txid(), sourceOutputIndex: 3, sequence: FINAL_SEQUENCE, unlockingScriptTemplate: new P2PKH().unlock(k, 'all', false, 5_000, lock) })
    tx.addOutput({ lockingScript: lock, satoshis: 4_900 })
    const src = { lockingScript: lock, satoshis: 5_000 }
    const pre = sighashPreimage(tx, 0, src)
    expect(Buffer.from(sighash(tx, 0, src)).toString('hex')).toBe(Buffer.from(Hash.hash256(Array.from(pre))).toString('hex'))
    const sdkPre = TransactionSignature.format({ sourceTXID: tx.inputs[0]!.sourceTXID!, sourceOutputIndex: 3, sourceSatoshis: 5_000, transactionVersion: 1, otherInputs: [], outputs: tx.outputs, inputIndex: 0, subscript: lock, inputSequence: FINAL_SEQUENCE, lockTime: 0, scope: SIGHASH_ALL_FORKID })
    expect(Buffer.from(pre).toString('hex')).toBe(Buffer.from(sdkPre).toString('hex'))
    await tx.sign()
    const sdkSig = Uint8Array.from(tx.inputs[0]!.unlockingScript!.chunks[0]!.data!)
    const pub = Uint8Array.from(k.toPublicKey().encode(true) as number[])
    expect(verifyInputSignature(tx, 0, src, sdkSig, pub, openssl)).toBe(true)
    expect(verifyInputSignature(tx, 0, src, sdkSig, pub, noble)).toBe(true)
  })
})

describe('SettlementSighasher (the payment hot path)', () => {
  it('hashes exactly what the @bsv/sdk preimage of the built settlement hashes, and its signatures pass the script interpreter', () => {
    const dustLimit = 1
    for (let i = 0; i < 80; i++) {
      const payer = key()
      const payee = key()
      const capacity = 2_000 + Math.floor(Math.random() * 50_000_000)
      const feeSats = Math.floor(Math.random() * 500)
      const funding = { txid: txid(), vout: Math.floor(Math.random() * 4) }
      const source = { lockingScript: fundingOutputScript(payer.pub, payee.pub), satoshis: capacity }
      // Payouts to keys and to addresses, as the engine does.
      const payeeTarget = i % 2 === 0 ? payee.pub : PublicKey.fromString(Buffer.from(payee.pub).toString('hex')).toAddress()
      const params = { funding, capacity, feeSats, payee: payeeTarget, payer: payer.pub, dustLimit }
      const hasher = new SettlementSighasher(params, source)
      // Ordinary amounts (never below the dust limit in force: the payee's output must be spendable),
      // the largest (no change output) and one leaving change below dust.
      const dust = i % 3 === 0 ? 546 : dustLimit
      for (const paidSats of [dust + Math.floor(Math.random() * (capacity - feeSats - dust)), capacity - feeSats, Math.max(dust, capacity - feeSats - 1)]) {
        const { tx } = buildSettlementTx({ ...params, paidSats, dustLimit: dust })
        const h = new SettlementSighasher({ ...params, dustLimit: dust }, source)
        expect(Buffer.from(h.firstHash(paidSats)).toString('hex')).toBe(Buffer.from(sha256(sighashPreimage(tx, 0, source))).toString('hex'))
        const sig = h.sign(paidSats, payer.priv, openssl)
        expect(verifyInputSignature(tx, 0, source, sig, payer.pub, noble)).toBe(true)
        const payeeSig = signInput(tx, 0, source, payee.priv, openssl)
        expect(spendValid(tx, 0, source.lockingScript, capacity, multisigUnlockingScript(sig, payeeSig))).toBe(true)
      }
      // A signature over the built tx verifies through the hasher; over another amount it does not.
      const paid = Math.min(capacity - feeSats, 1_000)
      const sdkSig = signInput(buildSettlementTx({ ...params, paidSats: paid }).tx, 0, source, payer.priv, noble)
      expect(hasher.verify(paid, sdkSig, payer.pub, openssl)).toBe(true)
      if (paid > 1) expect(hasher.verify(paid - 1, sdkSig, payer.pub, openssl)).toBe(false)
    }
  })

  it('refuses what buildSettlementTx refuses', () => {
    const payer = key()
    const payee = key()
    const source = { lockingScript: fundingOutputScript(payer.pub, payee.pub), satoshis: 10_000 }
    const hasher = new SettlementSighasher({ funding: { txid: txid(), vout: 0 }, capacity: 10_000, feeSats: 100, payee: payee.pub, payer: payer.pub }, source)
    expect(() => hasher.firstHash(9_901)).toThrow(ChannelTxError)
    expect(() => hasher.firstHash(0)).toThrow(ChannelTxError)
    expect(() => hasher.firstHash(1.5)).toThrow(ChannelTxError)
    expect(hasher.verify(500, Uint8Array.from([1]), payer.pub, openssl)).toBe(false)
    expect(() => new SettlementSighasher({ funding: { txid: 'zz', vout: 0 }, capacity: 10_000, feeSats: 100, payee: payee.pub, payer: payer.pub }, source)).toThrow(ChannelTxError)
  })
})
