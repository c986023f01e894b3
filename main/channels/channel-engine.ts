// The channel engine: opens, pays through, closes and recovers Spilman payment channels
// (docs/architecture.md "Payment channels", docs/protocol.md, docs/security.md). It wires
// the parts: the book (typed records, committed before anything leaves), the mailbox (one
// operation at a time per channel), the payer's and payee's protocol state machines, and
// the chain watch (decideChainAction's decisions carried out).
import { ARCHIVABLE_STATES, CHANNEL_HISTORY_MAX, type Channel, type ChannelPayment, ContractError, type WalletTransaction } from '../../shared/contract/index.js'
import type { ChainBroadcaster, ChainLookup } from '../chain/index.js'
import type { Network } from '../config/index.js'
import { Disposables, type EventBus, ListenerSet, type Startable } from '../kit/index.js'
import type { IdempotencyScope } from '../idempotency/index.js'
import type { Libp2pNode } from '../p2p/index.js'
import { type PeerWatch, isConnected, probePeer } from '../p2p/index.js'
import { type Store, isDiskFault } from '../store/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { ChannelBackupError, type ChannelBackupContent, openChannelBackup } from './channel-backup-file.js'
import { ChannelBackupKeeper } from './channel-backup-keeper.js'
import { ChannelBook, PROBLEM_CODES, type ProblemCode } from './channel-book.js'
import { ChannelKeys } from './channel-keys.js'
import { ChannelMailbox } from './channel-mailbox.js'
import { toPayment } from './channel-repository.js'
import { ChannelTx } from './channel-tx.js'
import type { ChainPolicy } from './chain-decision.js'
import { ChainTip } from './chain-tip.js'
import { ChainWatch } from './chain-watch.js'
import { PayeeSide } from './payee-side.js'
import { PayerSide, type PayerWallet } from './payer-side.js'
import { SignatureScheduler } from './signature-scheduler.js'
import { ProposalLimits } from './proposal-limits.js'
import { CHANNEL_PROTOCOL, ChannelLink, ChannelRefusal, type ChannelRequest, serveChannelStream } from './protocol.js'
import { type ChannelRecord, type FundedChannel, type PayeeClosing, type PayerClosing, isFunded } from './records.js'
import { type BackendName, type SignatureBackend, lazyBackend, libsecp256k1Unavailable, selectBackend } from './signer.js'
import { CHANNEL_STATUSES, type ChannelStatus } from './state-machine.js'
import { asContractError, wireCodeOf } from './wire-errors.js'

/** What the engine needs of the wallet (WalletService has it). */
interface ChannelWallet extends PayerWallet {
  readonly ready: boolean
  channelPrivateKey(index: number): Uint8Array
  /** A fresh address of the wallet's own, for a channel's payout (issued only once a channel is funded). */
  newChannelAddress(): Promise<{ address: string }>
  /** The key sealing the channel backup file and whose wallet it is; null while no wallet is open. */
  channelBackupSecret(): { key: Uint8Array; wallet: string } | null
  addressPath(address: string): { chain: 0 | 1; idx: number } | null
  /** Addresses of restored channels, watched from now on; refused whole if one is not the wallet's. */
  adoptAddresses(list: readonly { address: string; chain: 0 | 1; idx: number }[]): void
}

/** What restoring a channel backup did. */
export interface ChannelRestoreResult {
  /** Channels this database did not have, now closing out on chain. */
  restored: number
  /** Payee channels the file held a newer settlement for. */
  updated: number
  /** Channels already here as new as in the file, or ended. */
  unchanged: number
  /** When the file was written (ms since the epoch). */
  writtenAt: number
}

/** How often the set of payees kept within reach is brought up to date. */
const PAYEES_WANTED_EVERY_MS = 2_000
const WATCH_HOLDER = 'channels'
/** channel_payment_seconds: 0.5 ms to 30 s, dense where one payment's round trip lies. */
export const PAYMENT_SECONDS_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export interface ChannelEngineComponents {
  store: Store
  logger: Logger
  metrics: Metrics
  events: EventBus
  node: { readonly libp2p: Libp2pNode }
  /** Who can be reached (shared with messaging); without one, a peer is probed with a dial of our own. */
  watch?: () => Pick<PeerWatch, 'probe' | 'want' | 'release'> | null
  wallet: ChannelWallet
  chain: { broadcaster: ChainBroadcaster; lookup: ChainLookup }
}

