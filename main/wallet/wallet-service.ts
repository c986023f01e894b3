import { randomUUID } from 'node:crypto'
import { ContractError, type WalletInfo, type WalletTransaction } from '../../shared/contract/index.js'
import { BroadcastRejectedError, type ChainBroadcaster, type ChainLookup, ChainUnavailableError } from '../chain/chain.js'
import type { ChainHealth, ChainMonitor } from '../chain/chain-monitor.js'
import type { Network } from '../config/schema.js'
import type { EventBus } from '../engine/event-bus.js'
import type { IdempotencyScope } from '../idempotency/index.js'
import { Disposables, type Startable } from '../lifecycle/index.js'
import type { Store } from '../store/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { parseAddress } from './addresses.js'
import { type SendInput, buildSignedSend } from './build-send.js'
import { scanUtxos, unknownSpenders, usedByHistory as usedByHistoryOf } from './chain-scan.js'
import { maxSendable, selectCoins } from './coin-selection.js'
import { type Keystore, PassphraseKeystore, PlainKeystore, WrongPassphraseError, sealedKind } from './keystore.js'
import { type AddressChain, WalletKeys, assertValidMnemonic, generateMnemonic } from './mnemonic.js'
import { type ChainOutput, type PendingSend, WalletRepository } from './wallet-repository.js'

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

export interface ChannelFundingReservation {
  reservationId: string
  coins: { txid: string; vout: number; satoshis: number; privateKey: Uint8Array }[]
  changeAddress: string
}

export class WalletConfigError extends Error {
  override readonly name = 'WalletConfigError'
}

/** The wallet is encrypted and this process was not given what opens it. */
export class WalletLockedError extends Error {
  override readonly name = 'WalletLockedError'
}

export { WrongPassphraseError }

const MAX_SYNC_ROUNDS = 20

/** The refusal of a send (or a preview, or a channel's funding) the coins cannot pay; details carry the numbers. */
function notEnoughCoins(p: { available: number; needed: number }): ContractError {
  return new ContractError('insufficient_funds', `not enough coins: ${p.available} sat spendable, ${p.needed} sat needed with the fee`, { available: p.available, needed: p.needed })
}

/**
 * The HD wallet: keys sealed at rest, UTXOs in SQLite synced from the chain, coin
 * selection that never gives one output to two sends, and sends that count only once the
 * chain accepted them. Nothing a peer claims changes a balance: only the chain's listing
 * of our addresses does.
 */
export class WalletService implements Startable {
  private readonly repo: WalletRepository
  private readonly feeRate: number
  private readonly syncIntervalMs: number
  private readonly gapLimit: number
  private readonly concurrency: number
  private readonly log: Logger
  /** Sends between reservation and their own broadcast's answer (the resolver leaves them alone). */
  private readonly sending = new Set<string>()
  private keystore: Keystore
  private keys: WalletKeys | null = null
  private disposables = new Disposables()
  private syncing: Promise<boolean> | null = null
  private queuedSync: Promise<boolean> | null = null
  private deepRequested = false
  /** Bumped by restore: a sync that began before it must not write its findings. */
  private generation = 0
  private lastEmitted = ''
  private readonly sendsTotal
  private readonly syncFailures

  constructor(
    private readonly components: WalletServiceComponents,
    private readonly init: WalletServiceInit,
  ) {
    this.repo = new WalletRepository(components.store)
    this.feeRate = init.feeRateSatsPerKb ?? 100
    this.syncIntervalMs = init.syncIntervalMs ?? 10_000
    this.gapLimit = init.gapLimit ?? 10
    this.concurrency = init.syncConcurrency ?? 4
    this.log = components.logger
    if (!Number.isFinite(this.feeRate) || this.feeRate < 0) throw new WalletConfigError('feeRateSatsPerKb must be a non-negative number')
    this.keystore = init.keystore ?? (init.passphrase ? new PassphraseKeystore({ passphrase: init.passphrase, scryptLogN: init.scryptLogN }) : new PlainKeystore())
    if (init.network === 'mainnet' && this.keystore.protection === 'none') {
      throw new WalletConfigError('a mainnet wallet must be encrypted: give a passphrase (--passphrase-file or BSV_P2P_PASSPHRASE)')
    }
    this.sendsTotal = components.metrics.counter({ name: 'wallet_sends_total', help: 'Wallet sends by result', labelNames: ['result'] })
    this.syncFailures = components.metrics.counter({ name: 'wallet_sync_failures_total', help: 'Wallet syncs that could not reach the chain' })
  }

