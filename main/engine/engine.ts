import { statSync } from 'node:fs'
import { basename, isAbsolute, join } from 'node:path'
import { type ApiHandlers, ContractError, type ExportedBackup, type Health, type MethodName } from '../../shared/contract/index.js'
import { type ChainClients, ChainMonitor, createChainClients } from '../chain/index.js'
import { CHANNEL_BACKUP_FILE, ChannelEngine, channelHandlers, channelMigrations } from '../channels/index.js'
import { type ConfigSource, type EngineConfig, SettingsEditor } from '../config/index.js'
import { ContactBook, contactHandlers, contactMigrations } from '../contacts/index.js'
import { IdempotencyLedger, type EngineHandlers, idempotencyMigrations, keyedHandlers } from '../idempotency/index.js'
import { EventBus, ListenerSet, type NamedStartable, type Startable, startAll, stopAll } from '../kit/index.js'
import { AnnouncementService, MessagingService, NodeProfile, P2PNode, messagingHandlers, messagingInitFromConfig, messagingMigrations, p2pInitFromConfig, peerHandlers, profileMigrations } from '../p2p/index.js'
import { BackupKeeper, DatabaseChecker, type Migration, SqliteWorkerJobs, Store } from '../store/index.js'
import { type Logger, Metrics, contractChecks, createLogger, emitterListenerCount, registerListenerGauge, targetListenerCount, unexpectedErrorReporter } from '../telemetry/index.js'
import { type Keystore, WalletService, walletFingerprint, walletHandlers, walletIdentity, walletInitFromConfig, walletMigrations } from '../wallet/index.js'
import { VERSION } from '../version.js'
import { assessHealth } from './health.js'
import { type EngineChange, HealthPublisher } from './health-publisher.js'

export interface EngineInit {
  config: EngineConfig
  /** A host may bring its own logger (the Electron app logs to its log folder). */
  logger?: Logger
  /** The daemon's wallet passphrase (from --passphrase-file or BSV_P2P_PASSPHRASE); never in config. */
  walletPassphrase?: string
  /** The app's keystore (the OS keychain through safeStorage). */
  walletKeystore?: Keystore
  /** Lower scrypt cost for tests; production uses the keystore's default. */
  walletScryptLogN?: number
  /** Where saved settings go, and what overrides them; default `<data-dir>/config.json`, nothing above it. */
  configSource?: ConfigSource
  /** The host's event bus, which outlives this engine when the host restarts it (EngineHost). */
  events?: EventBus
  /** better-sqlite3's build for this runtime (the app's, for Electron's ABI); default: the package's own, Node's. */
  nativeBinding?: string
}

class EngineStateError extends Error {
  override readonly name = 'EngineStateError'
}

type EngineState = 'stopped' | 'starting' | 'running' | 'stopping'

/** libp2p's node-level event types (an EventTarget cannot list its own), for the listener gauge. */
const LIBP2P_EVENT_TYPES = ['peer:discovery', 'peer:connect', 'peer:disconnect', 'peer:reconnect-failure', 'peer:identify', 'peer:update', 'self:peer:update', 'transport:listening', 'transport:close', 'connection:prune', 'connection:open', 'connection:close'] as const

/** Every part's migrations, in apply order. A new part appends its list here. */
const MIGRATIONS: readonly Migration[] = [...walletMigrations, ...messagingMigrations, ...channelMigrations, ...profileMigrations, ...idempotencyMigrations, ...contactMigrations]

/** Every method but `restartNode`: only a host that can build engines (EngineHost) restarts one. */
type EngineMethod = Exclude<MethodName, 'restartNode'>

/** The contract as one engine implements it; the host adds `restartNode` to make it whole. */
export type EngineApi = Pick<ApiHandlers, EngineMethod>

/**
 * The composition root: builds every part once, starts them in dependency order and stops
 * them in reverse. The contract's implementation (`handlers`) is the only thing hosts
 * (daemon, Electron) call; events reach them through `events`.
 */