export interface ChannelEngineInit {
  /** Checked addresses (checksum and version) and default confirmation policy follow it. */
  network: Network
  policy?: {
    /** Incoming channels up to this capacity are accepted at once; larger ones wait for acceptChannel (default 10,000,000 sat). */
    autoAcceptMaxSats?: number
  }
  /** Confirmations of the funding before the payee accepts payments (default 1 on mainnet, 0 elsewhere). */
  minFundingConfirmations?: number
  /** Channels up to this capacity may open at 0 confirmations even so (default 0 on mainnet, any elsewhere). */
  zeroConfMaxSats?: number
  /** Unfunded proposals one peer may have with us (default 8). */
  maxPendingProposalsPerPeer?: number
  /** Unfunded proposals of all peers (default 256). */
  maxPendingProposals?: number
  /** An unfunded proposal is dropped after this long (default 30 min). */
  proposalTimeoutMs?: number
  /** Expiry of a new channel, in blocks from now (default 144). */
  defaultExpiryBlocks?: number
  /** The payee settles this many blocks before expiry (default 6). */
  closeMarginBlocks?: number
  feeRateSatsPerKb?: number
  /** Signed states in flight per channel (default 32). */
  window?: number
  requestTimeoutMs?: number
  payTimeoutMs?: number
  /**
   * Payments whose callers wait for an acknowledgement, on one channel (default 10,000) and
   * in all (default 50,000); past either a payment is refused `rate_limited`. Each holds
   * its promise, timer and record until acknowledged, so a caller that fires payments
   * without waiting (a flooding page, a runaway script) would otherwise grow memory without
   * end; a channel's capacity counts sats, not payments.
   */
  maxWaitingPayments?: number
  maxWaitingPaymentsTotal?: number
  /** Reaching a peer that is not connected, before a payment, an open or a close (default 3 s). */
  reachTimeoutMs?: number
  /** How often channels are checked against the chain (default 5 s). */
  chainPollMs?: number
  /** A failed chain action (a settlement, a refund) is retried after a backoff from this (default chainPollMs) ... */
  chainRetryBaseMs?: number
  /** ... to at most this (default 5 min). */
  chainRetryMaxMs?: number
  backend?: BackendName
  /** The channel backup file (channel-backup-keeper.ts): where it is kept and how often a payee's settlement reaches it; none without. */
  backup?: { paths: readonly string[]; settlementEveryMs?: number }
}

export type ResolvedChannelOptions = Required<Omit<ChannelEngineInit, 'policy' | 'backend' | 'backup'>> & { autoAcceptMaxSats: number }

function resolveChannelOptions(init: ChannelEngineInit): ResolvedChannelOptions {
  const mainnet = init.network === 'mainnet'
  return {
    network: init.network,
    autoAcceptMaxSats: init.policy?.autoAcceptMaxSats ?? 10_000_000,
    minFundingConfirmations: init.minFundingConfirmations ?? (mainnet ? 1 : 0),
    zeroConfMaxSats: init.zeroConfMaxSats ?? (mainnet ? 0 : Number.MAX_SAFE_INTEGER),
    maxPendingProposalsPerPeer: init.maxPendingProposalsPerPeer ?? 8,
    maxPendingProposals: init.maxPendingProposals ?? 256,
    proposalTimeoutMs: init.proposalTimeoutMs ?? 30 * 60_000,
    defaultExpiryBlocks: init.defaultExpiryBlocks ?? 144,
    closeMarginBlocks: init.closeMarginBlocks ?? 6,
    feeRateSatsPerKb: init.feeRateSatsPerKb ?? 100,
    window: init.window ?? 32,
    requestTimeoutMs: init.requestTimeoutMs ?? 10_000,
    payTimeoutMs: init.payTimeoutMs ?? 30_000,
    maxWaitingPayments: init.maxWaitingPayments ?? 10_000,
    maxWaitingPaymentsTotal: init.maxWaitingPaymentsTotal ?? 50_000,
    reachTimeoutMs: init.reachTimeoutMs ?? 3_000,
    chainPollMs: init.chainPollMs ?? 5_000,
    chainRetryBaseMs: init.chainRetryBaseMs ?? init.chainPollMs ?? 5_000,
    chainRetryMaxMs: init.chainRetryMaxMs ?? 5 * 60_000,
  }
}

/** A channel problem as health reports it. */
export interface ChannelProblemReport {
  channelId: string
  code: ProblemCode
  message: string
}

export class ChannelEngine implements Startable {
  readonly opts: ResolvedChannelOptions
  readonly backend: SignatureBackend
  readonly book: ChannelBook
  readonly tx: ChannelTx
  readonly payer: PayerSide
  readonly payee: PayeeSide
  private readonly mailbox = new ChannelMailbox()
  /** Turns at signing (payer) and verifying (payee) for all channels: none starves another. */
  private readonly turns = new SignatureScheduler((err) => this.log.error('a channel\'s turn at signature work failed', { err }))
  private readonly keys: ChannelKeys
  private readonly tip: ChainTip
  private readonly watch: ChainWatch
  private readonly links = new Map<string, ChannelLink>()
  private readonly backup: ChannelBackupKeeper | null
  private disposables = new Disposables()
  private running = false
  private readonly log: Logger
  private readonly m