  get network(): Network {
    return this.init.network
  }

  get ready(): boolean {
    return this.keys !== null
  }

  async start(): Promise<void> {
    this.disposables = new Disposables()
    await this.openOrCreate()
    // A send that never got as far as signed bytes left only a reservation behind.
    for (const p of this.repo.pendingSends()) if (!p.rawHex) this.repo.abandonSend(p.sendId)
    const controller = this.disposables.abortController()
    this.disposables.interval(() => void this.syncQuietly(controller.signal), this.syncIntervalMs)
    // Changes the chain monitor sees (a new block, the chain coming back) trigger a sync.
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
    this.keys = null
  }

  chainHealth(): ChainHealth {
    return this.components.chain.monitor.health()
  }

  info(): WalletInfo {
    const current = this.keys ? this.repo.currentReceive() : null
    const balance = this.keys ? this.repo.balance() : { confirmed: 0, unconfirmed: 0 }
    return { network: this.init.network, address: current?.address ?? '', balance, ready: this.keys !== null }
  }

  async newAddress(): Promise<{ address: string }> {
    const keys = this.requireKeys()
    const { maxIssued } = this.repo.chainStats(0)
    const idx = maxIssued + 1
    const address = keys.address(0, idx)
    this.repo.insertAddress({ address, chain: 0, idx, issued: true })
    this.emitIfChanged()
    return { address }
  }

  /**
   * A fresh internal (change-chain) address for a payment channel's payout. The channel
   * engine asks only once a channel is funded, so proposals that never fund issue none and
   * a restore's gap limit covers every address that can hold coins.
   */
  async newChannelAddress(): Promise<{ address: string }> {
    const keys = this.requireKeys()
    const address = this.components.store.db.transaction(() => {
      const idx = this.repo.chainStats(1).maxIssued + 1
      const address = keys.address(1, idx)
      this.repo.insertAddress({ address, chain: 1, idx, issued: true })
      return address
    })()
    return { address }
  }

  /**
   * A send as it would be made now, made nowhere: the same address checks, coin selection
   * and fee model as `send`, over the coins available at this moment, reserving nothing
   * and writing nothing. With `max`, the most one send can pay (everything spendable less
   * the fee). Refuses as `send` would: a wrong address, not enough coins.
   */
  previewSend(params: { address?: string; sats?: number; max?: boolean }): { sats: number; feeSats: number; totalSats: number; spendableSats: number } {
    this.requireKeys()
    if (params.address !== undefined) parseAddress(params.address, this.init.network)
    const coins = this.repo.availableCoins()
    const spendableSats = coins.reduce((s, c) => s + c.satoshis, 0)
    if (params.max) {
      const most = maxSendable(coins, this.feeRate)
      if (!most.ok) throw notEnoughCoins(most)
      return { sats: most.sats, feeSats: most.fee, totalSats: most.sats + most.fee, spendableSats }
    }
    const sats = params.sats
    if (sats === undefined || !Number.isSafeInteger(sats) || sats <= 0) throw new ContractError('invalid_params', 'sats must be a positive whole number', { field: 'sats' })
    const selection = selectCoins(coins, sats, this.feeRate)
    if (!selection.ok) throw notEnoughCoins(selection)
    return { sats, feeSats: selection.fee, totalSats: sats + selection.fee, spendableSats }
  }