export class Engine implements Startable {
  readonly config: EngineConfig
  readonly logger: Logger
  readonly metrics = new Metrics()
  private readonly storeFaults = this.metrics.counter({ name: 'store_write_faults_total', help: 'Spells of database writes refused by the disk (full, read-only, failing), by SQLite code', labelNames: ['code'] })
  private readonly storeFaultGauge = this.metrics.gauge({ name: 'store_write_fault', help: '1 while the disk refuses database writes (nothing is acknowledged), else 0' })
  readonly events: EventBus
  readonly store: Store
  readonly p2p: P2PNode
  readonly chain: ChainClients
  readonly chainMonitor: ChainMonitor
  readonly wallet: WalletService
  readonly channels: ChannelEngine
  readonly messaging: MessagingService
  readonly backups: BackupKeeper
  private readonly checker: DatabaseChecker
  readonly discovery: AnnouncementService
  readonly profile: NodeProfile
  readonly contacts: ContactBook
  readonly settings: SettingsEditor
  readonly idempotency: IdempotencyLedger
  readonly handlers: EngineApi

  private readonly publisher: HealthPublisher
  private readonly parts: NamedStartable[]
  /** A change listener that throws is reported as the bus's own listeners are (logged with its stack, counted). */
  private readonly changeListeners = new ListenerSet<[EngineChange]>('engine-change', (what, err) => this.events.listenerFailed(what, err))
  private state: EngineState = 'stopped'
  /** The export being written, if one is (one at a time: each copies the whole database). */
  private exporting: { dir: string; done: Promise<ExportedBackup> } | null = null
  private startedAt = 0