  constructor(
    readonly components: ChannelEngineComponents,
    init: ChannelEngineInit,
  ) {
    this.opts = resolveChannelOptions(init)
    this.log = components.logger
    this.backend = init.backend
      ? selectBackend(init.backend)
      : lazyBackend((chosen) => {
          const noAddon = chosen.name === 'libsecp256k1' ? null : libsecp256k1Unavailable()
          this.log.info('signature backend', { backend: chosen.name, ...(noAddon ? { libsecp256k1: 'did not load', err: noAddon } : {}) })
        })
    this.book = new ChannelBook({ store: components.store, events: components.events, logger: components.logger })
    this.tx = new ChannelTx(this.backend)
    this.keys = new ChannelKeys((i) => components.wallet.channelPrivateKey(i), this.backend)
    this.tip = new ChainTip(components.chain.lookup)
    const metrics = components.metrics
    this.m = {
      payments: metrics.counter({ name: 'channel_payments_total', help: 'Channel payments by role', labelNames: ['role'] }),
      sats: metrics.counter({ name: 'channel_payment_sats_total', help: 'Satoshis paid through channels, by role', labelNames: ['role'] }),
      // Beside channel_payments_total: how many payments each signature carried (coalescing under load).
      settlements: metrics.counter({ name: 'channel_settlements_total', help: 'Settlements signed (payer) or verified and stored (payee); one may cover several payments', labelNames: ['role'] }),
      states: metrics.gauge({ name: 'channels', help: 'Channels by state', labelNames: ['state'] }),
      refused: metrics.counter({ name: 'channel_refused_total', help: 'Channel frames refused, by frame kind and wire code (framing and schema: before a handler)', labelNames: ['frame', 'code'] }),
      failures: metrics.counter({ name: 'channel_chain_action_failures_total', help: 'Failed channel chain actions, by action (retried with backoff)', labelNames: ['action'] }),
      problems: metrics.gauge({ name: 'channel_problems', help: 'Channels with a problem their owner must see, by problem', labelNames: ['code'] }),
      recovered: metrics.counter({ name: 'channel_backup_recovered_total', help: 'Channels the database had lost (or held at an older settlement) and the channel backup file gave back at start' }),
      violations: metrics.counter({ name: 'channel_peer_violations_total', help: 'Answers of a payee caught lying or breaking the protocol, by kind', labelNames: ['kind'] }),
      // Sub-millisecond buckets: a sequential payment takes about 2 ms on one channel.
      paySeconds: metrics.histogram({ name: 'channel_payment_seconds', help: 'From pay to the payee acknowledging a durable signed settlement covering it (payments that failed are not observed)', buckets: PAYMENT_SECONDS_BUCKETS }),
    }
    const policy: ChainPolicy = {
      closeMarginBlocks: this.opts.closeMarginBlocks,
      proposalTimeoutMs: this.opts.proposalTimeoutMs,
      requiredConfirmations: (capacity) => (capacity <= this.opts.zeroConfMaxSats ? 0 : this.opts.minFundingConfirmations),
      endConfirmations: Math.max(1, this.opts.minFundingConfirmations),
    }
    const wallet = components.wallet
    this.backup = init.backup
      ? new ChannelBackupKeeper({ logger: components.logger.child('backup'), metrics, snapshot: () => this.backupSnapshot() }, { paths: init.backup.paths, ...(init.backup.settlementEveryMs === undefined ? {} : { settlementEveryMs: init.backup.settlementEveryMs }) })
      : null
    const newPayoutAddress = async (): Promise<string> => (await wallet.newChannelAddress()).address
    const link = (peerId: string): ChannelLink => this.link(peerId)
    this.payer = new PayerSide(
      {
        book: this.book, mailbox: this.mailbox, keys: this.keys, tx: this.tx, tip: this.tip, wallet, chain: components.chain, newPayoutAddress, link,
        reach: (peerId, timeoutMs) => this.reach(peerId, timeoutMs),
        secured: () => this.secureBackup(),
        connected: (peerId) => isConnected(components.node.libp2p, peerId),
        ownPeerId: () => components.node.libp2p.peerId.toString(), turns: this.turns, countPayment: (sats) => this.countPayment('payer', sats), countSettlement: () => this.m.settlements.inc({ role: 'payer' }), violation: (kind) => this.m.violations.inc({ kind }), log: this.log,
      },
      { network: this.opts.network, feeRateSatsPerKb: this.opts.feeRateSatsPerKb, defaultExpiryBlocks: this.opts.defaultExpiryBlocks, closeMarginBlocks: this.opts.closeMarginBlocks, window: this.opts.window, payTimeoutMs: this.opts.payTimeoutMs, reachTimeoutMs: this.opts.reachTimeoutMs, maxWaitingPayments: this.opts.maxWaitingPayments, maxWaitingPaymentsTotal: this.opts.maxWaitingPaymentsTotal },
    )
    this.payee = new PayeeSide(
      {
        book: this.book, mailbox: this.mailbox, keys: this.keys, tx: this.tx, tip: this.tip, broadcaster: components.chain.broadcaster,
        limits: new ProposalLimits(this.book, { perPeer: this.opts.maxPendingProposalsPerPeer, total: this.opts.maxPendingProposals }),
        newPayoutAddress, link, verify: (c) => this.watch.verify(c), turns: this.turns, countPayment: (sats) => this.countPayment('payee', sats), countSettlement: () => this.m.settlements.inc({ role: 'payee' }), log: this.log,
      },
      { network: this.opts.network, policy, autoAcceptMaxSats: this.opts.autoAcceptMaxSats, minFeeRateSatsPerKb: this.opts.feeRateSatsPerKb },
    )
    this.watch = new ChainWatch(
      {
        book: this.book, mailbox: this.mailbox, lookup: components.chain.lookup, broadcaster: components.chain.broadcaster, tip: this.tip, tx: this.tx,
        payer: this.payer, payee: this.payee,
        releaseFunding: (id) => wallet.releaseChannelFunding(id),
        completeFunding: (reservationId, channelId, txid, capacitySats) => wallet.completeChannelFunding(reservationId, { txid, capacitySats, feeSats: 0, changeSats: 0, changeAddress: '', fundingAddress: `channel:${channelId}` }),
        failures: this.m.failures,
        log: this.log,
      },
      { policy, retryBaseMs: this.opts.chainRetryBaseMs, retryMaxMs: this.opts.chainRetryMaxMs },
    )
    this.book.onEnded = (c) => this.forget(c)
    // Payer amounts are not needed to recover (the refund covers them): only a payee's settlement is.
    this.book.onChanged = (c, kind) => {
      if (kind === 'state' || c.role === 'payee') this.backup?.changed(kind === 'state')
    }
    this.book.onProblemsChanged = () => this.updateProblemGauge()
  }