  /**
   * With a key, a retry follows the send its first attempt made: the chain took it (its
   * answer again), or it is still unconfirmed (`unavailable`, pending, as the first time).
   * Only a send that certainly never happened (refused, or never signed) is made again.
   */
  async send(params: { address: string; sats: number }, scope: IdempotencyScope | null = null): Promise<{ txid: string; sats: number; fee: number }> {
    const keys = this.requireKeys()
    const prior = scope?.prior
    if (prior?.kind === 'send' && prior.txid !== null) {
      const sent = this.repo.sentTransaction(prior.txid)
      if (sent) return sent
      if (this.repo.pendingSend(prior.sendId)) throw this.outcomeUnknown(prior.txid)
    }
    const to = parseAddress(params.address, this.init.network)
    if (!Number.isSafeInteger(params.sats) || params.sats <= 0) throw new ContractError('invalid_params', 'sats must be a positive whole number', { field: 'sats' })
    const sendId = randomUUID()
    // Selection, reservation and the send's record in one synchronous SQLite transaction:
    // no other send can see these coins as available in between.
    const plan = this.components.store.db.transaction(() => {
      const selection = selectCoins(this.repo.availableCoins(), params.sats, this.feeRate)
      if (!selection.ok) return selection
      if (!this.repo.reserve(selection.coins, sendId)) throw new Error('coin reservation raced')
      let change: { address: string; idx: number } | null = null
      if (selection.change > 0) {
        const idx = this.repo.chainStats(1).maxIssued + 1
        change = { address: keys.address(1, idx), idx }
        this.repo.insertAddress({ address: change.address, chain: 1, idx, issued: true })
      }
      this.repo.insertPendingSend({ sendId, address: to.address, sats: params.sats, fee: selection.fee, changeAddress: change?.address ?? null, changeSats: selection.change }, Date.now())
      scope?.bind({ kind: 'send', sendId, txid: null })
      return { ...selection, changeAddress: change }
    })()
    if (!plan.ok) {
      this.sendsTotal.inc({ result: 'insufficient_funds' })
      throw notEnoughCoins(plan)
    }
    this.sending.add(sendId)
    let signed: { rawHex: string; txid: string } | null = null
    try {
      const owned = new Map(this.repo.addresses().map((a) => [a.address, a]))
      const utxos = new Map(this.repo.utxos().map((u) => [`${u.txid}:${u.vout}`, u]))
      const inputs: SendInput[] = plan.coins.map((coin) => {
        const row = utxos.get(`${coin.txid}:${coin.vout}`)
        const addr = row ? owned.get(row.address) : undefined
        if (!row || !addr) throw new Error('a reserved coin has no key')
        return { txid: coin.txid, vout: coin.vout, satoshis: coin.satoshis, address: row.address, chain: addr.chain, idx: addr.idx }
      })
      signed = await buildSignedSend(keys, inputs, { pubkeyHash: to.pubkeyHash, sats: params.sats }, plan.changeAddress ? { address: plan.changeAddress.address, sats: plan.change } : null)
      // On disk before it leaves: from here on the payment may exist, whatever happens next.
      const txid = signed.txid
      const rawHex = signed.rawHex
      this.components.store.db.transaction(() => {
        this.repo.setPendingRaw(sendId, txid, rawHex)
        scope?.bind({ kind: 'send', sendId, txid })
      })()
      const { txid: accepted } = await this.components.chain.broadcaster.broadcast(signed.rawHex)
      if (accepted !== signed.txid) throw new Error(`the chain service answered with txid ${accepted}, expected ${signed.txid}`)
      this.completePending({ sendId, address: to.address, sats: params.sats, fee: plan.fee, changeAddress: plan.changeAddress?.address ?? null, changeSats: plan.change, txid: signed.txid })
      this.components.chain.monitor.reportOk()
      this.sendsTotal.inc({ result: 'ok' })
      this.log.info('sent', { txid: signed.txid, sats: params.sats, fee: plan.fee, inputs: plan.coins.length })
      this.emitIfChanged()
      return { txid: signed.txid, sats: params.sats, fee: plan.fee }
    } catch (err) {
      if (err instanceof BroadcastRejectedError) {
        this.repo.abandonSend(sendId)
        this.sendsTotal.inc({ result: 'rejected' })
        this.log.warn('send refused by the chain', { reason: err.reason, message: err.message })
        // Our view of the coins may be stale (spent elsewhere): look again.
        void this.syncQuietly()
        throw new ContractError('rejected', `the chain refused the transaction (${err.reason}): ${err.message}`, { reason: err.reason })
      }
      if (signed === null || (err instanceof ChainUnavailableError && !err.maybeDelivered)) {
        this.repo.abandonSend(sendId)
        if (err instanceof ChainUnavailableError) {
          this.sendsTotal.inc({ result: 'unavailable' })
          this.components.chain.monitor.reportUnavailable(err)
          throw new ContractError('unavailable', 'the chain service is unreachable; nothing was sent, try again later')
        }
        this.sendsTotal.inc({ result: 'error' })
        throw err
      }
      // The transaction may have reached the network. Releasing its coins now could let a
      // retry pay twice, so they stay reserved and the same bytes are sent again on every
      // sync until the chain takes or refuses them.
      this.sendsTotal.inc({ result: 'pending' })
      if (err instanceof ChainUnavailableError) this.components.chain.monitor.reportUnavailable(err)
      this.log.warn('send outcome unknown; kept pending', { txid: signed.txid, err })
      throw this.outcomeUnknown(signed.txid)
    } finally {
      this.sending.delete(sendId)
    }
  }

