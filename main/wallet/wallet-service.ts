import type { WalletInfo, WalletTransaction } from '../../shared/contract/index.js'
import type { ChainBroadcaster, ChainLookup, ChainHealth, ChainMonitor } from '../chain/index.js'
import type { Network } from '../config/index.js'
import type { EventBus, Startable } from '../kit/index.js'
import type { IdempotencyScope } from '../idempotency/index.js'
import type { Store } from '../store/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { ChannelFunding, type ChannelFundingReservation, type CompletedChannelFunding } from './channel-funding.js'
import type { Keystore } from './keystore.js'
import type { AddressChain } from './mnemonic.js'
import { WalletConfigError } from './wallet-errors.js'
import { WalletKeyring } from './wallet-keyring.js'
import { WalletRepository } from './wallet-repository.js'
import { WalletSender } from './wallet-sender.js'
import { WalletSync } from './wallet-sync.js'

export { WrongPassphraseError } from './keystore.js'
export { WalletConfigError, WalletLockedError } from './wallet-errors.js'
export type { ChannelFundingReservation } from './channel-funding.js'

export interface WalletServiceComponents {
  store: Store
  logger: Logger
  metrics: Metrics
  events: EventBus
  chain: { lookup: ChainLookup; broadcaster: ChainBroadcaster; monitor: ChainMonitor }
}

export interface WalletServiceInit {
  network: Network
  /** Fee rate of our sends (default 100 sat/kB). */
  feeRateSatsPerKb?: number
  /** How often UTXOs are synced from the chain (default 10 s). */
  syncIntervalMs?: number
  /** Addresses watched beyond the last used one, per chain (default 10). */
  gapLimit?: number
  /** The keystore to seal with; without one, `passphrase` makes a PassphraseKeystore, and without that the wallet is unencrypted (refused on mainnet). */
  keystore?: Keystore
  passphrase?: string
  /** scrypt cost for passphrase keystores made here (default 15); tests lower it. */
  scryptLogN?: number
  /** Parallel address look-ups during a sync (default 4). */
  syncConcurrency?: number
}

/**
 * The HD wallet as the engine, its handlers and the channel engine see it: one face over
 * its parts, each with one job — keys and addresses (`WalletKeyring`), sends and their
 * recovery (`WalletSender`), coins for channels (`ChannelFunding`), the chain's view of
 * our outputs (`WalletSync`) — all over one `WalletRepository`. It owns their lifecycle and
 * the `wallet` event.
 */
export class WalletService implements Startable {
  private readonly repo: WalletRepository
  private readonly keyring: WalletKeyring
  private readonly sender: WalletSender
  private readonly funding: ChannelFunding
  private readonly syncer: WalletSync
  private lastEmitted = ''

  constructor(
    private readonly components: WalletServiceComponents,
    private readonly init: WalletServiceInit,
  ) {
    const feeRateSatsPerKb = init.feeRateSatsPerKb ?? 100
    if (!Number.isFinite(feeRateSatsPerKb) || feeRateSatsPerKb < 0) throw new WalletConfigError('feeRateSatsPerKb must be a non-negative number')
    const logger = components.logger
    this.repo = new WalletRepository(components.store)
    const repo = this.repo
    this.keyring = new WalletKeyring({ repo, logger }, { network: init.network, gapLimit: init.gapLimit ?? 10, keystore: init.keystore, passphrase: init.passphrase, scryptLogN: init.scryptLogN })
    const changed = (): void => this.emitIfChanged()
    this.sender = new WalletSender(
      { repo, keyring: this.keyring, chain: components.chain, logger, metrics: components.metrics, changed, stale: () => void this.syncer.syncQuietly() },
      { network: init.network, feeRateSatsPerKb },
    )
    this.funding = new ChannelFunding({ repo, keyring: this.keyring, changed }, { feeRateSatsPerKb })
    this.syncer = new WalletSync(
      { repo, keyring: this.keyring, chain: components.chain, logger, metrics: components.metrics, beforeScan: (signal) => this.sender.resolvePending(signal), changed },
      { intervalMs: init.syncIntervalMs ?? 10_000, concurrency: init.syncConcurrency ?? 4 },
    )
  }

