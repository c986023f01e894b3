// Daemon processes on the devnet process for the hostile-peer tests, and what the tests
// read of them: API calls, wallet balances, the wallet's address count from its database,
// and a counting HTTP proxy to see how often a daemon asks the chain service.
import { writeFileSync } from 'node:fs'
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { WalletTransaction } from '../../shared/contract/wallet.js'
import { type DaemonProc, startDaemon, tempDir, waitFor } from '../helpers/processes.js'

export interface ChannelView {
  id: string
  peerId: string
  role: 'payer' | 'payee'
  state: string
  step: string | null
  failure: string | null
  problem: { code: string; message: string } | null
  capacitySats: number
  paidSats: number
  seq: number
  expiry: number
  settlementFeeSats: number
  fundingTxid: string | null
  settlementTxid: string | null
  refundTxid: string | null
  payments?: unknown[]
}

export interface TestDaemon extends DaemonProc {
  remove: () => void
}

/** A devnet daemon with `channels` merged into a fast-polling config, logging warnings only. */
export async function startTestDaemon(chainUrl: string, channels: Record<string, unknown> = {}): Promise<TestDaemon> {
  const dir = tempDir('bsv-hostile-')
  writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 250, ...channels } }))
  const d = await startDaemon(dir.path, ['--chain-url', chainUrl], {}, { logLevel: 'warn' })
  return Object.assign(d, { remove: dir.remove })
}

export async function call<T>(d: DaemonProc, method: string, params: unknown = {}): Promise<{ ok: true; result: T } | { ok: false; code: string; message: string }> {
  const res = await d.call<T>(method, params)
  return res.body.ok ? { ok: true, result: res.body.result as T } : { ok: false, code: res.body.error?.code ?? `http ${res.status}`, message: res.body.error?.message ?? '' }
}

export async function ok<T>(d: DaemonProc, method: string, params: unknown = {}): Promise<T> {
  const r = await call<T>(d, method, params)
  if (!r.ok) throw new Error(`${method}: ${r.code} ${r.message}`)
  return r.result
}

export const channel = (d: DaemonProc, channelId: string): Promise<ChannelView> => ok<ChannelView>(d, 'getChannel', { channelId })

export async function balance(d: DaemonProc): Promise<number> {
  const w = await ok<{ balance: { confirmed: number; unconfirmed: number } }>(d, 'getWallet')
  return w.balance.confirmed + w.balance.unconfirmed
}

/** The wallet's history, newest first (its 100 latest: every test here makes far fewer). */
export const walletTransactions = (d: DaemonProc): Promise<WalletTransaction[]> => ok<WalletTransaction[]>(d, 'listTransactions', { limit: 100 })

/** Waits until the wallet (synced every 500 ms) shows exactly `sats`; returns what it showed last otherwise. */
export async function settledBalance(d: DaemonProc, sats: number, timeoutMs = 15_000): Promise<number> {
  let last = -1
  await waitFor(`wallet balance ${sats}`, async () => (last = await balance(d)) === sats, timeoutMs, 100).catch(() => {})
  return last
}

export async function directAddr(d: DaemonProc): Promise<string> {
  const addrs = (await d.health()).multiaddrs as string[]
  const direct = addrs.find((m) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//.test(m))
  if (!direct) throw new Error(`no direct address among ${addrs.join(', ')}`)
  return direct
}

/**
 * The wallet's address table, read from the daemon's database (read-only, beside the
 * daemon): its rows, and those handed out. Both: the gap limit keeps unissued rows ahead,
 * so issuing one of those adds no row.
 */
export function walletAddresses(d: DaemonProc): { rows: number; issued: number } {
  const db = new Database(join(d.dataDir, 'engine.sqlite'), { readonly: true, fileMustExist: true })
  try {
    return db.prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(issued), 0) AS issued FROM wallet_addresses').get() as { rows: number; issued: number }
  } finally {
    db.close()
  }
}

/** Forwards every request to `target` and counts them by the kind of look-up. */
export class CountingProxy {
  readonly counts = new Map<string, number>()
  private server: Server | null = null
  url = ''

  constructor(private readonly target: string) {}

  static kind(path: string): string {
    if (path.includes('/chain/info')) return 'height'
    if (/\/tx\/[0-9a-f]{64}\/\d+\/spent$/.test(path)) return 'spent'
    if (path.includes('/tx/')) return 'tx'
    if (path.includes('/address/')) return 'address'
    return 'other'
  }

  total(): number {
    let n = 0
    for (const v of this.counts.values()) n += v
    return n
  }

  snapshot(): Map<string, number> {
    return new Map(this.counts)
  }

  /** Requests by kind since `snapshot`, and their total. */
  since(snapshot: Map<string, number>): Record<string, number> & { total: number } {
    const out: Record<string, number> & { total: number } = { total: 0 }
    for (const [kind, n] of this.counts) {
      const d = n - (snapshot.get(kind) ?? 0)
      out[kind] = d
      out.total += d
    }
    return out
  }

  async start(): Promise<void> {
    const target = new URL(this.target)
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const kind = CountingProxy.kind(req.url ?? '')
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1)
      const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502)
        res.end()
      })
      req.pipe(upstream)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.server = server
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  async stop(): Promise<void> {
    const s = this.server
    this.server = null
    if (!s) return
    await new Promise<void>((resolve) => {
      s.close(() => resolve())
      s.closeAllConnections()
    })
  }
}
