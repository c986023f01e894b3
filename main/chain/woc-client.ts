import { z } from 'zod'
import { type ChainBroadcaster, type ChainLookup, type ChainUtxo, BroadcastRejectedError, ChainProtocolError, type RejectReason, type TxStatus, isRejectReason } from './chain.js'
import { DEFAULT_HTTP_POLICY, type HttpPolicy, request } from './http.js'

const TXID = /^[0-9a-f]{64}$/

const ChainInfoSchema = z.object({ blocks: z.number().int().nonnegative() })
const UnspentItemSchema = z
  .object({
    height: z.number().int().nonnegative(),
    tx_pos: z.number().int().nonnegative(),
    tx_hash: z.string().regex(TXID),
    value: z.number().int().nonnegative(),
    /** Set by /unspent/all on outputs a mempool transaction already spends. */
    isSpentInMempoolTx: z.boolean().optional(),
  })
  .loose()
/** The current endpoint wraps the list ({address, result, error}); the legacy one is a bare array. */
const UnspentSchema = z.union([z.array(UnspentItemSchema), z.object({ result: z.array(UnspentItemSchema) }).loose().transform((w) => w.result)])
const HistorySchema = z.array(z.object({ tx_hash: z.string().regex(TXID) }).loose())
const SpentSchema = z.object({ txid: z.string().regex(TXID), vin: z.number().int().nonnegative() }).loose()
const TxHashSchema = z.object({
  blockheight: z.number().int().nonnegative().nullish(),
  confirmations: z.number().int().nonnegative().nullish(),
})

export interface WhatsOnChainInit {
  /** e.g. https://api.whatsonchain.com/v1/bsv/main, or a devnet's http://127.0.0.1:N/v1/bsv/devnet */
  baseUrl: string
  apiKey?: string
  http?: Partial<HttpPolicy>
}

/** WhatsOnChain node messages mapped to the reasons every chain service shares. */
function reasonFromText(text: string): RejectReason {
  const prefix = /^([a-z-]+):/.exec(text)?.[1]
  if (isRejectReason(prefix)) return prefix
  const t = text.toLowerCase()
  if (t.includes('missing-inputs') || t.includes('missing inputs')) return 'missing-inputs'
  if (t.includes('txn-mempool-conflict') || t.includes('double spend') || t.includes('double-spend')) return 'double-spend'
  if (t.includes('script-verify') || t.includes('script failed')) return 'script-failed'
  if (t.includes('non-final')) return 'non-final'
  if (t.includes('fee')) return 'fee-too-low'
  if (t.includes('in-belowout') || t.includes('outputs exceed')) return 'outputs-exceed-inputs'
  if (t.includes('decode') || t.includes('malformed')) return 'malformed'
  return 'rejected'
}

/** Look-ups (and a fallback broadcast) over the WhatsOnChain REST API. */
export class WhatsOnChainClient implements ChainLookup, ChainBroadcaster {
  private readonly base: string
  private readonly policy: HttpPolicy
  private readonly headers: Record<string, string>

  constructor(init: WhatsOnChainInit) {
    this.base = init.baseUrl.replace(/\/+$/, '')
    this.policy = { ...DEFAULT_HTTP_POLICY, ...init.http }
    this.headers = init.apiKey ? { Authorization: init.apiKey } : {}
  }

  async height(signal?: AbortSignal): Promise<number> {
    const answer = await this.get('/chain/info', signal)
    return this.parse(ChainInfoSchema, answer, '/chain/info').blocks
  }

  async utxos(address: string, signal?: AbortSignal): Promise<ChainUtxo[]> {
    const path = `/address/${encodeURIComponent(address)}/unspent/all`
    const answer = await this.get(path, signal)
    if (answer.status === 404) return []
    // WhatsOnChain reports unconfirmed outputs at height 0.
    return this.parse(UnspentSchema, answer, path)
      .filter((u) => u.isSpentInMempoolTx !== true)
      .map((u) => ({ txid: u.tx_hash, vout: u.tx_pos, satoshis: u.value, height: u.height > 0 ? u.height : null }))
  }

  async rawTx(txid: string, signal?: AbortSignal): Promise<string | null> {
    const answer = await this.get(`/tx/${txid}/hex`, signal)
    if (answer.status === 404) return null
    this.expectOk(answer, '/tx/hex')
    const hex = answer.body.trim().replace(/^"|"$/g, '')
    if (!/^[0-9a-f]*$/i.test(hex) || hex.length % 2 !== 0) throw new ChainProtocolError('raw transaction is not hex')
    return hex
  }

  async txStatus(txid: string, signal?: AbortSignal): Promise<TxStatus | null> {
    const answer = await this.get(`/tx/hash/${txid}`, signal)
    if (answer.status === 404) return null
    const tx = this.parse(TxHashSchema, answer, '/tx/hash')
    const height = tx.blockheight && tx.blockheight > 0 ? tx.blockheight : null
    return { height, confirmations: height === null ? 0 : (tx.confirmations ?? 0) }
  }

  async spentBy(txid: string, vout: number, signal?: AbortSignal): Promise<{ txid: string; vin: number } | null> {
    const path = `/tx/${txid}/${vout}/spent`
    const answer = await this.get(path, signal)
    if (answer.status === 404) return null
    return this.parse(SpentSchema, answer, '/tx/spent')
  }

  async history(address: string, signal?: AbortSignal): Promise<string[]> {
    const path = `/address/${encodeURIComponent(address)}/history`
    const answer = await this.get(path, signal)
    if (answer.status === 404) return []
    return this.parse(HistorySchema, answer, path).map((h) => h.tx_hash)
  }

  async broadcast(rawHex: string, signal?: AbortSignal): Promise<{ txid: string }> {
    const answer = await request(`${this.base}/tx/raw`, { method: 'POST', body: JSON.stringify({ txhex: rawHex }), headers: { ...this.headers, 'Content-Type': 'application/json' } }, this.policy, signal)
    if (answer.status !== 200) {
      const text = answer.body.replace(/^"|"$/g, '')
      throw new BroadcastRejectedError(reasonFromText(text), text || `HTTP ${answer.status}`, answer.status)
    }
    const txid = answer.body.trim().replace(/^"|"$/g, '')
    if (!TXID.test(txid)) throw new ChainProtocolError('broadcast answer is not a txid')
    return { txid }
  }

  private get(path: string, signal?: AbortSignal) {
    return request(`${this.base}${path}`, { method: 'GET', headers: this.headers }, this.policy, signal)
  }

  private expectOk(answer: { status: number; body: string }, what: string): void {
    if (answer.status !== 200) throw new ChainProtocolError(`${what}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`)
  }

  private parse<T>(schema: z.ZodType<T>, answer: { status: number; body: string }, what: string): T {
    this.expectOk(answer, what)
    let json: unknown
    try {
      json = JSON.parse(answer.body)
    } catch {
      throw new ChainProtocolError(`${what}: not JSON`)
    }
    const parsed = schema.safeParse(json)
    if (!parsed.success) throw new ChainProtocolError(`${what}: unexpected shape`)
    return parsed.data
  }
}