  get network(): Network {
    return this.init.network
  }

  get ready(): boolean {
    return this.keyring.ready
  }

  async start(): Promise<void> {
    await this.keyring.open()
    this.sender.abandonUnsigned()
    this.syncer.start()
  }

  async stop(): Promise<void> {
    await this.syncer.stop()
    this.keyring.close()
  }

  chainHealth(): ChainHealth {
    return this.components.chain.monitor.health()
  }

  info(): WalletInfo {
    const open = this.keyring.ready
    const current = open ? this.repo.currentReceive() : null
    const balance = open ? this.repo.balance() : { confirmed: 0, unconfirmed: 0 }
    return { network: this.init.network, address: current?.address ?? '', balance, ready: open }
  }

  listTransactions(params: { limit: number; before?: number }): WalletTransaction[] {
    this.keyring.require()
    return this.repo.transactions(params.limit, params.before)
  }

  async newAddress(): Promise<{ address: string }> {
    const fresh = this.keyring.newReceiveAddress()
    this.emitIfChanged()
    return fresh
  }

  /**
   * A fresh internal (change-chain) address for a payment channel's payout. The channel
   * engine asks only once a channel is funded, so proposals that never fund issue none and
   * a restore's gap limit covers every address that can hold coins.
   */
  async newChannelAddress(): Promise<{ address: string }> {
    return { address: this.keyring.issueChangeAddress() }
  }

  previewSend(params: { address?: string; sats?: number; max?: boolean }): { sats: number; feeSats: number; totalSats: number; spendableSats: number } {
    return this.sender.preview(params)
  }

  send(params: { address: string; sats: number }, scope: IdempotencyScope | null = null): Promise<{ txid: string; sats: number; fee: number }> {
    return this.sender.send(params, scope)
  }

  /** See WalletSync.sync. */
  sync(signal?: AbortSignal, opts: { deep?: boolean } = {}): Promise<boolean> {
    return this.syncer.sync(signal, opts)
  }

  async backupWallet(params: { passphrase: string }): Promise<{ mnemonic: string }> {
    return this.keyring.backup(params.passphrase)
  }

  async restoreWallet(params: { mnemonic: string; passphrase?: string }): Promise<WalletInfo> {
    await this.keyring.restore(params)
    await this.syncer.sync(undefined, { deep: true }).catch((err: unknown) => this.components.logger.warn('sync after restore failed; it will be retried', { err }))
    this.emitIfChanged(true)
    return this.info()
  }

  channelPrivateKey(index: number): Uint8Array {
    return this.keyring.channelPrivateKey(index)
  }

  channelBackupSecret(): { key: Uint8Array; wallet: string } | null {
    return this.keyring.channelBackupSecret()
  }

  addressPath(address: string): { chain: AddressChain; idx: number } | null {
    return this.keyring.addressPath(address)
  }

  /**
   * Addresses a restored channel pays to: watched (and kept out of new issues) from now on,
   * so the settlement or refund counts in the balance however far past the gap limit they
   * are. Refused whole if one is not this wallet's own.
   */
  adoptAddresses(list: readonly { address: string; chain: AddressChain; idx: number }[]): void {
    this.keyring.adoptAddresses(list)
  }

  /** See ChannelFunding: the caller builds and broadcasts, then completes or releases. */
  reserveForChannel(params: { capacitySats: number; feeRateSatsPerKb: number }): ChannelFundingReservation {
    return this.funding.reserve(params)
  }

  completeChannelFunding(reservationId: string, tx: CompletedChannelFunding): void {
    this.funding.complete(reservationId, tx)
  }

  releaseChannelFunding(reservationId: string): void {
    this.funding.release(reservationId)
  }

  releaseUnheldChannelFundings(held: readonly string[]): number {
    return this.funding.releaseUnheld(held)
  }

  private emitIfChanged(force = false): void {
    const info = this.info()
    const text = JSON.stringify(info)
    if (!force && text === this.lastEmitted) return
    this.lastEmitted = text
    this.components.events.emit('wallet', info)
  }
}