  private outcomeUnknown(txid: string): ContractError {
    return new ContractError(
      'unavailable',
      `the chain service did not confirm the payment (txid ${txid}); it may already have gone through. Do not pay again: the wallet keeps these coins aside and sends this same transaction again until the chain takes or refuses it.`,
      { txid, pending: true },
    )
  }

  private completePending(p: Omit<PendingSend, 'rawHex' | 'txid'> & { txid: string }): void {
    this.repo.completeSend(
      p.sendId,
      {
        txid: p.txid,
        sats: p.sats,
        fee: p.fee,
        address: p.address,
        change: p.changeAddress ? { txid: p.txid, vout: 1, satoshis: p.changeSats, height: null, address: p.changeAddress } : null,
      },
      Date.now(),
    )
  }

  /**
   * Sends whose outcome is unknown: the same bytes again. Accepted (or already on the
   * chain): done. Refused and unknown to the chain: it never happened, the coins are free.
   * The chain still away: next time.
   */
  private async resolvePendingSends(signal?: AbortSignal): Promise<void> {
    for (const p of this.repo.pendingSends()) {
      if (this.sending.has(p.sendId) || !p.rawHex || !p.txid) continue
      const txid = p.txid
      try {
        await this.components.chain.broadcaster.broadcast(p.rawHex, signal)
      } catch (err) {
        if (!(err instanceof BroadcastRejectedError)) return
        const status = await this.components.chain.lookup.txStatus(txid, signal).catch(() => undefined)
        if (status === undefined) return
        if (status === null) {
          this.repo.abandonSend(p.sendId)
          this.sendsTotal.inc({ result: 'rejected' })
          this.log.warn('a send whose outcome was unknown was refused by the chain; its coins are free again', { txid, reason: err.reason })
          continue
        }
      }
      this.completePending({ ...p, txid })
      this.sendsTotal.inc({ result: 'ok' })
      this.log.info('a send whose outcome was unknown is on the chain', { txid, sats: p.sats })
    }
  }

  /**
   * The private key of payment channel number `index`, derived from the wallet seed on
   * demand (never stored): a restored wallet can still sign for its channels.
   */
  channelPrivateKey(index: number): Uint8Array {
    if (!Number.isSafeInteger(index) || index < 0 || index >= 0x80000000) throw new RangeError('channel key index out of range')
    return Uint8Array.from(this.requireKeys().channelPrivateKey(index).toArray('be', 32))
  }

  /** The key sealing the channel backup file, and whose wallet it is (its first receive address); null while no wallet is open. */
  channelBackupSecret(): { key: Uint8Array; wallet: string } | null {
    if (!this.keys) return null
    return { key: this.keys.secretFor('channel backup'), wallet: this.keys.address(0, 0) }
  }

