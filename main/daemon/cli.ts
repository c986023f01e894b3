// Entry point of the headless daemon. The polyfill must be the first import.
import '../polyfill.js'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ContractError } from '../../shared/contract/index.js'
import { ConfigError, DAEMON_USAGE, busyPorts, describeBusyPort, loadConfig } from '../config/index.js'
import { ListenError } from '../p2p/index.js'
import { DATABASE_FILE, DatabaseDamagedError, RestoreRefusedError, checkDatabaseFile, restoreBackup } from '../store/index.js'
import { walletIdentity } from '../wallet/index.js'
import { PassphraseSourceError, WalletConfigError, WalletLockedError, WrongPassphraseError, loadPassphrase } from '../wallet/index.js'
import { Daemon } from './daemon.js'

// Everything this process writes (keys, database, logs) is its owner's alone, as bitcoind does.
process.umask(0o077)

const STOP_DEADLINE_MS = 4500

/**
 * Exit code 2 means "fix how the daemon is started" (bad config, wrong passphrase): a
 * supervisor must not restart it in a loop (systemd: RestartPreventExitStatus=2).
 */
const EXIT_CONFIG = 2

function isStartupRefusal(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof WalletConfigError || e instanceof PassphraseSourceError || e instanceof WalletLockedError || e instanceof WrongPassphraseError || e instanceof ListenError || e instanceof ConfigError || e instanceof DatabaseDamagedError) return true
  }
  return false
}

async function main(): Promise<void> {
  let loaded
  try {
    loaded = loadConfig(process.argv.slice(2))
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bsv-p2p daemon: ${err.message}\n\n${DAEMON_USAGE}\n`)
      process.exit(EXIT_CONFIG)
    }
    throw err
  }
  if (loaded.cli.help) {
    process.stdout.write(`${DAEMON_USAGE}\n`)
    process.exit(0)
  }
  if (loaded.cli.checkDatabase) {
    // Read-only, so it is safe beside a running daemon; it never repairs anything.
    if (!existsSync(join(loaded.config.dataDir, DATABASE_FILE))) {
      process.stderr.write(`bsv-p2p daemon: no database in ${loaded.config.dataDir}\n`)
      process.exit(EXIT_CONFIG)
    }
    const report = checkDatabaseFile(loaded.config.dataDir, 'full')
    process.stdout.write(`${JSON.stringify(report)}\n`)
    if (!report.ok) process.stderr.write(`bsv-p2p daemon: ${new DatabaseDamagedError(report.file, report.problems).message}\n`)
    process.exit(report.ok ? 0 : 1)
  }
  const restoreFrom = loaded.cli.extra.restoreBackup
  if (restoreFrom !== undefined) {
    try {
      const acceptWallet = loaded.cli.extra.acceptWallet
      const result = restoreBackup(loaded.config.dataDir, restoreFrom, { identify: walletIdentity, ...(acceptWallet === undefined ? {} : { acceptWallet }) })
      process.stdout.write(`${JSON.stringify(result)}\n`)
      process.exit(0)
    } catch (err) {
      if (!(err instanceof RestoreRefusedError)) throw err
      process.stderr.write(`bsv-p2p daemon: restore refused: ${err.message}\n`)
      process.exit(EXIT_CONFIG)
    }
  }
  const config = { ...loaded.config, logToConsole: true }
  // Before anything is written to the data dir: a start that cannot listen leaves nothing behind.
  const busy = await busyPorts(config)
  if (busy.length > 0) {
    process.stderr.write(`bsv-p2p daemon: ${busy.map(describeBusyPort).join('; ')}. Free it or choose another port.\n`)
    process.exit(EXIT_CONFIG)
  }
  let daemon: Daemon
  try {
    const walletPassphrase = loadPassphrase({ file: loaded.cli.extra.passphraseFile, env: process.env })
    // A restart from the UI reads the configuration again, so settings saved since apply.
    const reload = () => ({ ...loadConfig(process.argv.slice(2)).config, logToConsole: true })
    daemon = new Daemon(config, { walletPassphrase }, loaded.source, reload)
  } catch (err) {
    // Refusals a person fixes by changing how they start the daemon: say so, exit 2.
    if (isStartupRefusal(err)) {
      process.stderr.write(`bsv-p2p daemon: ${(err as Error).message}\n`)
      process.exit(EXIT_CONFIG)
    }
    throw err
  }
  const log = daemon.logger

  // The daemon never exits by itself: an error nobody caught is logged and counted, and
  // health tells about it; systemd restarts nothing.
  const uncaught = daemon.metrics.counter({ name: 'uncaught_errors_total', help: 'Errors that reached the process top level', labelNames: ['kind'] })
  process.on('uncaughtException', (err) => {
    uncaught.inc({ kind: 'exception' })
    log.error('uncaught exception', { err, stack: err.stack })
  })
  process.on('unhandledRejection', (reason) => {
    uncaught.inc({ kind: 'rejection' })
    log.error('unhandled rejection', { err: reason })
  })

  let stopping: Promise<void> | null = null
  let starting: Promise<void> = Promise.resolve()
  const shutdown = (signal: string): void => {
    if (stopping) {
      log.warn('already stopping', { signal })
      return
    }
    log.info('stopping', { signal })
    const deadline = setTimeout(() => {
      // Parts that hang must not keep the process: close the database, the one thing that
      // must end cleanly, and go.
      log.error('stop deadline passed; closing the database and exiting', { deadlineMs: STOP_DEADLINE_MS })
      void daemon.engine.store.stop().finally(() => process.exit(0))
    }, STOP_DEADLINE_MS)
    // A signal during start waits for start to settle, then stops what started.
    stopping = starting
      .catch(() => {})
      .then(() => daemon.stop())
      .then(() => {
        clearTimeout(deadline)
        log.info('stopped')
        process.exit(0)
      })
      .catch((err: unknown) => {
        clearTimeout(deadline)
        log.error('stop failed', { err })
        process.exit(1)
      })
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))

  starting = daemon.start()
  try {
    await starting
  } catch (err) {
    log.error('daemon failed to start', { err })
    process.stderr.write(`bsv-p2p daemon: failed to start: ${(err as Error).message}\n`)
    process.exit(isStartupRefusal(err) ? EXIT_CONFIG : 1)
  }
  if (stopping) return
  const { restoreWordsFile, restoreChannels } = loaded.cli.extra
  const restored: Record<string, unknown> = {}
  if (restoreWordsFile !== undefined || restoreChannels !== undefined) {
    // A person recovering from a lost disk: words first (they open the channel file), then the channels.
    try {
      if (restoreWordsFile !== undefined) restored.wallet = (await daemon.engine.handlers.restoreWallet({ mnemonic: readFileSync(restoreWordsFile, 'utf8') })).address
      if (restoreChannels !== undefined) restored.channels = await daemon.engine.handlers.restoreChannelBackup({ file: resolve(restoreChannels) })
    } catch (err) {
      const why = err instanceof ContractError || (err as NodeJS.ErrnoException).code === 'ENOENT' ? (err as Error).message : null
      if (why === null) log.error('restore failed', { err })
      process.stderr.write(`bsv-p2p daemon: restore refused: ${why ?? (err as Error).message}\n`)
      await daemon.stop().catch((e: unknown) => log.error('stop failed', { err: e }))
      process.exit(why === null ? 1 : EXIT_CONFIG)
    }
  }
  const info = daemon.info()
  log.info('daemon ready', { ...info })
  process.stdout.write(`${JSON.stringify({ ready: true, ...info, ...(Object.keys(restored).length > 0 ? { restored } : {}) })}\n`)
}

void main()
