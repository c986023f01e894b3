import type { ChainLookup, ChainMonitor } from '../chain/index.js'
import { Disposables } from '../kit/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { scanUtxos, unknownSpenders, usedByHistory as usedByHistoryOf } from './chain-scan.js'
import type { WalletKeyring } from './wallet-keyring.js'
import type { ChainOutput, WalletRepository } from './wallet-repository.js'

export interface WalletSyncComponents {
  repo: WalletRepository
  keyring: WalletKeyring
  chain: { lookup: ChainLookup; monitor: Pick<ChainMonitor, 'onChange' | 'reportOk' | 'reportUnavailable'> }
  logger: Logger
  metrics: Metrics
  /** Runs first in every sync: sends whose outcome is unknown are carried on. */
  beforeScan(signal?: AbortSignal): Promise<void>
  /** A sync finished: the balance may have changed. */
  changed(): void
}

export interface WalletSyncInit {
  /** How often UTXOs are synced from the chain. */
  intervalMs: number
  /** Parallel address look-ups during a sync. */
  concurrency: number
}

const MAX_SYNC_ROUNDS = 20

/**
 * The wallet's outputs as the chain lists them for its addresses: synced on a timer, on
 * every change the chain monitor sees, and on request. Nothing a peer claims changes a
 * balance: only the chain's listing of our addresses does.
 */
export class WalletSync {
  private disposables = new Disposables()
  private syncing: Promise<boolean> | null = null
  private queuedSync: Promise<boolean> | null = null
  private deepRequested = false
  private readonly syncFailures

  constructor(
    private readonly components: WalletSyncComponents,
    private readonly init: WalletSyncInit,
  ) {
    this.syncFailures = components.metrics.counter({ name: 'wallet_sync_failures_total', help: 'Wallet syncs that could not reach the chain' })
  }

  private get repo(): WalletRepository {
    return this.components.repo
  }

  /** Syncs now, then every interval and whenever the chain comes back or moves on. */
  start(): void {
    this.disposables = new Disposables()
    const controller = this.disposables.abortController()
    this.disposables.interval(() => void this.syncQuietly(controller.signal), this.init.intervalMs)
    this.disposables.add(
      this.components.chain.monitor.onChange((h) => {
        if (h.state === 'ok') void this.syncQuietly(controller.signal)
      }),
    )
    void this.syncQuietly(controller.signal)
  }

  async stop(): Promise<void> {
    await this.disposables.dispose()
    await this.queuedSync?.catch(() => {})
    await this.syncing?.catch(() => {})
  }

  /**
   * One sync: look up every watched address, then write what the chain says in one
   * transaction; repeat while new used addresses widen the gap window. Resolves true when
   * something changed; throws ChainUnavailableError when the chain cannot be reached.
   * `deep` (after a restore) also asks each address's history.
   */
  sync(signal?: AbortSignal, opts: { deep?: boolean } = {}): Promise<boolean> {
    // A deep request must not be lost by joining a shallow sync already queued.
    if (opts.deep) this.deepRequested = true
    // A caller must see the chain as it is after its call: when a sync is already under
    // way, one more is queued behind it (and shared by everyone who asks meanwhile).
    if (this.syncing) {
      this.queuedSync ??= this.syncing
        .catch(() => false)
        .then(() => {
          this.queuedSync = null
          return this.sync(signal)
        })
      return this.queuedSync
    }
    const deep = this.deepRequested
    this.deepRequested = false
    const run = this.runSync(signal, deep)
      .catch((err: unknown) => {
        // A restore's deep sync that could not finish is owed until one does.
        if (deep) this.deepRequested = true
        throw err
      })
      .finally(() => {
        this.syncing = null
      })
    this.syncing = run
    return run
  }

  /** A sync whose failure is only logged (the chain monitor reports the chain's state). */
  async syncQuietly(signal?: AbortSignal): Promise<void> {
    try {
      await this.sync(signal)
    } catch (err) {
      if (signal?.aborted) return
      this.components.logger.debug('sync failed', { err })
    }
  }

  private async runSync(signal: AbortSignal | undefined, deep: boolean): Promise<boolean> {
    const { keyring, chain } = this.components
    if (!keyring.ready) return false
    const generation = keyring.generation
    let changed = false
    await this.components.beforeScan(signal)
    for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
      keyring.ensureGap()
      const startedAt = Date.now()
      const all = this.repo.addresses()
      // A used change address that holds nothing is never paid again (only we know it):
      // regular syncs skip it, which keeps look-ups bounded by coins held, not sends made.
      const holding = new Set(this.repo.utxos().map((u) => u.address))
      const watched = deep ? all : all.filter((a) => a.chain === 0 || !a.used || holding.has(a.address))
      let listed: ChainOutput[]
      let usedByHistory: string[] = []
      try {
        listed = await scanUtxos(
          chain.lookup,
          watched.map((a) => a.address),
          this.init.concurrency,
          signal,
        )
        // After a restore, an address whose coins are all spent still counts as used:
        // only its history tells, so a deep sync asks for it.
        if (deep) usedByHistory = await usedByHistoryOf(chain.lookup, watched.filter((a) => !a.used && !listed.some((o) => o.address === a.address)).map((a) => a.address), signal)
      } catch (err) {
        if (!signal?.aborted) {
          this.syncFailures.inc()
          chain.monitor.reportUnavailable(err)
        }
        throw err
      }
      const spentBy = new Map(this.repo.utxos().flatMap((u) => (u.state === 'spent' && u.spentBy ? [[`${u.txid}:${u.vout}`, u.spentBy] as const] : [])))
      const revived = await unknownSpenders(chain.lookup, spentBy, listed, signal)
      // A restore replaced the wallet meanwhile: these findings are the old wallet's.
      if (generation !== keyring.generation || !keyring.ready) return changed
      if (this.repo.applySync(listed, startedAt, revived, usedByHistory)) changed = true
      chain.monitor.reportOk()
      const before = all.length
      keyring.ensureGap()
      if (this.repo.addresses().length === before) break
    }
    await this.confirmSends(signal)
    this.components.changed()
    return changed
  }

  /** Heights of our sends that left no change with us (the change's height covers the rest). */
  private async confirmSends(signal?: AbortSignal): Promise<void> {
    for (const txid of this.repo.unconfirmedSends(20)) {
      try {
        const status = await this.components.chain.lookup.txStatus(txid, signal)
        if (status?.height != null) this.repo.setTxHeight(txid, status.height)
      } catch {
        return
      }
    }
  }
}