  /** Where `address` sits in this wallet's keys, or null when it is not one of its addresses. */
  addressPath(address: string): { chain: AddressChain; idx: number } | null {
    return this.repo.addressPath(address)
  }

  /**
   * Addresses a restored channel pays to: watched (and kept out of new issues) from now on,
   * so the settlement or refund counts in the balance however far past the gap limit they
   * are. Refused whole if one is not this wallet's own.
   */
  adoptAddresses(list: readonly { address: string; chain: AddressChain; idx: number }[]): void {
    const keys = this.requireKeys()
    for (const a of list) if (keys.address(a.chain, a.idx) !== a.address) throw new ContractError('invalid_params', `address ${a.address} is not this wallet's (chain ${a.chain}, index ${a.idx})`)
    this.components.store.db.transaction(() => {
      for (const a of list) this.repo.insertAddress({ ...a, issued: true })
    })()
  }

  /**
   * Coins for a channel's funding tx, reserved (same rules as a send: selection and
   * reservation in one SQLite transaction), with their keys and a fresh change address.
   * The caller builds and broadcasts the tx, then calls completeChannelFunding, or
   * releaseChannelFunding when it was not broadcast.
   */
  reserveForChannel(params: { capacitySats: number; feeRateSatsPerKb: number }): ChannelFundingReservation {
    const keys = this.requireKeys()
    if (!Number.isSafeInteger(params.capacitySats) || params.capacitySats <= 0) throw new ContractError('invalid_params', 'capacitySats must be a positive whole number', { field: 'capacitySats' })
    const reservationId = randomUUID()
    // The multisig output is 46 bytes larger than the P2PKH output the selection assumes.
    const margin = Math.ceil((64 * params.feeRateSatsPerKb) / 1000) + 1
    const plan = this.components.store.db.transaction(() => {
      const selection = selectCoins(this.repo.availableCoins(), params.capacitySats + margin, Math.max(this.feeRate, params.feeRateSatsPerKb))
      if (!selection.ok) return selection
      if (!this.repo.reserve(selection.coins, reservationId)) throw new Error('coin reservation raced')
      const idx = this.repo.chainStats(1).maxIssued + 1
      const changeAddress = keys.address(1, idx)
      this.repo.insertAddress({ address: changeAddress, chain: 1, idx, issued: true })
      return { ...selection, changeAddress }
    })()
    if (!plan.ok) throw notEnoughCoins(plan)
    const owned = new Map(this.repo.addresses().map((a) => [a.address, a]))
    const utxos = new Map(this.repo.utxos().map((u) => [`${u.txid}:${u.vout}`, u]))
    const coins = plan.coins.map((coin) => {
      const row = utxos.get(`${coin.txid}:${coin.vout}`)
      const addr = row ? owned.get(row.address) : undefined
      if (!row || !addr) {
        this.repo.release(reservationId)
        throw new Error('a reserved coin has no key')
      }
      return { txid: coin.txid, vout: coin.vout, satoshis: coin.satoshis, privateKey: Uint8Array.from(keys.privateKey(addr.chain, addr.idx).toArray('be', 32)) }
    })
    return { reservationId, coins, changeAddress: plan.changeAddress }
  }

  /** The funding tx was accepted by the chain: its coins are spent, its change is ours. */
  completeChannelFunding(reservationId: string, tx: { txid: string; capacitySats: number; feeSats: number; changeSats: number; changeAddress: string; fundingAddress: string }): void {
    this.repo.completeSend(
      reservationId,
      {
        txid: tx.txid,
        sats: tx.capacitySats,
        fee: tx.feeSats,
        address: tx.fundingAddress,
        change: tx.changeSats > 0 ? { txid: tx.txid, vout: 1, satoshis: tx.changeSats, height: null, address: tx.changeAddress } : null,
      },
      Date.now(),
    )
    this.emitIfChanged()
  }

  /** The funding tx never left: its coins are available again. */
  releaseChannelFunding(reservationId: string): void {
    this.repo.release(reservationId)
  }