  constructor(init: EngineInit) {
    this.config = init.config
    this.events = init.events ?? new EventBus({ checkPayloads: contractChecks() })
    this.logger =
      init.logger ??
      createLogger({
        logDir: join(init.config.dataDir, 'logs'),
        level: init.config.logLevel,
        console: init.config.logToConsole,
      })
    const listenerErrors = this.metrics.counter({ name: 'event_listener_errors_total', help: 'Event listeners that threw (the others still heard the event; logged with stack and cause)' })
    this.events.reportListenerErrors(unexpectedErrorReporter(this.logger, listenerErrors, 'event-bus'))
    const components = { logger: this.logger, metrics: this.metrics }

    this.store = new Store({ dataDir: init.config.dataDir, migrations: MIGRATIONS, nativeBinding: init.nativeBinding, cacheMiB: init.config.database.cacheMiB, onListenerError: (what, err) => this.events.listenerFailed(what, err) })
    this.idempotency = new IdempotencyLedger({ store: this.store, logger: this.logger.child('idempotency'), metrics: this.metrics })
    const bk = init.config.backups
    const jobs = new SqliteWorkerJobs({ logger: this.logger.child('backups') })
    this.backups = new BackupKeeper(
      { store: this.store, logger: this.logger.child('backups'), metrics: this.metrics, jobs },
      { dir: join(init.config.dataDir, 'backups'), extraDir: bk.extraDir, everyMs: bk.everyMs, keep: bk.keep, onStop: bk.onStop, stopBudgetMs: bk.stopBudgetMs, identify: walletIdentity },
    )
    this.checker = new DatabaseChecker({ store: this.store, logger: this.logger.child('backups'), metrics: this.metrics, jobs }, { dataDir: init.config.dataDir })
    this.p2p = new P2PNode({ ...components, logger: this.logger.child('p2p') }, p2pInitFromConfig(init.config))
    this.messaging = new MessagingService(
      { node: this.p2p, store: this.store, logger: this.logger.child('messaging'), metrics: this.metrics, events: this.events, watch: () => (this.p2p.isRunning ? this.p2p.watch : null) },
      messagingInitFromConfig(init.config),
    )
    this.discovery = new AnnouncementService(
      { node: this.p2p, logger: this.logger.child('discovery'), metrics: this.metrics },
      {
        onAnnouncement: (peer) => {
          this.p2p.directory.upsert(peer)
          // A peer that announces itself is alive: whatever waits for it tries now.
          if (this.p2p.isRunning) this.p2p.watch.nudge(peer.peerId)
        },
      },
    )
    this.contacts = new ContactBook({ store: this.store, events: this.events, logger: this.logger.child('contacts') })
    this.profile = new NodeProfile({ store: this.store, announcer: this.discovery, events: this.events, logger: this.logger.child('profile') })
    const chainConfig = init.config.chain
    this.chain = createChainClients({
      network: init.config.network,
      chainUrl: init.config.chainUrl,
      http: { timeoutMs: chainConfig.timeoutMs, retries: chainConfig.retries },
      arcApiKey: chainConfig.arcApiKey,
      wocApiKey: chainConfig.wocApiKey,
    })
    this.chainMonitor = new ChainMonitor({ lookup: this.chain.lookup, logger: this.logger.child('chain'), onListenerError: (err) => this.events.listenerFailed('chain', err) }, { network: init.config.network, intervalMs: chainConfig.pollIntervalMs })
    this.wallet = new WalletService(
      { store: this.store, logger: this.logger.child('wallet'), metrics: this.metrics, events: this.events, chain: { ...this.chain, monitor: this.chainMonitor } },
      { ...walletInitFromConfig(init.config), passphrase: init.walletPassphrase, keystore: init.walletKeystore, scryptLogN: init.walletScryptLogN },
    )
    const ch = init.config.channels
    this.channels = new ChannelEngine(
      {
        store: this.store,
        logger: this.logger.child('channels'),
        metrics: this.metrics,
        events: this.events,
        node: this.p2p,
        watch: () => (this.p2p.isRunning ? this.p2p.watch : null),
        wallet: this.wallet,
        chain: this.chain,
      },
      {
        network: init.config.network,
        policy: { autoAcceptMaxSats: ch.autoAcceptMaxSats },
        ...(ch.minFundingConfirmations === undefined ? {} : { minFundingConfirmations: ch.minFundingConfirmations }),
        ...(ch.zeroConfMaxSats === undefined ? {} : { zeroConfMaxSats: ch.zeroConfMaxSats }),
        maxPendingProposalsPerPeer: ch.maxPendingProposalsPerPeer,
        maxPendingProposals: ch.maxPendingProposals,
        proposalTimeoutMs: ch.proposalTimeoutMs,
        defaultExpiryBlocks: ch.expiryBlocks,
        closeMarginBlocks: ch.closeMarginBlocks,
        feeRateSatsPerKb: ch.feeRateSatsPerKb,
        window: ch.window,
        chainPollMs: ch.chainPollMs,
        reachTimeoutMs: ch.reachTimeoutMs,
        backup: {
          paths: [join(init.config.dataDir, 'backups', CHANNEL_BACKUP_FILE), ...(bk.extraDir ? [join(bk.extraDir, CHANNEL_BACKUP_FILE)] : [])],
          settlementEveryMs: ch.backupEveryMs,
        },
      },
    )
    this.settings = new SettingsEditor({ logger: this.logger, events: this.events }, init.config, init.configSource ?? { file: join(init.config.dataDir, 'config.json'), overrides: {} })
    this.publisher = new HealthPublisher(
      {
        events: this.events,
        health: () => this.health(),
        peers: () => this.p2p.listPeers(),
        subscribe: (listener) => this.subscribe(listener),
      },
      { intervalMs: init.config.health.intervalMs },
    )

    registerListenerGauge(this.metrics, {
      bus: () => this.events.listenerCount,
      engine: () => this.changeListeners.size,
      libp2p: () => (this.p2p.isRunning ? targetListenerCount(this.p2p.libp2p, LIBP2P_EVENT_TYPES) : 0),
      process: () => emitterListenerCount(process),
    })

    this.parts = [
      { name: 'store', part: this.store },
      // Right after the store: it stops just before it, so the stop's backup holds everything.
      { name: 'backups', part: this.backups },
      { name: 'idempotency', part: this.idempotency },
      { name: 'contacts', part: this.contacts },
      { name: 'p2p', part: this.p2p },
      { name: 'p2p-changes', part: this.forward(() => this.p2p.subscribe((change) => this.notify(change))) },
      { name: 'messaging', part: this.messaging },
      // Before discovery: its first announcement carries the stored profile.
      { name: 'profile', part: this.profile },
      { name: 'discovery', part: this.discovery },
      // The wallet syncs on the monitor's changes and reads its health: the monitor first.
      { name: 'chain-monitor', part: this.chainMonitor },
      { name: 'wallet', part: this.wallet },
      { name: 'channels', part: this.channels },
      { name: 'channel-changes', part: this.forward(() => this.channels.onProblems(() => this.notify('channels'))) },
      { name: 'chain-changes', part: this.forward(() => this.chainMonitor.onChange(() => this.notify('chain'))) },
      { name: 'store-faults', part: this.forward(() => this.store.onWriteFault((fault) => this.onStoreFault(fault))) },
      { name: 'health-publisher', part: this.publisher },
    ]

    const handlers: Pick<EngineHandlers, EngineMethod> = {
      getHealth: async () => this.health(),
      backupDatabase: async () =>
        this.backups.backupNow('request').catch((err: unknown) => {
          // Logged (with its stack) and counted by the keeper; the caller gets why, in words.
          throw new ContractError('unavailable', `the backup failed: ${(err as Error).message}`)
        }),
      checkDatabase: async () => {
        if (this.state !== 'running') throw new ContractError('unavailable', 'the engine is not running')
        return this.checker.check()
      },
      exportBackup: async ({ dir }) => this.exportOnce(dir),
      ...peerHandlers(this.p2p),
      getSettings: async () => this.settings.get(),
      updateSettings: async (update) => this.settings.update(update),
      getProfile: async () => this.profile.get(),
      updateProfile: async (profile) => this.profile.update(profile),
      ...walletHandlers(this.wallet),
      ...messagingHandlers(this.messaging),
      ...channelHandlers(this.channels),
      ...contactHandlers(this.contacts),
      // Channel transactions name their channel and peer (the wallet alone knows neither).
      listTransactions: async ({ limit, before }) => this.channels.describeTransactions(this.wallet.listTransactions({ limit, before })),
    }
    // A restore's phrase and passphrase are never stored, not even hashed: the wallet it
    // makes (its first address) and whether it is encrypted make two restores "the same".
    this.handlers = keyedHandlers(this.idempotency, handlers, {
      restoreWallet: ({ mnemonic, passphrase }) => ({ wallet: walletFingerprint(mnemonic, init.config.network), encrypted: passphrase !== undefined }),
    })
  }