  async start(): Promise<void> {
    this.disposables = new Disposables()
    this.turns.start()
    this.book.load()
    this.releaseUnheldFundings()
    // Before the first write replaces the file: the database must not be behind it.
    await this.reconcileWithBackup()
    await this.backup?.start()
    const libp2p = this.components.node.libp2p
    await libp2p.handle(
      CHANNEL_PROTOCOL,
      (stream, connection) =>
        serveChannelStream(stream, connection, (peerId, req) => this.onRequest(peerId, req), {
          onBadFrame: (_peerId, why) => this.m.refused.inc({ frame: 'unknown', code: why }),
          toWireCode: (err) => (err instanceof ChannelRefusal ? err.code : (wireCodeOf(err) ?? 'internal')),
          afterFrames: () => this.book.commit.flush(),
        }),
      { runOnLimitedConnection: true },
    )
    this.disposables.add(() => libp2p.unhandle(CHANNEL_PROTOCOL))
    // A peer back on line: its channels' unacknowledged states go out now, not after the backoff.
    const onConnect = (evt: CustomEvent<{ toString(): string }>): void => this.payer.kick(evt.detail.toString())
    libp2p.addEventListener('peer:connect', onConnect)
    this.disposables.add(() => libp2p.removeEventListener('peer:connect', onConnect))
    this.running = true
    this.updateGauge()
    for (const c of this.book.values()) if (c.role === 'payer' && c.state === 'open') this.payer.resume(c)
    this.watch.start()
    this.disposables.add(() => this.watch.stop())
    this.disposables.interval(() => void this.watch.check(), this.opts.chainPollMs)
    void this.watch.check()
    this.disposables.interval(() => this.keepPayeesWanted(), PAYEES_WANTED_EVERY_MS)
    this.keepPayeesWanted()
    this.disposables.add(() => this.keepPayeesWanted(true))
  }

  /**
   * Coins a funding reserved stay reserved only while that funding may be on chain: from
   * its refund's signature on. A payer killed after its wallet reserved them and before the
   * channel's record named the reservation left them reserved with nothing to release them
   * (the wallet could never spend them again); one killed at `built` is failed and released
   * by the chain watch, but only after opens may have been refused for want of coins. So,
   * before any funding can start, every other reservation is freed (sends keep theirs).
   */
  private releaseUnheldFundings(): void {
    let freed: number
    try {
      freed = this.components.wallet.releaseUnheldChannelFundings(this.book.repo.heldFundingReservations())
    } catch (err) {
      // A disk that refuses the write (full) must not keep the engine from starting: the
      // coins stay reserved, as before, and the next start that can write frees them.
      this.log.warn('coins a killed channel funding left reserved could not be freed; they stay unspendable until a start that can write', { err })
      return
    }
    if (freed > 0) this.log.info('coins reserved by a channel funding interrupted before it was built are spendable again', { coins: freed })
  }

