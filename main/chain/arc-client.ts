import { z } from 'zod'
import { type ChainBroadcaster, BroadcastRejectedError, ChainProtocolError, type RejectReason, isRejectReason } from './chain.js'
import { DEFAULT_HTTP_POLICY, type HttpPolicy, request } from './http.js'

/** ARC's own status codes (bitcoin-sv/arc), mapped to the reasons every chain service shares. */
const ARC_STATUS_REASONS: Readonly<Record<number, RejectReason>> = {
  460: 'missing-inputs',
  461: 'script-failed',
  462: 'outputs-exceed-inputs',
  463: 'malformed',
  464: 'malformed',
  465: 'fee-too-low',
  466: 'double-spend',
}

const ArcOkSchema = z.object({ txid: z.string().regex(/^[0-9a-f]{64}$/), txStatus: z.string().optional() })
const ArcErrorSchema = z.object({ status: z.number().optional(), title: z.string().optional(), detail: z.string().optional(), extraInfo: z.string().nullish() }).loose()

/** Statuses ARC reports for a transaction it took but then refused. */
const REFUSED_STATUSES = new Set(['REJECTED', 'DOUBLE_SPEND_ATTEMPTED'])

export interface ArcInit {
  /** e.g. https://arc.taal.com, or a devnet's root URL. */
  baseUrl: string
  apiKey?: string
  http?: Partial<HttpPolicy>
}

export class ArcClient implements ChainBroadcaster {
  private readonly base: string
  private readonly policy: HttpPolicy
  private readonly headers: Record<string, string>

  constructor(init: ArcInit) {
    this.base = init.baseUrl.replace(/\/+$/, '')
    this.policy = { ...DEFAULT_HTTP_POLICY, ...init.http }
    this.headers = { 'Content-Type': 'application/json', ...(init.apiKey ? { Authorization: `Bearer ${init.apiKey}` } : {}) }
  }

  async broadcast(rawHex: string, signal?: AbortSignal): Promise<{ txid: string }> {
    const answer = await request(`${this.base}/v1/tx`, { method: 'POST', body: JSON.stringify({ rawTx: rawHex }), headers: this.headers }, this.policy, signal)
    let json: unknown
    try {
      json = JSON.parse(answer.body)
    } catch {
      json = {}
    }
    if (answer.status === 200) {
      const ok = ArcOkSchema.safeParse(json)
      if (!ok.success) throw new ChainProtocolError('ARC answer has no txid')
      if (ok.data.txStatus && REFUSED_STATUSES.has(ok.data.txStatus)) {
        throw new BroadcastRejectedError(ok.data.txStatus === 'DOUBLE_SPEND_ATTEMPTED' ? 'double-spend' : 'rejected', `ARC: ${ok.data.txStatus}`, 200)
      }
      return { txid: ok.data.txid }
    }
    const err = ArcErrorSchema.safeParse(json)
    const extra = err.success ? (err.data.extraInfo ?? '') : ''
    const prefix = /^([a-z-]+):/.exec(extra)?.[1]
    const reason = ARC_STATUS_REASONS[answer.status] ?? (isRejectReason(prefix) ? prefix : 'rejected')
    const title = err.success ? (err.data.title ?? err.data.detail ?? '') : ''
    throw new BroadcastRejectedError(reason, [title, extra].filter(Boolean).join(': ') || `HTTP ${answer.status}`, answer.status)
  }
}