  get running(): boolean {
    return this.state === 'running'
  }

  async start(): Promise<void> {
    if (this.state !== 'stopped') throw new EngineStateError(`cannot start while ${this.state}`)
    this.state = 'starting'
    try {
      await startAll(this.parts)
    } catch (err) {
      this.state = 'stopped'
      this.logger.error('engine failed to start', { err })
      throw err
    }
    this.startedAt = Date.now()
    this.state = 'running'
    if (this.store.lockProblem) {
      this.logger.warn('started without the data dir lock (the disk refused it): a second engine on this data dir would not be refused', { err: this.store.lockProblem })
    }
    if (this.store.lockNoteProblem) {
      this.logger.info('the data dir lock holds, but the note naming this process could not be written: a refused second engine will not name it', { err: this.store.lockNoteProblem })
    }
    this.logger.info('engine started', { peerId: this.p2p.peerId, version: VERSION, dataDir: this.config.dataDir })
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return
    if (this.state !== 'running') throw new EngineStateError(`cannot stop while ${this.state}`)
    this.state = 'stopping'
    try {
      await stopAll(this.parts)
    } finally {
      this.state = 'stopped'
      this.logger.info('engine stopped')
    }
  }

  health(): Health {
    const running = this.state === 'running'
    const relay = running ? this.p2p.relayHealth() : { state: 'disabled' as const, relays: [] }
    const chain = running ? this.chainMonitor.health() : undefined
    const channelProblems = running ? this.channels.problems() : []
    const listeners = running ? { bound: this.p2p.listening().length, missing: this.p2p.missingListeners() } : undefined
    const messagingProblems = running ? this.messaging.problems() : []
    const backupProblem = running ? [this.checker.problem(), this.backups.problem(), this.channels.backupProblem()].filter((p) => p !== null).join('; ') || null : null
    const storeFault = running ? this.store.writeFault : null
    const { status, reasons } = assessHealth({ running, relay, chain, channelProblems, messagingProblems, storeFault, backupProblem, ...(listeners ? { listeners } : {}) })
    const memory = process.memoryUsage()
    return {
      status,
      reasons,
      version: VERSION,
      peerId: running ? this.p2p.peerId : '',
      uptimeSeconds: running ? Math.round((Date.now() - this.startedAt) / 1000) : 0,
      relay,
      connections: running ? this.p2p.connectionCount() : 0,
      peers: this.p2p.directory.size,
      multiaddrs: running ? this.p2p.multiaddrs() : [],
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
      ...(chain ? { chain } : {}),
      ...(running ? { channels: this.channels.counts() } : {}),
    }
  }