  /** Payees of our open channels, as last handed to the PeerWatch. */
  private wantedPayees = new Set<string>()

  /**
   * The payees of our open channels are kept within reach: one that drops is tried again
   * at once and then with backoff, so its reachability is known (and shown) before the
   * user pays, and its unacknowledged states go out as soon as it is back.
   */
  private keepPayeesWanted(releaseAll = false): void {
    const watch = this.components.watch?.() ?? null
    if (!watch) return
    const now = new Set<string>()
    if (!releaseAll) for (const c of this.book.values()) if (c.role === 'payer' && c.state === 'open') now.add(c.peerId)
    for (const peerId of now) if (!this.wantedPayees.has(peerId)) watch.want(peerId, WATCH_HOLDER)
    for (const peerId of this.wantedPayees) if (!now.has(peerId)) watch.release(peerId, WATCH_HOLDER)
    this.wantedPayees = now
  }

  async stop(): Promise<void> {
    this.running = false
    this.watch.stop()
    this.payer.stop()
    this.turns.stop()
    for (const l of this.links.values()) l.close()
    this.links.clear()
    await this.disposables.dispose()
    // Operations in flight end quickly once their links are closed; their writes are committed below.
    await this.mailbox.idle(5_000)
    this.book.commit.flush()
    await this.backup?.stop()
    this.keys.clear()
  }

  get isRunning(): boolean {
    return this.running
  }

  // ---- queries ----

  /** The channels not archived, or with `archived` only the archived ones; newest first. */
  list(filter: { archived?: boolean } = {}): Channel[] {
    const archived = this.book.repo.archived()
    const wantArchived = filter.archived === true
    // Live records win over their rows: they may be ahead of the disk by a group commit.
    const live = new Map([...this.book.values()].map((c) => [c.id, c]))
    const rows = this.book.repo.all((err) => this.log.error('a stored channel does not fit its state', { err })).filter((c) => !live.has(c.id))
    return [...live.values(), ...rows]
      .filter((c) => archived.has(c.id) === wantArchived)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((c) => this.book.view(c, archived.get(c.id) ?? null))
  }

  /**
   * Hides an ended channel from the listing; it stays on disk with its payments (and the
   * wallet keeps its transactions). A live one is refused: its coins still need watching.
   * Run in the channel's mailbox, so it cannot race a last state change.
   */
  async archive(id: string): Promise<Channel> {
    this.requireRunning()
    return this.mailbox.run(id, async () => {
      const c = this.require(id)
      if (!(ARCHIVABLE_STATES as readonly string[]).includes(c.state)) {
        throw new ContractError('invalid_state', `only an ended channel can be archived; this one is ${c.state}`, { reason: 'channel-live', state: c.state })
      }
      const view = await this.book.archive(id)
      if (!view) throw new ContractError('not_found', 'no such channel')
      this.log.info('channel archived', { channelId: id, state: c.state })
      return view
    })
  }

  /**
   * Wallet transactions with the channel each one funded, settled or refunded (archived
   * channels too): the history names the peer and the channel instead of a bare txid.
   */
  describeTransactions(txs: WalletTransaction[]): WalletTransaction[] {
    const kinds = new Map<string, NonNullable<WalletTransaction['channel']>>()
    for (const c of this.book.repo.byTxids(txs.map((t) => t.txid))) {
      if (c.fundingTxid) kinds.set(c.fundingTxid, { id: c.id, peerId: c.peerId, kind: 'funding' })
      if (c.settlementTxid) kinds.set(c.settlementTxid, { id: c.id, peerId: c.peerId, kind: 'settlement' })
      if (c.refundTxid) kinds.set(c.refundTxid, { id: c.id, peerId: c.peerId, kind: 'refund' })
    }
    return txs.map((t) => {
      const channel = kinds.get(t.txid)
      return channel ? { ...t, channel } : t
    })
  }

  get(id: string): Channel & { payments: ChannelPayment[] } {
    const c = this.require(id)
    return { ...this.book.view(c), payments: this.book.repo.payments(id, CHANNEL_HISTORY_MAX).map(toPayment) }
  }

  counts(): { open: number; pending: number; total: number } {
    let open = 0
    let pending = 0
    for (const c of this.book.values()) {
      if (c.state === 'open') open++
      else if (c.state === 'proposed' || c.state === 'funding') pending++
    }
    return { open, pending, total: this.book.repo.count() }
  }

  /** Why the channel backup file is not current, for health; null while it is (or there is none). */
  backupProblem(): string | null {
    return this.backup?.problem()?.message ?? null
  }

