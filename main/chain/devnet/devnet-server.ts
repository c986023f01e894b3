import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { P2PKH, Transaction, Utils } from '@bsv/sdk'
import { z } from 'zod'
import { Disposables, type Startable } from '../../kit/index.js'
import { type Logger, silentLogger } from '../../telemetry/index.js'
import { FAUCET_KEY, Ledger } from './ledger.js'
import { DevnetRejection, minimumFee, parseTransaction, validateTransaction } from './validate.js'

export interface DevnetServerInit {
  host?: string
  /** 0 picks a free port (default). */
  port?: number
  /** SQLite in this directory; in memory without it. */
  dataDir?: string
  /** Mine a block on this interval; 0 or absent: only on request. */
  blockIntervalMs?: number
  /** The fee floor every transaction must pay (default 50 sat/kB). */
  minFeeRateSatsPerKb?: number
  maxBodyBytes?: number
  logger?: Logger
}

/** ARC's status codes for each refusal (bitcoin-sv/arc api), so ARC clients see what they would see. */
const ARC_STATUS: Readonly<Record<DevnetRejection['code'], number>> = {
  'missing-inputs': 460,
  'script-failed': 461,
  'outputs-exceed-inputs': 462,
  malformed: 463,
  'fee-too-low': 465,
  'double-spend': 466,
  'non-final': 409,
  rejected: 409,
}

const FaucetSchema = z.object({ address: z.string().min(26).max(40), satoshis: z.number().int().positive().max(100_000_000_000) }).strict()
const MineSchema = z.object({ blocks: z.number().int().positive().max(1000).default(1) }).strict()
const ArcTxSchema = z.object({ rawTx: z.string().min(2).max(4_000_000) })
const WocRawSchema = z.object({ txhex: z.string().min(2).max(4_000_000) })
const DropSchema = z.object({ txid: z.string().regex(/^[0-9a-f]{64}$/) }).strict()

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export interface DevnetStats {
  accepted: number
  rejected: number
  /** Mean time to validate and record one accepted transaction. */
  meanAcceptMs: number
}

/**
 * A local BSV chain over HTTP: the WhatsOnChain subset the wallet uses (under
 * /v1/bsv/<net>/…), ARC's POST /v1/tx, and devnet-only /devnet/mine, /devnet/faucet,
 * /devnet/replace (a double spend that wins) and /devnet/drop (a transaction that vanishes).
 * Every transaction goes through the same validation (scripts by @bsv/sdk's interpreter).
 */
export class DevnetServer implements Startable {
  private server: Server | null = null
  private ledger: Ledger | null = null
  private disposables = new Disposables()
  private faucetQueue: Promise<unknown> = Promise.resolve()
  private readonly minFeeRate: number
  private readonly logger: Logger
  private boundPort = 0
  private readonly stats = { accepted: 0, rejected: 0, acceptMs: 0 }

  constructor(private readonly init: DevnetServerInit = {}) {
    this.minFeeRate = init.minFeeRateSatsPerKb ?? 50
    this.logger = init.logger ?? silentLogger
  }

  get url(): string {
    if (!this.server) throw new Error('the devnet is not running')
    return `http://${this.init.host ?? '127.0.0.1'}:${this.boundPort}`
  }

  get port(): number {
    return this.boundPort
  }

  get height(): number {
    return this.requireLedger().height
  }

  get statistics(): DevnetStats {
    return { accepted: this.stats.accepted, rejected: this.stats.rejected, meanAcceptMs: this.stats.accepted ? this.stats.acceptMs / this.stats.accepted : 0 }
  }