  listTransactions(params: { limit: number; before?: number }): WalletTransaction[] {
    this.requireKeys()
    return this.repo.transactions(params.limit, params.before)
  }

  async backupWallet(params: { passphrase: string }): Promise<{ mnemonic: string }> {
    this.requireKeys()
    const row = this.repo.keys()
    if (!row) throw new ContractError('invalid_state', 'the wallet has no keys')
    const kind = sealedKind(row.sealed)
    if (kind === 'passphrase') {
      try {
        const opened = await new PassphraseKeystore({ passphrase: params.passphrase || ' ' }).open(row.sealed)
        return { mnemonic: Buffer.from(opened).toString('utf8') }
      } catch (err) {
        if (err instanceof WrongPassphraseError) throw new ContractError('wrong_passphrase', 'wrong passphrase: the recovery words stay hidden')
        throw err
      }
    }
    // Unencrypted (devnet/testnet only) or sealed by the OS keychain: the OS account is the gate.
    this.log.warn('recovery words revealed for a wallet without a passphrase', { protection: kind })
    return { mnemonic: Buffer.from(await this.keystore.open(row.sealed)).toString('utf8') }
  }

  async restoreWallet(params: { mnemonic: string; passphrase?: string }): Promise<WalletInfo> {
    const mnemonic = assertValidMnemonic(params.mnemonic)
    if (this.repo.countReserved() > 0) throw new ContractError('conflict', 'a send is in flight; restore when it has finished')
    const keystore = params.passphrase ? new PassphraseKeystore({ passphrase: params.passphrase, scryptLogN: this.init.scryptLogN }) : this.keystore
    if (this.init.network === 'mainnet' && keystore.protection === 'none') throw new ContractError('invalid_params', 'a mainnet wallet must be encrypted: give a passphrase', { field: 'passphrase' })
    const keys = new WalletKeys(mnemonic, this.init.network)
    const sealed = await keystore.seal(Buffer.from(mnemonic, 'utf8'))
    if (this.repo.countReserved() > 0) throw new ContractError('conflict', 'a send is in flight; restore when it has finished')
    this.generation++
    this.repo.replaceWallet(this.init.network, sealed, keystore.protection, [{ address: keys.address(0, 0), chain: 0, idx: 0, issued: true }])
    this.keystore = keystore
    this.keys = keys
    this.log.info('wallet restored from a recovery phrase')
    await this.sync(undefined, { deep: true }).catch((err: unknown) => this.log.warn('sync after restore failed; it will be retried', { err }))
    this.emitIfChanged(true)
    return this.info()
  }

