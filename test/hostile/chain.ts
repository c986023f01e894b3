// The hostile peer's own transactions and its own view of the devnet, built on @bsv/sdk
// directly (never on main/channels/transactions.ts): funding, refund and settlement as
// docs/protocol.md describes them, signed ALL|FORKID over BIP143 preimages.
import { BigNumber, Hash, LockingScript, OP, P2PKH, PrivateKey, PublicKey, Signature, Transaction, TransactionSignature, UnlockingScript, Utils } from '@bsv/sdk'

const SIGHASH_ALL_FORKID = 0x41
const FINAL_SEQUENCE = 0xffffffff
const REFUND_SEQUENCE = 0xfffffffe
const TX_VERSION = 1
const TESTNET_PREFIX = [0x6f]
const MAINNET_PREFIX = [0x00]
const HALF_ORDER = new BigNumber('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 16)

// ---- fees (the spec: "fees come from the fee rate and fixed size bounds") ----
// Size bounds, byte by byte: a low-S DER signature is at most 71 bytes, 72 with the
// sighash byte, 73 with its push; a P2PKH output is 8 (value) + 1 (script length) + 25.
const SIG_PUSH = 1 + 72
const FIXED = 4 + 4 // version, nLockTime
const MULTISIG_IN = 36 + 1 + 1 + 2 * SIG_PUSH + 4 // outpoint, script length, OP_0, two sigs, sequence
const P2PKH_OUT = 8 + 1 + 25
const P2PKH_IN = 36 + 1 + SIG_PUSH + 34 + 4
const MULTISIG_OUT = 8 + 1 + (1 + 34 + 34 + 1 + 1)

function feeFor(bytes: number, rateSatsPerKb: number): number {
  return Math.ceil((bytes * rateSatsPerKb) / 1000)
}

/** The settlement (one multisig input, two outputs) and refund (one output) fees at a rate. */
export function channelFees(rateSatsPerKb: number): { settlementFeeSats: number; refundFeeSats: number } {
  return {
    settlementFeeSats: feeFor(FIXED + 1 + MULTISIG_IN + 1 + 2 * P2PKH_OUT, rateSatsPerKb),
    refundFeeSats: feeFor(FIXED + 1 + MULTISIG_IN + 1 + P2PKH_OUT, rateSatsPerKb),
  }
}

// ---- keys and scripts ----

export class Key {
  readonly priv: PrivateKey
  constructor(priv?: PrivateKey) {
    this.priv = priv ?? PrivateKey.fromRandom()
  }
  get pub(): PublicKey {
    return this.priv.toPublicKey()
  }
  /** Compressed, 66 hex. */
  get pubHex(): string {
    return this.pub.toDER('hex') as string
  }
  /** Testnet-prefix P2PKH, as the devnet uses. */
  get address(): string {
    return this.priv.toAddress(TESTNET_PREFIX)
  }
  get mainnetAddress(): string {
    return this.priv.toAddress(MAINNET_PREFIX)
  }
  get lock(): LockingScript {
    return new P2PKH().lock(this.address)
  }
}

export function p2pkh(address: string): LockingScript {
  return new P2PKH().lock(address)
}

const hexBytes = (h: string): number[] => Utils.toArray(h, 'hex')
const toHex = (b: number[] | Uint8Array): string => Buffer.from(b).toString('hex')

/** `OP_2 <payer> <payee> OP_2 OP_CHECKMULTISIG`, payer first. */
export function multisigScript(payerPubHex: string, payeePubHex: string): LockingScript {
  return new LockingScript([
    { op: OP.OP_2 },
    { op: 33, data: hexBytes(payerPubHex) },
    { op: 33, data: hexBytes(payeePubHex) },
    { op: OP.OP_2 },
    { op: OP.OP_CHECKMULTISIG },
  ])
}

// ---- signatures ----

/** sha256 of the BIP143 preimage; PrivateKey.sign hashes once more, so the digest is hash256. */
function firstHash(tx: Transaction, index: number, subscript: LockingScript, sourceSats: number): number[] {
  const input = tx.inputs[index]!
  const preimage = TransactionSignature.formatBytes({
    sourceTXID: input.sourceTXID!,
    sourceOutputIndex: input.sourceOutputIndex,
    sourceSatoshis: sourceSats,
    transactionVersion: tx.version,
    otherInputs: tx.inputs.filter((_, i) => i !== index),
    outputs: tx.outputs,
    inputIndex: index,
    subscript,
    inputSequence: input.sequence ?? FINAL_SEQUENCE,
    lockTime: tx.lockTime,
    scope: SIGHASH_ALL_FORKID,
  })
  return Hash.sha256(Array.from(preimage))
}

/** Checksig format: DER then 0x41, hex. */
export function signInput(tx: Transaction, index: number, subscript: LockingScript, sourceSats: number, key: Key): string {
  const sig = key.priv.sign(firstHash(tx, index, subscript, sourceSats))
  return toHex([...(sig.toDER() as number[]), SIGHASH_ALL_FORKID])
}

export function verifyInput(tx: Transaction, index: number, subscript: LockingScript, sourceSats: number, sigHex: string, pubHex: string): boolean {
  if (!/^([0-9a-f]{2})+$/.test(sigHex) || !sigHex.endsWith('41')) return false
  try {
    const sig = Signature.fromDER(sigHex.slice(0, -2), 'hex')
    return PublicKey.fromString(pubHex).verify(firstHash(tx, index, subscript, sourceSats), sig)
  } catch {
    return false
  }
}

/** Strict DER (BIP 66 shape) with s ≤ n/2; `sigHex` carries the sighash byte. */
export function isLowSDer(sigHex: string): boolean {
  const der = hexBytes(sigHex.slice(0, -2))
  if (der.length < 8 || der.length > 72 || der[0] !== 0x30 || der[1] !== der.length - 2 || der[2] !== 0x02) return false
  const lenR = der[3]!
  if (der[4 + lenR] !== 0x02) return false
  const lenS = der[5 + lenR]!
  if (6 + lenR + lenS !== der.length) return false
  const s = new BigNumber(der.slice(6 + lenR), 16)
  return s.cmp(HALF_ORDER) <= 0 && !s.isZero()
}

/** The high-S twin of a low-S signature: valid ECDSA, but not what a node relays in a version-1 transaction. */
export function highSTwin(sigHex: string): string {
  const der = hexBytes(sigHex.slice(0, -2))
  const lenR = der[3]!
  const r = der.slice(4, 4 + lenR)
  const s = new BigNumber(der.slice(6 + lenR), 16)
  const n = new BigNumber('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 16)
  const sBytes = n.sub(s).toArray('be')
  if (sBytes[0]! & 0x80) sBytes.unshift(0)
  return toHex([0x30, 4 + r.length + sBytes.length, 0x02, r.length, ...r, 0x02, sBytes.length, ...sBytes, SIGHASH_ALL_FORKID])
}

/** A copy with these unlocking scripts (@bsv/sdk caches a transaction's bytes once asked for them). */
function withUnlocking(tx: Transaction, scripts: UnlockingScript[]): Transaction {
  return new Transaction(
    tx.version,
    tx.inputs.map((i, n) => ({ sourceTXID: i.sourceTXID, sourceOutputIndex: i.sourceOutputIndex, sequence: i.sequence, unlockingScript: scripts[n] ?? i.unlockingScript })),
    tx.outputs.map((o) => ({ lockingScript: o.lockingScript, satoshis: o.satoshis })),
    tx.lockTime,
  )
}

// ---- the transactions ----

export interface Coin {
  txid: string
  vout: number
  satoshis: number
  key: Key
}

export interface Outpoint {
  txid: string
  vout: number
}

/** Coins → output 0 the 2-of-2 of `capacity`, output 1 the change (when any). */
export function buildFunding(p: { coins: Coin[]; capacity: number; payerPubHex: string; payeePubHex: string; change: string; feeRate?: number }): { tx: Transaction; hex: string; txid: string; script: LockingScript } {
  const script = multisigScript(p.payerPubHex, p.payeePubHex)
  const inTotal = p.coins.reduce((n, c) => n + c.satoshis, 0)
  const fee = feeFor(FIXED + 1 + p.coins.length * P2PKH_IN + 1 + MULTISIG_OUT + P2PKH_OUT, p.feeRate ?? 100)
  const change = inTotal - p.capacity - fee
  if (change < 0) throw new Error(`coins of ${inTotal} sat cannot fund ${p.capacity} sat`)
  const unsigned = new Transaction(TX_VERSION, [], [], 0)
  for (const c of p.coins) unsigned.addInput({ sourceTXID: c.txid, sourceOutputIndex: c.vout, sequence: FINAL_SEQUENCE })
  unsigned.addOutput({ lockingScript: script, satoshis: p.capacity })
  if (change > 0) unsigned.addOutput({ lockingScript: p2pkh(p.change), satoshis: change })
  const scripts = p.coins.map((c, i) => {
    const sig = signInput(unsigned, i, c.key.lock, c.satoshis, c.key)
    return new UnlockingScript([
      { op: sig.length / 2, data: hexBytes(sig) },
      { op: 33, data: hexBytes(c.key.pubHex) },
    ])
  })
  const tx = withUnlocking(unsigned, scripts)
  return { tx, hex: tx.toHex(), txid: tx.id('hex'), script }
}

export interface RefundTerms {
  funding: Outpoint
  capacity: number
  refundFee: number
  payerAddress: string
  expiry: number
}

export function refundTx(t: RefundTerms): Transaction {
  const tx = new Transaction(TX_VERSION, [], [], t.expiry)
  tx.addInput({ sourceTXID: t.funding.txid, sourceOutputIndex: t.funding.vout, sequence: REFUND_SEQUENCE })
  tx.addOutput({ lockingScript: p2pkh(t.payerAddress), satoshis: t.capacity - t.refundFee })
  return tx
}

export interface SettlementTerms {
  funding: Outpoint
  capacity: number
  settlementFee: number
  payeeAddress: string
  payerAddress: string
}

export function settlementTx(t: SettlementTerms, paidSats: number): Transaction {
  const tx = new Transaction(TX_VERSION, [], [], 0)
  tx.addInput({ sourceTXID: t.funding.txid, sourceOutputIndex: t.funding.vout, sequence: FINAL_SEQUENCE })
  tx.addOutput({ lockingScript: p2pkh(t.payeeAddress), satoshis: paidSats })
  const change = t.capacity - paidSats - t.settlementFee
  if (change >= 1) tx.addOutput({ lockingScript: p2pkh(t.payerAddress), satoshis: change })
  return tx
}

/** The spend of the 2-of-2 with both signatures: `OP_0 <payer sig> <payee sig>`. */
export function completeMultisig(tx: Transaction, payerSigHex: string, payeeSigHex: string): Transaction {
  return withUnlocking(tx, [
    new UnlockingScript([
      { op: OP.OP_0 },
      { op: payerSigHex.length / 2, data: hexBytes(payerSigHex) },
      { op: payeeSigHex.length / 2, data: hexBytes(payeeSigHex) },
    ]),
  ])
}

// ---- the devnet, over HTTP ----

export interface Unspent {
  tx_hash: string
  tx_pos: number
  value: number
  height: number
}

async function bodyOf(res: Response): Promise<unknown> {
  const text = await res.text()
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

export class DevnetClient {
  constructor(readonly url: string) {}

  private async post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.status, body: await bodyOf(res) }
  }

  private async get(path: string): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}${path}`)
    return { status: res.status, body: await bodyOf(res) }
  }

  private woc(path: string): Promise<{ status: number; body: any }> {
    return this.get(`/v1/bsv/devnet${path}`)
  }

  async faucet(address: string, satoshis: number): Promise<string> {
    const r = await this.post('/devnet/faucet', { address, satoshis })
    if (r.status !== 200) throw new Error(`faucet: ${r.status} ${JSON.stringify(r.body)}`)
    return (r.body as { txid: string }).txid
  }

  /** A coin of `satoshis` for `key`: the faucet pays output 0. */
  async coin(key: Key, satoshis: number): Promise<Coin> {
    return { txid: await this.faucet(key.address, satoshis), vout: 0, satoshis, key }
  }

  async mine(blocks = 1): Promise<number> {
    const r = await this.post('/devnet/mine', { blocks })
    if (r.status !== 200) throw new Error(`mine: ${r.status}`)
    return (r.body as { height: number }).height
  }

  async status(): Promise<{ height: number; mempool: number; accepted: number; rejected: number }> {
    return (await this.get('/devnet/status')).body
  }

  async height(): Promise<number> {
    return (await this.status()).height
  }

  async replace(rawTx: string): Promise<{ status: number; body: any }> {
    return this.post('/devnet/replace', { rawTx })
  }

  async drop(txid: string): Promise<{ status: number; body: any }> {
    return this.post('/devnet/drop', { txid })
  }

  /** ARC's POST /v1/tx: status 200 with the txid, or the refusal's status and title. */
  async broadcast(rawTx: string): Promise<{ ok: boolean; status: number; txid: string | null; title: string }> {
    const r = await this.post('/v1/tx', { rawTx })
    return { ok: r.status === 200, status: r.status, txid: r.status === 200 ? (r.body as { txid: string }).txid : null, title: String((r.body as { title?: unknown }).title ?? '') }
  }

  async txHex(txid: string): Promise<string | null> {
    const r = await this.woc(`/tx/${txid}/hex`)
    return r.status === 200 ? String(r.body) : null
  }

  async tx(txid: string): Promise<Transaction | null> {
    const hex = await this.txHex(txid)
    return hex === null ? null : Transaction.fromHex(hex)
  }

  async confirmations(txid: string): Promise<number | null> {
    const r = await this.woc(`/tx/hash/${txid}`)
    return r.status === 200 ? (r.body as { confirmations: number }).confirmations : null
  }

  async spentBy(txid: string, vout: number): Promise<{ txid: string; vin: number } | null> {
    const r = await this.woc(`/tx/${txid}/${vout}/spent`)
    if (r.status === 404) return null
    if (r.status !== 200) throw new Error(`spent lookup: ${r.status}`)
    return r.body as { txid: string; vin: number }
  }

  async unspent(address: string): Promise<Unspent[]> {
    const r = await this.woc(`/address/${address}/unspent/all`)
    return (r.body as { result: Unspent[] }).result
  }

  /** What output `vout` of `txid` holds, as the devnet has it. */
  async output(txid: string, vout: number): Promise<{ satoshis: number; scriptHex: string } | null> {
    const tx = await this.tx(txid)
    const o = tx?.outputs[vout]
    return o ? { satoshis: o.satoshis!, scriptHex: o.lockingScript.toHex() } : null
  }

  /** Inputs' total minus outputs' total: the fee a transaction paid. */
  async feeOf(tx: Transaction): Promise<number> {
    let inputs = 0
    for (const i of tx.inputs) {
      const src = await this.output(i.sourceTXID!, i.sourceOutputIndex)
      if (!src) throw new Error(`unknown input ${i.sourceTXID}:${i.sourceOutputIndex}`)
      inputs += src.satoshis
    }
    return inputs - tx.outputs.reduce((n, o) => n + o.satoshis!, 0)
  }
}
