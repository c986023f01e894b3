import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Counter, Gauge } from 'prom-client'
import type { Startable } from '../kit/index.js'
import { writeFileAtomically } from '../store/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { type ChannelBackupContent, MAX_CHANNEL_BACKUP_BYTES, openChannelBackup, sealChannelBackup } from './channel-backup-file.js'

export const CHANNEL_BACKUP_FILE = 'channels.bsvchan'

export interface ChannelBackupKeeperInit {
  /** Every place the file is kept (the data dir's backups folder first, then a second disk if set), each replaced whole. */
  paths: readonly string[]
  /** A payee's newest settlement reaches the file at most this long after it was acknowledged (ms). */
  settlementEveryMs?: number
}

export interface ChannelBackupKeeperComponents {
  logger: Logger
  metrics: Metrics
  /** What the file must hold now and the key that seals it; null while the wallet is not open (nothing is written). */
  snapshot(): { content: ChannelBackupContent; key: Uint8Array } | null
}

/**
 * Keeps the channel backup file (channel-backup-file.ts) as current as recovery needs:
 * a change of state (open, refund stored, close) is written before the next turn of the
 * event loop (and a payer's refund before its funding leaves: `flush`); a payee's newest
 * settlement within `settlementEveryMs`; and once more on stop. A write that fails is a
 * warning, a metric and a health reason until one succeeds.
 */
export class ChannelBackupKeeper implements Startable {
  private readonly settlementEveryMs: number
  private dirty = false
  private immediate: NodeJS.Immediate | null = null
  private timer: NodeJS.Timeout | null = null
  private running = false
  private failure: { message: string; since: number } | null = null
  private readonly m: { writes: Counter<'result'>; last: Gauge }
  /** Paths already holding a file of the current key (checked once, then ours to replace). */
  private readonly owned = new Map<string, Uint8Array>()

  constructor(
    private readonly components: ChannelBackupKeeperComponents,
    private readonly init: ChannelBackupKeeperInit,
  ) {
    this.settlementEveryMs = init.settlementEveryMs ?? 2_000
    this.m = {
      writes: components.metrics.counter({ name: 'channel_backup_writes_total', help: 'Channel backup files written, by result', labelNames: ['result'] }),
      last: components.metrics.gauge({ name: 'channel_backup_last_success_timestamp_seconds', help: 'When the channel backup file was last written whole (unix seconds; 0: not since start)' }),
    }
  }

  async start(): Promise<void> {
    this.running = true
    // Whatever changed while stopped (a restore, an upgrade) is in the first file.
    this.changed(true)
  }

  async stop(): Promise<void> {
    this.running = false
    this.cancel()
    if (this.dirty) this.write()
  }