  /**
   * One sync: look up every watched address, then write what the chain says in one
   * transaction; repeat while new used addresses widen the gap window. Resolves true when
   * something changed; throws ChainUnavailableError when the chain cannot be reached.
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

  private async syncQuietly(signal?: AbortSignal): Promise<void> {
    try {
      await this.sync(signal)
    } catch (err) {
      if (signal?.aborted) return
      this.log.debug('sync failed', { err })
    }
  }

  private async runSync(signal: AbortSignal | undefined, deep: boolean): Promise<boolean> {
    if (!this.keys) return false
    const generation = this.generation
    let changed = false
    await this.resolvePendingSends(signal)
    for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
      this.ensureGap()
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
          this.components.chain.lookup,
          watched.map((a) => a.address),
          this.concurrency,
          signal,
        )
        // After a restore, an address whose coins are all spent still counts as used:
        // only its history tells, so a deep sync asks for it.
        if (deep) usedByHistory = await usedByHistoryOf(this.components.chain.lookup, watched.filter((a) => !a.used && !listed.some((o) => o.address === a.address)).map((a) => a.address), signal)
      } catch (err) {
        if (!signal?.aborted) {
          this.syncFailures.inc()
          this.components.chain.monitor.reportUnavailable(err)
        }
        throw err
      }
      const spentBy = new Map(this.repo.utxos().flatMap((u) => (u.state === 'spent' && u.spentBy ? [[`${u.txid}:${u.vout}`, u.spentBy] as const] : [])))
      const revived = await unknownSpenders(this.components.chain.lookup, spentBy, listed, signal)
      if (generation !== this.generation || !this.keys) return changed
      if (this.repo.applySync(listed, startedAt, revived, usedByHistory)) changed = true
      this.components.chain.monitor.reportOk()
      const before = all.length
      this.ensureGap()
      if (this.repo.addresses().length === before) break
    }
    await this.confirmSends(signal)
    this.emitIfChanged()
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

  /** Keep `gapLimit` unused addresses beyond the last used one on each chain, and a fresh current receive address. */
  private ensureGap(): void {
    const keys = this.keys
    if (!keys) return
    this.components.store.db.transaction(() => {
      for (const chain of [0, 1] as AddressChain[]) {
        const { maxIdx, maxUsed } = this.repo.chainStats(chain)
        for (let idx = maxIdx + 1; idx <= maxUsed + this.gapLimit; idx++) this.repo.insertAddress({ address: keys.address(chain, idx), chain, idx, issued: false })
      }
      const current = this.repo.currentReceive()
      const { maxUsed } = this.repo.chainStats(0)
      // The receive address moves on once it has been paid (fresh address per payment);
      // after a restore, it is the one after the last used.
      if (!current || current.used || current.idx < maxUsed) {
        const idx = Math.max(current?.idx ?? -1, maxUsed) + 1
        this.repo.insertAddress({ address: keys.address(0, idx), chain: 0, idx, issued: true })
      }
    })()
  }

  private async openOrCreate(): Promise<void> {
    const row = this.repo.keys()
    if (!row) {
      if (this.keystore.protection === 'none') this.log.warn('the wallet is NOT encrypted: anyone who can read the data dir can spend its coins', { network: this.init.network })
      const mnemonic = generateMnemonic()
      const keys = new WalletKeys(mnemonic, this.init.network)
      const sealed = await this.keystore.seal(Buffer.from(mnemonic, 'utf8'))
      this.repo.replaceWallet(this.init.network, sealed, this.keystore.protection, [{ address: keys.address(0, 0), chain: 0, idx: 0, issued: true }])
      this.keys = keys
      this.log.info('new wallet created', { network: this.init.network, protection: this.keystore.protection })
      return
    }
    if (row.network !== this.init.network) throw new WalletConfigError(`this data dir holds a ${row.network} wallet; the engine runs on ${this.init.network}`)
    const kind = sealedKind(row.sealed)
    if (kind === 'passphrase' && this.keystore.protection !== 'passphrase') throw new WalletLockedError('the wallet is encrypted: give its passphrase (--passphrase-file or BSV_P2P_PASSPHRASE)')
    if (kind === 'plain' && this.init.network === 'mainnet') throw new WalletConfigError('this mainnet wallet is stored unencrypted; refusing to use it')
    if (kind === 'os' && this.keystore.protection !== 'os') throw new WalletLockedError('the wallet is sealed by the OS keychain of the desktop app')
    // Opening an unencrypted wallet needs no key; a passphrase given now encrypts it.
    const opener = kind === 'plain' ? new PlainKeystore() : this.keystore
    const mnemonic = Buffer.from(await opener.open(row.sealed)).toString('utf8')
    const keys = new WalletKeys(assertValidMnemonic(mnemonic), this.init.network)
    if (kind === 'plain' && this.keystore.protection !== 'none') {
      this.repo.reseal(await this.keystore.seal(Buffer.from(mnemonic, 'utf8')), this.keystore.protection)
      this.log.info('the wallet is now encrypted')
    }
    this.keys = keys
  }

  private requireKeys(): WalletKeys {
    if (!this.keys) throw new ContractError('invalid_state', 'the wallet is not open')
    return this.keys
  }

  private emitIfChanged(force = false): void {
    const info = this.info()
    const text = JSON.stringify(info)
    if (!force && text === this.lastEmitted) return
    this.lastEmitted = text
    this.components.events.emit('wallet', info)
  }
}
