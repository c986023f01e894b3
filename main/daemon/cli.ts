// Entry point of the headless daemon: its option table and what it starts; the scaffold
// (main/hosts) reads the command line, stops on a signal and picks the exit code. The
// polyfill must be the first import.
import '../polyfill.js'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ContractError } from '../../shared/contract/index.js'
import { CONFIG_ENVIRONMENT, ConfigError, ENGINE_FLAGS, busyPorts, describeBusyPort, loadConfig } from '../config/index.js'
import { EXIT_FAILED, EXIT_OK, EXIT_REFUSED, HostExit, type ArgsOf, type OptionTable, type RunningHost, runHost } from '../hosts/cli-host.js'
import { ListenError } from '../p2p/index.js'
import { DATABASE_FILE, DataDirInUseError, DatabaseDamagedError, RestoreRefusedError, checkDatabaseFile, restoreBackup } from '../store/index.js'
import { walletIdentity } from '../wallet/index.js'
import { PassphraseSourceError, WalletConfigError, WalletLockedError, WrongPassphraseError, loadPassphrase } from '../wallet/index.js'
import { Daemon } from './daemon.js'

// Everything this process writes (keys, database, logs) is its owner's alone, as bitcoind does.
process.umask(0o077)

const DAEMON_OPTIONS = {
  ...ENGINE_FLAGS,
  'passphrase-file': { type: 'string', value: 'F', help: 'file holding the wallet passphrase (else BSV_P2P_PASSPHRASE)' },
  'check-database': { type: 'boolean', help: "check the data dir's database (read-only; safe while it runs) and exit:\n0 sound, 1 damaged" },
  'restore-backup': { type: 'string', value: 'F', help: 'put backup F (from <data-dir>/backups) in place of the database and exit;\nrefused while the daemon runs or for another wallet\'s backup' },
  'accept-wallet': { type: 'string', value: 'ADDR', help: "with --restore-backup: the backup's wallet, when the database there is too\ndamaged to tell whose it is" },
  'restore-words-file': { type: 'string', value: 'F', help: "once started, replace the wallet with the recovery words in file F\n(its keys, then a resync from the chain); with a passphrase the\ndaemon's passphrase seals them" },
  'restore-channels': { type: 'string', value: 'F', help: 'once started (and after --restore-words-file), restore channel backup\nfile F: channels this wallet lacks come back and close out on chain' },
} as const satisfies OptionTable

type DaemonArgs = ArgsOf<typeof DAEMON_OPTIONS>

/** Refusals a person fixes by changing how they start the daemon: exit 2, never a restart loop. */
function isStartupRefusal(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof WalletConfigError || e instanceof PassphraseSourceError || e instanceof WalletLockedError || e instanceof WrongPassphraseError || e instanceof ListenError || e instanceof ConfigError || e instanceof DatabaseDamagedError || e instanceof DataDirInUseError) return true
  }
  return false
}

/** `--check-database`: read-only, so it is safe beside a running daemon; it never repairs anything. */
function checkDatabase(dataDir: string): number {
  if (!existsSync(join(dataDir, DATABASE_FILE))) throw new HostExit(EXIT_REFUSED, `no database in ${dataDir}`)
  const report = checkDatabaseFile(dataDir, 'full')
  process.stdout.write(`${JSON.stringify(report)}\n`)
  if (!report.ok) process.stderr.write(`bsv-p2p daemon: ${new DatabaseDamagedError(report.file, report.problems).message}\n`)
  return report.ok ? EXIT_OK : EXIT_FAILED
}

/** `--restore-backup F`: puts a backup in place of the database (the daemon not running) and exits. */
function restoreFromBackup(dataDir: string, from: string, acceptWallet: string | undefined): number {
  try {
    const result = restoreBackup(dataDir, from, { identify: walletIdentity, ...(acceptWallet === undefined ? {} : { acceptWallet }) })
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return EXIT_OK
  } catch (err) {
    if (err instanceof RestoreRefusedError) throw new HostExit(EXIT_REFUSED, `restore refused: ${err.message}`)
    throw err
  }
}

/** `--restore-words-file` and `--restore-channels`, once started: words first (they open the channel file), then the channels. */
async function restoreOnStart(daemon: Daemon, args: DaemonArgs): Promise<Record<string, unknown>> {
  const restored: Record<string, unknown> = {}
  try {
    if (args['restore-words-file'] !== undefined) restored.wallet = (await daemon.engine.handlers.restoreWallet({ mnemonic: readFileSync(args['restore-words-file'], 'utf8') })).address
    if (args['restore-channels'] !== undefined) restored.channels = await daemon.engine.handlers.restoreChannelBackup({ file: resolve(args['restore-channels']) })
  } catch (err) {
    const refused = err instanceof ContractError || (err as NodeJS.ErrnoException).code === 'ENOENT'
    if (!refused) daemon.logger.error('restore failed', { err })
    throw new HostExit(refused ? EXIT_REFUSED : EXIT_FAILED, `restore refused: ${(err as Error).message}`)
  }
  return restored
}

async function createDaemon(args: DaemonArgs): Promise<RunningHost | number> {
  const loaded = loadConfig(args)
  if (args['check-database']) return checkDatabase(loaded.config.dataDir)
  if (args['restore-backup'] !== undefined) return restoreFromBackup(loaded.config.dataDir, args['restore-backup'], args['accept-wallet'])
  const config = { ...loaded.config, logToConsole: true }
  // Before anything is written to the data dir: a start that cannot listen leaves nothing behind.
  const busy = await busyPorts(config)
  if (busy.length > 0) throw new HostExit(EXIT_REFUSED, `${busy.map(describeBusyPort).join('; ')}. Free it or choose another port.`)
  const walletPassphrase = loadPassphrase({ file: args['passphrase-file'], env: process.env })
  // A restart from the UI reads the configuration again, so settings saved since apply.
  const reload = () => ({ ...loadConfig(args).config, logToConsole: true })
  const daemon = new Daemon(config, { walletPassphrase }, loaded.source, reload)
  // Counted before the stop they cause, for a supervisor that scrapes /metrics to the end.
  const uncaught = daemon.metrics.counter({ name: 'uncaught_errors_total', help: 'Errors that reached the process top level', labelNames: ['kind'] })
  return {
    logger: daemon.logger,
    start: () => daemon.start(),
    stop: () => daemon.stop(),
    // The database is the one thing that must end cleanly when parts hang.
    lastResort: () => daemon.engine.store.stop(),
    onUncaught: (kind) => uncaught.inc({ kind }),
    ready: async () => {
      const restored = args['restore-words-file'] !== undefined || args['restore-channels'] !== undefined ? await restoreOnStart(daemon, args) : {}
      const info = daemon.info()
      daemon.logger.info('daemon ready', { ...info })
      process.stdout.write(`${JSON.stringify({ ready: true, ...info, ...(Object.keys(restored).length > 0 ? { restored } : {}) })}\n`)
    },
  }
}

void runHost({
  name: 'bsv-p2p daemon',
  usage: 'npm run daemon -- [options]',
  epilog: `${CONFIG_ENVIRONMENT}\nBSV_P2P_PASSPHRASE: the wallet passphrase, when no --passphrase-file is given.`,
  options: DAEMON_OPTIONS,
  isRefusal: isStartupRefusal,
  create: createDaemon,
})