  /** Writes the channel backup file to `path` (an export), whole or not at all. */
  exportBackup(path: string): { channels: number } {
    this.requireRunning()
    if (!this.backup) throw new ContractError('invalid_state', 'this engine keeps no channel backup file')
    return this.backup.exportTo(path)
  }

  /**
   * Restores what a channel backup file holds, sealed with this wallet's words. A channel
   * this database lacks comes back closing: nothing more is paid through it (the peer's
   * state may be ahead of the file); the payee settles its newest settlement at once and
   * the payer takes its refund at expiry unless the payee settles first. A payee channel
   * held here at an older settlement takes the file's (after checking the payer's
   * signature) and settles. Everything else is left as it is.
   */
  async restoreBackup(bytes: Uint8Array): Promise<ChannelRestoreResult> {
    this.requireRunning()
    const secret = this.components.wallet.channelBackupSecret()
    if (!secret) throw new ContractError('invalid_state', 'the wallet is not open')
    let content: ChannelBackupContent
    try {
      content = openChannelBackup(bytes, secret.key)
    } catch (err) {
      if (err instanceof ChannelBackupError) throw new ContractError('invalid_params', err.message, { reason: err.code })
      throw err
    }
    if (content.network !== this.opts.network || content.wallet !== secret.wallet) throw new ContractError('invalid_params', `this channel backup belongs to another wallet (${content.network})`, { reason: 'another-wallet' })
    const result = await this.applyBackup(content)
    this.log.info('channel backup restored', { ...result, channels: content.channels.length })
    void this.watch.check()
    return result
  }

  /**
   * At start: a channel backup file newer than the database (it was restored from an older
   * backup, or lost its last writes) gives back what the database lacks, with a warning.
   */
  private async reconcileWithBackup(): Promise<void> {
    const secret = this.components.wallet.channelBackupSecret()
    if (!this.backup || !secret) return
    const content = this.backup.readCurrent(secret.key)
    if (!content || content.network !== this.opts.network || content.wallet !== secret.wallet) return
    const behind = content.channels.filter(({ record }) => {
      const here = this.book.find(record.id)
      return !here || (record.role === 'payee' && here.role === 'payee' && isFunded(record) && isFunded(here) && record.seq > here.seq)
    })
    if (behind.length === 0) return
    this.log.warn('the database is behind the channel backup file (restored from an older backup, or it lost its last writes): what it lacks comes back from the file and closes out on chain', {
      channels: behind.map((c) => c.record.id), fileWrittenAt: new Date(content.writtenAt).toISOString(),
    })
    try {
      const result = await this.applyBackup(content)
      this.m.recovered.inc(result.restored + result.updated)
    } catch (err) {
      this.log.error('the channel backup file could not be applied at start; restore it with restoreChannelBackup', { err })
    }
  }

  private async applyBackup(content: ChannelBackupContent): Promise<ChannelRestoreResult> {
    for (const { record } of content.channels) {
      // The key index must give the key the channel names as ours: the file was sealed by these words, so anything else is damage.
      const ours = record.role === 'payer' ? record.payerPub : 'payeePub' in record ? record.payeePub : null
      if (ours !== this.keys.publicHex(record.keyIndex)) throw new ContractError('invalid_params', `channel ${record.id} in the backup does not hold this wallet's key`, { reason: 'invalid' })
    }
    this.components.wallet.adoptAddresses(content.channels.flatMap((c) => c.addresses))
    await this.book.reserveKeysBelow(content.nextKeyIndex)
    const result: ChannelRestoreResult = { restored: 0, updated: 0, unchanged: 0, writtenAt: content.writtenAt }
    for (const { record } of content.channels) {
      await this.mailbox.run(record.id, async () => {
        const here = this.book.find(record.id)
        if (!here) {
          this.verifyRestoredSettlement(record)
          await this.book.insert(restoredRecord(record))
          result.restored++
          return
        }
        if (record.role === 'payee' && isFunded(record) && here.role === 'payee' && isFunded(here) && record.seq > here.seq && (here.state === 'open' || (here.state === 'closing' && here.spend === null)) && record.funding.txid === here.funding.txid && record.funding.vout === here.funding.vout) {
          this.verifyRestoredSettlement(record)
          await this.book.put({ ...here, seq: record.seq, paidSats: record.paidSats, lastSig: record.lastSig, state: 'closing', spend: null } as PayeeClosing)
          result.updated++
          return
        }
        result.unchanged++
      })
    }
    this.updateGauge()
    return result
  }

  /** A payee's settlement from a backup is believed only with the payer's valid signature over it. */
  private verifyRestoredSettlement(c: ChannelRecord): void {
    if (c.role !== 'payee' || !isFunded(c) || c.seq === 0 || c.lastSig === null) return
    if (!this.tx.settlement(c).verify(c.paidSats, Buffer.from(c.lastSig, 'hex'), Buffer.from(c.payerPub, 'hex'), this.keys.backend)) {
      throw new ContractError('invalid_params', `channel ${c.id} in the backup holds a settlement the payer did not sign`, { reason: 'invalid' })
    }
  }