  /** Something recovery depends on changed: `urgent` for a change of state, else a settlement (batched). */
  changed(urgent: boolean): void {
    this.dirty = true
    if (!this.running) return
    if (urgent) {
      this.immediate ??= setImmediate(() => {
        this.immediate = null
        this.write()
      })
    } else if (!this.timer && !this.immediate) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.write()
      }, this.settlementEveryMs)
      this.timer.unref?.()
    }
  }

  /** Writes now what is pending; resolves once it is on disk (rejects if the first place refused it). */
  async flush(): Promise<void> {
    this.dirty = true
    this.cancel()
    const ok = this.write()
    if (!ok) throw new Error(`the channel backup could not be written: ${this.failure?.message ?? 'unknown'}`)
  }

  /** Writes the current file to `path` too (an export), whole or not at all; resolves the number of channels in it. */
  exportTo(path: string): { channels: number } {
    const snap = this.components.snapshot()
    if (!snap) throw new Error('no wallet is open')
    this.owned.delete(path)
    if (this.ownership(path, snap.key) === 'other') this.moveAside(path)
    writeFileAtomically(path, sealChannelBackup(snap.content, snap.key))
    return { channels: snap.content.channels.length }
  }

  /**
   * The newest file of the current wallet that opens, from any of the places (before the
   * first write replaces it): what the database must not be behind. Null when none does.
   */
  readCurrent(key: Uint8Array): ChannelBackupContent | null {
    let best: ChannelBackupContent | null = null
    for (const path of this.init.paths) {
      try {
        if (!existsSync(path) || statSync(path).size > MAX_CHANNEL_BACKUP_BYTES) continue
        const content = openChannelBackup(readFileSync(path), key)
        if (!best || content.writtenAt > best.writtenAt) best = content
      } catch (err) {
        this.components.logger.debug('a channel backup file does not open with this wallet', { path, err })
      }
    }
    return best
  }

  /** Whose file is at `path`: none, this wallet's, or another's (or damaged). Checked once per path and key. */
  private ownership(path: string, key: Uint8Array): 'absent' | 'ours' | 'other' {
    const known = this.owned.get(path)
    if (known && Buffer.from(known).equals(Buffer.from(key))) return 'ours'
    if (!existsSync(path)) return 'absent'
    try {
      if (statSync(path).size <= MAX_CHANNEL_BACKUP_BYTES) {
        openChannelBackup(readFileSync(path), key)
        this.owned.set(path, key)
        return 'ours'
      }
    } catch {
      // Another wallet's, or damaged.
    }
    return 'other'
  }

  /**
   * A file this wallet's key does not open (another wallet's, say the one a person is about
   * to restore from, or a damaged one) is never replaced: it is moved aside, kept, and named.
   */
  private moveAside(path: string): void {
    const aside = `${path}.${new Date().toISOString().replace(/[:.]/g, '')}.other`
    renameSync(path, aside)
    this.components.logger.warn('a channel backup file this wallet cannot open (another wallet’s, or damaged) was in the way; it is kept under another name', { path, keptAs: aside })
  }

  /** Why the file is not current, for health; null while it is. */
  problem(): { message: string; since: number } | null {
    return this.failure
  }

  private cancel(): void {
    if (this.immediate) clearImmediate(this.immediate)
    if (this.timer) clearTimeout(this.timer)
    this.immediate = null
    this.timer = null
  }

  /** True when the first place holds the current file. */
  private write(): boolean {
    if (!this.dirty) return true
    const snap = this.components.snapshot()
    if (!snap) return true
    this.dirty = false
    const bytes = sealChannelBackup(snap.content, snap.key)
    let firstOk = true
    const failed: string[] = []
    // A disk that stays full fails every retry: warned once when the spell starts.
    const spellStarts = this.failure === null
    for (const [i, path] of this.init.paths.entries()) {
      try {
        const owner = this.ownership(path, snap.key)
        // With no channel to keep, another wallet's file (perhaps the one about to be restored) is left where it is.
        if (owner !== 'ours' && snap.content.channels.length === 0) continue
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
        if (owner === 'other') this.moveAside(path)
        writeFileAtomically(path, bytes)
        this.owned.set(path, snap.key)
      } catch (err) {
        if (i === 0) firstOk = false
        failed.push(`${path}: ${(err as Error).message}`)
        this.components.logger[spellStarts ? 'warn' : 'debug']('the channel backup file could not be written; channel money written since the last good file is not in it', { err, path, channels: snap.content.channels.length })
      }
    }
    if (failed.length > 0) {
      this.m.writes.inc({ result: 'failed' })
      this.failure = { message: `the channel backup could not be written (${failed.join('; ')})`, since: this.failure?.since ?? Date.now() }
      // Tried again with the next settlement or change, and at the latest after the interval.
      this.dirty = true
      if (this.running && !this.timer) {
        this.timer = setTimeout(() => {
          this.timer = null
          this.write()
        }, Math.max(this.settlementEveryMs, 5_000))
        this.timer.unref?.()
      }
      return firstOk
    }
    if (this.failure) this.components.logger.info('the channel backup file is written again')
    this.failure = null
    this.m.writes.inc({ result: 'ok' })
    this.m.last.set(Math.floor(Date.now() / 1000))
    return true
  }
}