  /**
   * One export at a time: a call for the folder being written shares that export (a caller
   * retrying after a lost answer, a double click); one for another folder is answered
   * `unavailable` until it ends, so a burst of calls cannot start a copy of the whole
   * database each.
   */
  private exportOnce(dir: string): Promise<ExportedBackup> {
    if (this.exporting) {
      if (this.exporting.dir === dir) return this.exporting.done
      throw new ContractError('unavailable', `an export to ${this.exporting.dir} is being written; export again when it ends`, { reason: 'export-running', dir: this.exporting.dir })
    }
    const done = this.exportBackup(dir).finally(() => {
      this.exporting = null
    })
    this.exporting = { dir, done }
    return done
  }

  /**
   * A fresh database backup and the channel backup file, written into `dir` (another disk):
   * each whole or not at all, so an export cut short leaves nothing that looks like a backup.
   */
  private async exportBackup(dir: string): Promise<ExportedBackup> {
    if (this.state !== 'running') throw new ContractError('unavailable', 'the engine is not running')
    if (!isAbsolute(dir)) throw new ContractError('invalid_params', 'give the folder as an absolute path', { field: 'dir' })
    let isDir = false
    try {
      isDir = statSync(dir).isDirectory()
    } catch {
      // Answered below as "no such folder".
    }
    if (!isDir) throw new ContractError('invalid_params', `no folder at ${dir}`, { field: 'dir' })
    const db = await this.backups.backupNow('request').catch((err: unknown) => {
      throw new ContractError('unavailable', `the backup failed: ${(err as Error).message}`)
    })
    const database = { ...db, file: join(dir, basename(db.file)) }
    const channelsFile = join(dir, CHANNEL_BACKUP_FILE)
    try {
      await this.backups.copyOut(db.file, database.file)
      const { channels } = this.channels.exportBackup(channelsFile)
      this.logger.info('backup exported', { dir, database: database.file, channels })
      return { dir, database, channelsFile, channels }
    } catch (err) {
      if (err instanceof ContractError) throw err
      this.logger.warn('a backup export failed', { err, dir })
      throw new ContractError('unavailable', `the export to ${dir} failed: ${(err as Error).message}`)
    }
  }

  /** How the user knows a peer: their own name for it, else the name it announces; undefined when neither. */
  peerName(peerId: string): string | undefined {
    return this.contacts.nameOf(peerId) ?? this.p2p.directory.get(peerId)?.name
  }

  /** Changes of any part, for the health publisher and hosts. */
  subscribe(listener: (change: EngineChange) => void): () => void {
    return this.changeListeners.add(listener)
  }

  /** Writes refused for the disk: money is at stake (nothing can be acknowledged), so a warning, a metric and health `down`; and their end. */
  private onStoreFault(fault: { code: string; message: string } | null): void {
    this.storeFaultGauge.set(fault ? 1 : 0)
    if (fault) {
      this.storeFaults.inc({ code: fault.code })
      this.logger.warn('the disk refuses writes to the database: payments and messages are refused until it takes them again', { code: fault.code, message: fault.message })
    } else this.logger.info('the disk takes writes again: payments and messages resume')
    this.notify('store')
  }

  private notify(change: EngineChange): void {
    this.changeListeners.emit(change)
  }

  /** A part whose whole life is one subscription, made on start and undone on stop. */
  private forward(subscribe: () => () => void): Startable {
    let unsubscribe: (() => void) | null = null
    return {
      start: async () => {
        unsubscribe = subscribe()
      },
      stop: async () => {
        unsubscribe?.()
        unsubscribe = null
      },
    }
  }
}