  /** What the channel backup file holds: every channel whose coins may be on chain, with the addresses it pays us at. */
  private backupSnapshot(): { content: ChannelBackupContent; key: Uint8Array } | null {
    const secret = this.components.wallet.channelBackupSecret()
    if (!secret) return null
    const channels: ChannelBackupContent['channels'] = []
    for (const c of this.book.values()) {
      const recoverable = isFunded(c) || (c.role === 'payer' && c.state === 'funding' && (c.step === 'refund-signed' || c.step === 'broadcast'))
      if (!recoverable) continue
      const own = c.role === 'payer' ? (c.state === 'funding' && c.role === 'payer' && 'built' in c ? c.built.payerAddress : (c as FundedChannel).payerAddress) : (c as FundedChannel).payeeAddress
      const path = own ? this.components.wallet.addressPath(own) : null
      channels.push({ record: c, addresses: path && own ? [{ address: own, ...path }] : [] })
    }
    return { content: { network: this.opts.network, wallet: secret.wallet, writtenAt: Date.now(), nextKeyIndex: this.book.nextKeyIndex, channels }, key: secret.key }
  }

  /** The payer's refund is in the channel backup file before its funding leaves; a file that cannot be written is already a warning and a health reason. */
  private async secureBackup(): Promise<void> {
    await this.backup?.flush().catch(() => {})
  }

  /** Problems that can cost money, for health. */
  problems(): ChannelProblemReport[] {
    return this.book.allProblems().map(([channelId, p]) => ({ channelId, code: p.code, message: p.message }))
  }

  // ---- local calls ----

  /**
   * With a key: a retry whose earlier attempt made a channel answers that channel as it is
   * now, unless the proposal failed or was refused (nothing was locked), which is made again.
   */
  async open(params: { peerId: string; capacitySats: number; expiry?: number; timeoutMs?: number }, scope: IdempotencyScope | null = null): Promise<Channel> {
    this.requireRunning()
    if (scope?.prior?.kind === 'channel') {
      const earlier = this.book.find(scope.prior.channelId)
      if (earlier && earlier.state !== 'failed' && earlier.state !== 'rejected') return this.book.view(earlier)
    }
    return this.book.view(await this.payer.open(params, scope))
  }

  /** With a key, accepting a proposal already accepted answers the channel instead of refusing. */
  async acceptProposal(id: string, scope: IdempotencyScope | null = null): Promise<void> {
    this.requireRunning()
    if (scope) {
      const c = this.book.find(id)
      if (c?.role === 'payee' && c.state !== 'proposed' && c.state !== 'rejected') return
    }
    await this.payee.accept(id).catch((err: unknown) => {
      throw asContractError(err)
    })
  }

  async rejectProposal(id: string, scope: IdempotencyScope | null = null): Promise<void> {
    this.requireRunning()
    if (scope && this.book.find(id)?.state === 'rejected') return
    await this.payee.reject(id).catch((err: unknown) => {
      throw asContractError(err)
    })
  }

  /** With a key, a retry whose payment was signed and sent waits for that one; it never signs another. */
  pay(params: { channelId: string; sats: number; memo?: string; timeoutMs?: number }, scope: IdempotencyScope | null = null): Promise<{ channelId: string; seq: number; paidSats: number }> {
    try {
      this.requireRunning()
    } catch (err) {
      return Promise.reject(err as Error)
    }
    if (scope?.prior?.kind === 'payment') return this.payer.followPayment(scope.prior, params.timeoutMs)
    const started = performance.now()
    // Not an async function: a suspended one here would cost every waiting payment another
    // frame (a few hundred bytes), where this costs one reaction.
    return this.payer.pay(params, scope).then((paid) => {
      this.m.paySeconds.observe((performance.now() - started) / 1000)
      return paid
    })
  }

  /** With a key, closing a channel already closing or closed answers it instead of refusing. */
  async close(id: string, scope: IdempotencyScope | null = null, timeoutMs?: number): Promise<Channel> {
    this.requireRunning()
    const c = this.require(id)
    if (scope && (c.state === 'closing' || c.state === 'closed')) return this.book.view(c)
    try {
      if (c.role === 'payee') await this.payee.settle(id)
      else await this.payer.close(id, timeoutMs)
    } catch (err) {
      throw asContractError(err)
    }
    return this.book.view(this.require(id))
  }

  /** One round of the chain watch (it also runs every chainPollMs). */
  checkChain(): Promise<void> {
    return this.watch.check()
  }

  // ---- requests from peers ----