  async start(): Promise<void> {
    if (this.server) return
    this.disposables = new Disposables()
    this.ledger = new Ledger(this.init.dataDir)
    const ledger = this.ledger
    this.disposables.add(() => ledger.close())
    const server = createServer((req, res) => void this.handle(req, res))
    server.keepAliveTimeout = 1000
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.init.port ?? 0, this.init.host ?? '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    }).catch(async (err: unknown) => {
      await this.disposables.dispose()
      this.ledger = null
      throw err
    })
    this.server = server
    this.boundPort = (server.address() as AddressInfo).port
    this.disposables.add(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        }),
    )
    if (this.init.blockIntervalMs && this.init.blockIntervalMs > 0) this.disposables.interval(() => this.mine(1), this.init.blockIntervalMs)
    this.logger.info('devnet listening', { url: this.url, height: ledger.height })
  }

  async stop(): Promise<void> {
    // Let a faucet payment in flight finish before the ledger closes.
    await this.faucetQueue.catch(() => {})
    this.server = null
    const d = this.disposables
    await d.dispose()
    this.ledger = null
  }

  /** Validate and accept a raw transaction; idempotent for one already known. */
  submit(rawHex: string): { txid: string; height: number | null } {
    const ledger = this.requireLedger()
    const started = performance.now()
    try {
      const tx = parseTransaction(rawHex)
      const txid = tx.id('hex')
      const known = ledger.txHeight(txid)
      if (known) return { txid, height: known.height }
      const validated = validateTransaction(tx, ledger.validationContext(this.minFeeRate))
      ledger.accept(validated)
      this.stats.accepted++
      this.stats.acceptMs += performance.now() - started
      return { txid, height: null }
    } catch (err) {
      if (err instanceof DevnetRejection) {
        this.stats.rejected++
        this.logger.debug('transaction refused', { code: err.code, reason: err.message })
      }
      throw err
    }
  }

  /**
   * Accept `rawHex` as a miner that saw it first would: mempool transactions that spend
   * the same inputs (and their descendants) are dropped. How tests stage a double spend
   * that wins, e.g. a channel funding that vanishes. A conflict already mined is refused.
   */
  replace(rawHex: string): { txid: string; height: number | null; dropped: string[] } {
    const ledger = this.requireLedger()
    const tx = parseTransaction(rawHex)
    return ledger.db.transaction(() => {
      const conflicts = ledger.conflicts(tx)
      for (const txid of conflicts) {
        if (ledger.txHeight(txid)?.height != null) throw new DevnetRejection('double-spend', `the conflicting ${txid} is already mined`)
      }
      const dropped = ledger.evict(conflicts)
      return { ...this.submit(rawHex), dropped }
    })()
  }

  /** Forget a mempool transaction and its descendants (a transaction that never makes it into a block). */
  drop(txid: string): { dropped: string[] } {
    return { dropped: this.requireLedger().evict([txid]) }
  }

  /** A transaction the devnet holds (mined or in the mempool), as hex. */
  rawTx(txid: string): string | null {
    return this.requireLedger().rawTx(txid)?.toString('hex') ?? null
  }

  /** The height that mined a transaction: null in the mempool, undefined when unknown. */
  txHeight(txid: string): number | null | undefined {
    return this.requireLedger().txHeight(txid)?.height
  }

  /** The transaction spending an output, if one does. */
  spender(txid: string, vout: number): { txid: string; vin: number } | null {
    return this.requireLedger().spender(txid, vout)
  }

  mine(blocks: number): { height: number; hashes: string[] } {
    return this.requireLedger().mine(blocks)
  }

  /** Pay an address from the faucet's coins (serialised: the faucet spends its own change). */
  faucet(address: string, satoshis: number): Promise<{ txid: string }> {
    const run = this.faucetQueue.then(() => this.payFromFaucet(address, satoshis))
    this.faucetQueue = run.catch(() => {})
    return run
  }

  private async payFromFaucet(address: string, satoshis: number): Promise<{ txid: string }> {
    const ledger = this.requireLedger()
    const pkh = pubkeyHashOf(address)
    const faucetAddress = FAUCET_KEY.toAddress([0x6f])
    const source = ledger.utxos(pubkeyHashOf(faucetAddress)).sort((a, b) => b.satoshis - a.satoshis)[0]
    if (!source) throw new HttpError(503, 'the faucet is empty')
    const tx = new Transaction()
    const lock = new P2PKH().lock(faucetAddress)
    tx.addInput({ sourceTXID: source.txid, sourceOutputIndex: source.vout, sequence: 0xffffffff, unlockingScriptTemplate: new P2PKH().unlock(FAUCET_KEY, 'all', false, source.satoshis, lock) })
    tx.addOutput({ lockingScript: new P2PKH().lock(Utils.toArray(pkh, 'hex')), satoshis })
    // One input, two P2PKH outputs: 226 bytes at most.
    const fee = minimumFee(226, Math.max(this.minFeeRate, 1))
    const change = source.satoshis - satoshis - fee
    if (change < 0) throw new HttpError(503, 'the faucet cannot pay that much')
    if (change > 0) tx.addOutput({ lockingScript: lock, satoshis: change })
    await tx.sign()
    return { txid: this.submit(tx.toHex()).txid }
  }

  private requireLedger(): Ledger {
    if (!this.ledger) throw new Error('the devnet is not running')
    return this.ledger
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://devnet')
      const path = url.pathname.replace(/\/+$/, '')
      const method = req.method ?? 'GET'
      const woc = /^\/v1\/bsv\/[a-z]+(\/.*)$/.exec(path)?.[1]
      if (woc !== undefined) return await this.handleWoc(method, woc, req, res)
      if (method === 'POST' && path === '/v1/tx') return await this.handleArc(req, res)
      const arcStatus = /^\/v1\/tx\/([0-9a-f]{64})$/.exec(path)?.[1]
      if (method === 'GET' && arcStatus) return this.arcTxStatus(arcStatus, res)
      if (method === 'POST' && path === '/devnet/mine') {
        const { blocks } = MineSchema.parse(await readJson(req, this.maxBody))
        return sendJson(res, 200, this.mine(blocks))
      }
      if (method === 'POST' && path === '/devnet/faucet') {
        const { address, satoshis } = FaucetSchema.parse(await readJson(req, this.maxBody))
        return sendJson(res, 200, await this.faucet(address, satoshis))
      }
      if (method === 'POST' && path === '/devnet/replace') {
        const { rawTx } = ArcTxSchema.parse(await readJson(req, this.maxBody))
        return sendJson(res, 200, this.replace(rawTx))
      }
      if (method === 'POST' && path === '/devnet/drop') {
        const { txid } = DropSchema.parse(await readJson(req, this.maxBody))
        return sendJson(res, 200, this.drop(txid))
      }
      if (method === 'GET' && path === '/devnet/status') {
        const ledger = this.requireLedger()
        return sendJson(res, 200, { height: ledger.height, mempool: ledger.mempoolSize(), minFeeRateSatsPerKb: this.minFeeRate, ...this.statistics })
      }
      throw new HttpError(404, 'not found')
    } catch (err) {
      if (err instanceof HttpError) return sendText(res, err.status, err.message)
      if (err instanceof z.ZodError) return sendText(res, 400, `invalid request: ${err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
      if (err instanceof DevnetRejection) return sendText(res, 400, `${err.code}: ${err.message}`)
      this.logger.error('devnet request failed', { err })
      return sendText(res, 500, 'internal error')
    }
  }

  private get maxBody(): number {
    return this.init.maxBodyBytes ?? 8 * 1024 * 1024
  }

  private async handleWoc(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ledger = this.requireLedger()
    if (method === 'GET' && path === '/chain/info') {
      const tip = ledger.tip()!
      return sendJson(res, 200, { chain: 'devnet', blocks: tip.height, headers: tip.height, bestblockhash: tip.hash, mediantime: tip.time })
    }
    // Legacy /unspent answers a bare array; /unspent/all wraps it as WhatsOnChain does now.
    const unspent = /^\/address\/([1-9A-HJ-NP-Za-km-z]+)\/unspent(\/all)?$/.exec(path)
    if (method === 'GET' && unspent) {
      const address = unspent[1]!
      const list = ledger.utxos(pubkeyHashOf(address)).map((u) => ({
        height: u.height ?? 0,
        tx_pos: u.vout,
        tx_hash: u.txid,
        value: u.satoshis,
        isSpentInMempoolTx: false,
        status: u.height === null ? 'unconfirmed' : 'confirmed',
      }))
      return sendJson(res, 200, unspent[2] ? { address, result: list, error: '' } : list)
    }
    const historyOf = /^\/address\/([1-9A-HJ-NP-Za-km-z]+)\/history$/.exec(path)?.[1]
    if (method === 'GET' && historyOf) {
      return sendJson(
        res,
        200,
        ledger.history(pubkeyHashOf(historyOf)).map((h) => ({ tx_hash: h.txid, height: h.height ?? 0 })),
      )
    }
    const hexOf = /^\/tx\/([0-9a-f]{64})\/hex$/.exec(path)?.[1]
    if (method === 'GET' && hexOf) {
      const raw = ledger.rawTx(hexOf)
      if (!raw) throw new HttpError(404, 'unknown transaction')
      return sendText(res, 200, raw.toString('hex'))
    }
    // WhatsOnChain's spent-output lookup: the spending txid and input, or 404 while unspent.
    const spentOf = /^\/tx\/([0-9a-f]{64})\/(\d{1,10})\/spent$/.exec(path)
    if (method === 'GET' && spentOf) {
      const spender = ledger.spender(spentOf[1]!, Number(spentOf[2]))
      if (!spender) throw new HttpError(404, 'not spent')
      return sendJson(res, 200, spender)
    }
    const hashOf = /^\/tx\/hash\/([0-9a-f]{64})$/.exec(path)?.[1]
    if (method === 'GET' && hashOf) {
      const known = ledger.txHeight(hashOf)
      if (!known) throw new HttpError(404, 'unknown transaction')
      const confirmations = known.height === null ? 0 : ledger.height - known.height + 1
      return sendJson(res, 200, { txid: hashOf, blockheight: known.height ?? undefined, confirmations })
    }
    if (method === 'POST' && path === '/tx/raw') {
      const { txhex } = WocRawSchema.parse(await readJson(req, this.maxBody))
      return sendJson(res, 200, this.submit(txhex).txid)
    }
    throw new HttpError(404, 'not found')
  }

  private async handleArc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let rawTx: string
    try {
      rawTx = ArcTxSchema.parse(await readJson(req, this.maxBody)).rawTx
    } catch (err) {
      if (err instanceof HttpError && err.status === 413) throw err
      return sendJson(res, 400, { type: 'devnet/errors/400', title: 'Bad request', status: 400, detail: 'The request seems to be malformed and cannot be processed', extraInfo: (err as Error).message.slice(0, 200) })
    }
    try {
      const { txid, height } = this.submit(rawTx)
      const tip = this.requireLedger().tip()!
      return sendJson(res, 200, {
        blockHash: height === null ? '' : tip.hash,
        blockHeight: height ?? 0,
        extraInfo: '',
        status: 200,
        timestamp: new Date().toISOString(),
        title: 'OK',
        txStatus: height === null ? 'SEEN_ON_NETWORK' : 'MINED',
        txid,
      })
    } catch (err) {
      if (!(err instanceof DevnetRejection)) throw err
      const status = ARC_STATUS[err.code]
      return sendJson(res, status, { type: `devnet/errors/${status}`, title: err.code, status, detail: err.message, extraInfo: `${err.code}: ${err.message}` })
    }
  }

  private arcTxStatus(txid: string, res: ServerResponse): void {
    const known = this.requireLedger().txHeight(txid)
    if (!known) return sendJson(res, 404, { status: 404, title: 'Not found', detail: 'The requested resource could not be found' })
    return sendJson(res, 200, { txid, txStatus: known.height === null ? 'SEEN_ON_NETWORK' : 'MINED', blockHeight: known.height ?? 0, timestamp: new Date().toISOString() })
  }
}

/** The pubkey hash of a P2PKH address of any network (the devnet serves all prefixes). */
function pubkeyHashOf(address: string): string {
  try {
    const { prefix, data } = Utils.fromBase58Check(address, 'hex')
    if ((prefix !== '00' && prefix !== '6f') || typeof data !== 'string' || data.length !== 40) throw new Error('not a P2PKH address')
    return data
  } catch (err) {
    throw new HttpError(400, `invalid address: ${(err as Error).message}`)
  }
}

function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        reject(new HttpError(413, 'request body too large'))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'))
      } catch {
        reject(new HttpError(400, 'the body is not JSON'))
      }
    })
    req.on('error', reject)
  })
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}