  private async onRequest(peerId: string, req: ChannelRequest): Promise<Record<string, unknown>> {
    try {
      if (!this.running) throw new ChannelRefusal('unavailable', 'the channel engine is stopping')
      if (!this.components.wallet.ready) throw new ChannelRefusal('unavailable', 'the wallet is not open')
      switch (req.t) {
        case 'propose':
          return await this.payee.onPropose(peerId, req)
        case 'signRefund':
          return await this.payee.onSignRefund(peerId, req)
        case 'funded':
          return await this.payee.onFunded(peerId, req)
        case 'pay':
          return await this.payee.onPay(peerId, req)
        case 'sync':
          return await this.payee.onSync(peerId, req)
        case 'close':
          return await this.payee.onClose(peerId, req)
        case 'accept':
          return await this.payer.onAccept(peerId, req)
        case 'reject':
          return await this.payer.onReject(peerId, req)
      }
    } catch (err) {
      // Our disk refusing the write is no fault of the request: the peer hears `unavailable`
      // and sends it again later (health says why), rather than a refusal that stops its payments.
      if (isDiskFault(err)) {
        this.m.refused.inc({ frame: req.t, code: 'unavailable' })
        throw new ChannelRefusal('unavailable', 'this node cannot store anything right now (its disk refuses writes); try again later')
      }
      const code = wireCodeOf(err)
      if (code === null) this.log.error('a channel request failed unexpectedly', { err, frame: req.t, channelId: req.channelId, peerId })
      else this.log.debug('channel request refused', { frame: req.t, code, channelId: req.channelId, peerId, reason: (err as Error).message })
      this.m.refused.inc({ frame: req.t, code: code ?? 'internal' })
      throw code === null ? new ChannelRefusal('internal', 'internal error') : err
    }
  }

  // ---- helpers ----

  /** Connected, or reached within `timeoutMs`; else PeerUnreachableError (`unavailable`). */
  private reach(peerId: string, timeoutMs: number): Promise<void> {
    const watch = this.components.watch?.() ?? null
    return watch ? watch.probe(peerId, timeoutMs) : probePeer(this.components.node.libp2p, peerId, timeoutMs)
  }

  link(peerId: string): ChannelLink {
    let l = this.links.get(peerId)
    if (!l) {
      l = new ChannelLink(this.components.node.libp2p, peerId, this.opts.requestTimeoutMs)
      this.links.set(peerId, l)
    }
    return l
  }

  /** A channel that is over needs none of its caches (each is rebuilt on demand). */
  private forget(c: ChannelRecord): void {
    this.payer.forget(c.id)
    this.watch.forget(c.id)
    this.tx.forget(c.id)
    this.keys.forget(c.keyIndex)
    this.updateGauge()
  }

  private countPayment(role: 'payer' | 'payee', sats: number): void {
    this.m.payments.inc({ role })
    this.m.sats.inc({ role }, sats)
  }

  private updateGauge(): void {
    const counts = new Map<ChannelStatus, number>(CHANNEL_STATUSES.map((s) => [s, 0]))
    for (const [state, n] of this.book.repo.countByState()) counts.set(state, n)
    for (const [state, n] of counts) this.m.states.set({ state }, n)
  }

  private readonly problemListeners = new ListenerSet<[]>('channel-problems', (what, err) => this.log.error('a listener failed', { what, err }))

  /** Called when a channel problem appears or goes (health changes with it); returns the unsubscribe. */
  onProblems(listener: () => void): () => void {
    return this.problemListeners.add(listener)
  }

  private updateProblemGauge(): void {
    this.problemListeners.emit()
    const counts = new Map<ProblemCode, number>(PROBLEM_CODES.map((c) => [c, 0]))
    for (const [, p] of this.book.allProblems()) counts.set(p.code, (counts.get(p.code) ?? 0) + 1)
    for (const [code, n] of counts) this.m.problems.set({ code }, n)
  }

  private require(id: string): ChannelRecord {
    const c = this.book.find(id)
    if (!c) throw new ContractError('not_found', 'no such channel')
    return c
  }

  private requireRunning(): void {
    if (!this.running) throw new ContractError('unavailable', 'the channel engine is not running')
    if (!this.components.wallet.ready) throw new ContractError('invalid_state', 'the wallet is not open')
  }
}

/**
 * A channel from a backup as it comes back: closing out (the peer may be ahead of the
 * file, so nothing more moves through it), or still funding with nothing reserved (the
 * wallet's reservation was in the lost database).
 */
function restoredRecord(c: ChannelRecord): ChannelRecord {
  if (c.state === 'open') return { ...c, state: 'closing', spend: null } as PayerClosing | PayeeClosing
  if (c.role === 'payer' && c.state === 'funding' && c.step !== 'accepted') return { ...c, built: { ...c.built, reservationId: null } }
  return c
}
